#include "ingest/formats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data_file_test.h"

namespace cartable::ingest {
namespace {

using ::testing::AllOf;
using testing::Answer;
using testing::Answers;
using ::testing::HasSubstr;

// Each adapter's tests check that LoadData reaches it; these check the dispatch itself.
class FormatsTest : public testing::TempDirTest {};

TEST_F(FormatsTest, AnUnknownFormatListsTheKnownOnes) {
  auto unknown = LoadData("parquet:x");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(),
              AllOf(HasSubstr("parquet"), HasSubstr("csv"), HasSubstr("kt3"), HasSubstr("oulad"),
                    HasSubstr("pykt"), HasSubstr("xapi")));
}

TEST_F(FormatsTest, LoadDataDispatchesOnTheFormat) {
  const std::filesystem::path path =
      Write("answers.csv", "pupil_id,skill_id,correct\na,1,1\nb,0,0\n");
  auto log = LoadData("csv:" + path.string());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->pupil_keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Answers(*log), (std::vector<Answer>{{0, 1, 1, 0}, {1, 0, 0, 0}}));

  auto unknown = LoadData("nope:x");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("nope"));

  auto no_format = LoadData("noformat");
  ASSERT_FALSE(no_format.ok());
  EXPECT_EQ(no_format.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(no_format.status().message(), HasSubstr("noformat"));

  auto missing = LoadData("csv:" + (dir_ / "absent.csv").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace cartable::ingest
