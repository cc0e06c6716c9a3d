#include "ingest/csv_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "data_file_test.h"

using ::cartable::StatusCode;
using ::cartable::ingest::LoadLongCsv;
using ::cartable::ingest::Pseudonymizer;
using ::cartable::models::Interaction;
using ::cartable::models::InteractionLog;
using ::testing::AllOf;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

namespace {

struct Answer {
  uint32_t pupil, skill, correct;
  bool operator==(const Answer&) const = default;
};

std::vector<Answer> Answers(const InteractionLog& log) {
  std::vector<Answer> out;
  for (const Interaction& x : log.interactions) out.push_back({x.pupil, x.skill, x.correct});
  return out;
}

class CsvSourceTest : public ::cartable::ingest::testing::DataFileTest {
 protected:
  // Loads `contents` and expects an InvalidArgument naming the file, the line and each of `parts`.
  void ExpectError(const std::string& contents, const std::string& line,
                   const std::vector<std::string>& parts) {
    DataFileTest::ExpectError(load_, contents, line, parts);
  }

  const ::cartable::ingest::testing::Loader load_ = [](const auto& path, const Pseudonymizer* p) {
    return LoadLongCsv(path, p);
  };
};

TEST_F(CsvSourceTest, LoadsColumnsInAnyOrderAndSortsByTimestampWithinPupil) {
  const fs::path path = Write("answers.csv",
                              "correct,skill_id,timestamp,pupil_id,item_id\n"
                              "1,3,20,bob,i1\n"
                              "0,1,5,alice,i2\n"
                              "0,2,10,bob,i3\n"
                              "1,0,2.5,alice,i4\n"
                              "1,1,15,bob,i5\n");
  auto log = LoadLongCsv(path);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->pupil_keys,
            (std::vector<std::string>{"bob", "alice"}));  // order of first appearance
  EXPECT_EQ(log->num_skills, 4u);
  EXPECT_EQ(Answers(*log), (std::vector<Answer>{{0, 2, 0},
                                                {0, 1, 1},
                                                {0, 3, 1},  // bob: t 10, 15, 20
                                                {1, 0, 1},
                                                {1, 1, 0}}));  // alice: t 2.5, 5
}

TEST_F(CsvSourceTest, KeepsFileOrderWithoutTimestamp) {
  const fs::path path = Write("answers.csv",
                              "pupil_id,skill_id,correct\n"
                              "p2,4,1\n"
                              "p1,0,0\n"
                              "p2,1,0\n"
                              "\n"
                              "p1,2,1\n"
                              "p3,0,1\n");
  auto log = LoadLongCsv(path);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->pupil_keys, (std::vector<std::string>{"p2", "p1", "p3"}));
  EXPECT_EQ(log->num_skills, 5u);
  EXPECT_EQ(Answers(*log),
            (std::vector<Answer>{{0, 4, 1}, {0, 1, 0}, {1, 0, 0}, {1, 2, 1}, {2, 0, 1}}));
}

TEST_F(CsvSourceTest, EqualTimestampsKeepFileOrder) {
  const fs::path path = Write("answers.csv",
                              "pupil_id,timestamp,skill_id,correct\n"
                              "a,7,3,1\n"
                              "a,7,1,0\n"
                              "a,1,2,1\n"
                              "a,7,0,0\n");
  auto log = LoadLongCsv(path);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(Answers(*log), (std::vector<Answer>{{0, 2, 1}, {0, 3, 1}, {0, 1, 0}, {0, 0, 0}}));
}

TEST_F(CsvSourceTest, AcceptsCrlfLineEndings) {
  const fs::path path = Write("answers.csv",
                              "pupil_id,timestamp,skill_id,item_id,correct\r\n"
                              "x,2,1,q1,1\r\n"
                              "x,1,0,q2,0\r\n"
                              "y,3,2,q3,1\r\n");
  auto log = LoadLongCsv(path);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->pupil_keys, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(log->num_skills, 3u);
  EXPECT_EQ(Answers(*log), (std::vector<Answer>{{0, 0, 0}, {0, 1, 1}, {1, 2, 1}}));
}

TEST_F(CsvSourceTest, ANonIntegerSkillNamesFileLineAndField) {
  ExpectError("pupil_id,skill_id,correct\na,1,1\nb,x7,0\n", "3", {"skill_id", "x7"});
  ExpectError("pupil_id,skill_id,correct\na,1.5,1\n", "2", {"skill_id"});
  ExpectError("pupil_id,skill_id,correct\na,-1,1\n", "2", {"skill_id"});
}

TEST_F(CsvSourceTest, ACorrectOfTwoNamesFileLineAndField) {
  ExpectError("pupil_id,skill_id,correct\na,1,1\na,2,0\nb,0,2\n", "4", {"correct", "'2'"});
}

TEST_F(CsvSourceTest, LineNumbersCountBlankLines) {
  ExpectError("pupil_id,skill_id,correct\na,1,1\n\nb,0,yes\n", "4", {"correct"});
}

TEST_F(CsvSourceTest, AWrongFieldCountNamesFileAndLine) {
  ExpectError("pupil_id,skill_id,correct\na,1,1\na,2\n", "3", {"2 fields", "3"});
  ExpectError("pupil_id,skill_id,correct\na,1,1,9\n", "2", {"4 fields"});
}

TEST_F(CsvSourceTest, ABadTimestampNamesTheField) {
  ExpectError("pupil_id,timestamp,skill_id,correct\na,1,1,1\na,noon,2,0\n", "3",
              {"timestamp", "noon"});
}

TEST_F(CsvSourceTest, AnUnknownColumnNamesFileLineAndColumn) {
  ExpectError("pupil_id,skill_id,correct,mood\na,1,1,happy\n", "1", {"mood"});
}

TEST_F(CsvSourceTest, AMissingRequiredColumnIsAnError) {
  ExpectError("pupil_id,skill_id,timestamp\na,1,3\n", "1", {"correct"});
  ExpectError("skill_id,correct\n1,1\n", "1", {"pupil_id"});
}

TEST_F(CsvSourceTest, AnEmptyFileIsAnError) {
  const fs::path path = Write("empty.csv", "");
  auto log = LoadLongCsv(path);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(log.status().message(), AllOf(HasSubstr("empty.csv"), HasSubstr("empty")));
}

TEST_F(CsvSourceTest, AHeaderWithoutAnswersIsAnError) {
  const fs::path path = Write("header-only.csv", "pupil_id,skill_id,correct\n");
  auto log = LoadLongCsv(path);
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(log.status().message(), HasSubstr("header-only.csv"));
}

TEST_F(CsvSourceTest, AMissingFileIsNotFound) {
  auto log = LoadLongCsv(dir_ / "absent.csv");
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(log.status().message(), HasSubstr("absent.csv"));
}

TEST_F(CsvSourceTest, ItemIdsAreNumberedInOrderOfFirstAppearance) {
  const fs::path path = Write("answers.csv",
                              "pupil_id,timestamp,skill_id,item_id,correct\n"
                              "a,2,0,q-17,1\n"
                              "b,1,1,q-03,0\n"
                              "a,1,1,q-03,1\n"
                              "b,2,0,q-17,1\n");
  auto log = LoadLongCsv(path);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->num_items, 2u);
  std::vector<uint32_t> items;
  for (const Interaction& x : log->interactions) items.push_back(x.item);
  EXPECT_EQ(items, (std::vector<uint32_t>{1, 0, 1, 0}));  // q-17 → 0, q-03 → 1; sorted by timestamp
  EXPECT_TRUE(::cartable::models::Validate(*log).ok());

  auto without = LoadLongCsv(Write("plain.csv", "pupil_id,skill_id,correct\na,1,1\n"));
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_EQ(without->num_items, 0u);
}

TEST_F(CsvSourceTest, AnEmptyItemIdNamesFileLineAndField) {
  ExpectError("pupil_id,skill_id,item_id,correct\na,1,q,1\na,1,,1\n", "3", {"item_id", "empty"});
}

TEST_F(CsvSourceTest, AnOverlongLineIsRefusedWithItsNumber) {
  ExpectError("pupil_id,skill_id,correct\na,1,1\n" + std::string(2 << 20, 'a') + ",1,1\n", "3",
              {"longer than"});
}

TEST_F(CsvSourceTest, AByteOrderMarkBeforeTheHeaderIsIgnored) {
  auto log = LoadLongCsv(Write("excel.csv", "\xEF\xBB\xBFpupil_id,skill_id,correct\na,1,1\n"));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->pupil_keys, (std::vector<std::string>{"a"}));
}

}  // namespace

TEST_F(CsvSourceTest, AWrittenLogReadsBackAsTheSameAnswersInTheSameOrder) {
  const fs::path path = Write("answers.csv",
                              "correct,skill_id,timestamp,pupil_id\n"
                              "1,3,20,bob\n"
                              "0,1,5,alice\n"
                              "0,2,10,bob\n"
                              "1,0,2.5,alice\n");
  const auto log = LoadLongCsv(path);
  ASSERT_TRUE(log.ok()) << log.status();
  const fs::path copy = path.parent_path() / "copy.csv";
  ASSERT_TRUE(::cartable::ingest::WriteLongCsv(*log, copy).ok());
  const auto again = LoadLongCsv(copy);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->pupil_keys, log->pupil_keys);
  EXPECT_EQ(Answers(*again), Answers(*log));
  EXPECT_EQ(again->num_skills, log->num_skills);
}

TEST_F(CsvSourceTest, APupilKeyTheFormatCannotHoldIsRefusedAndNothingWritten) {
  InteractionLog log;
  log.pupil_keys = {"ok", "a,b"};
  log.num_skills = 1;
  log.interactions = {{0, 0, 1, 0}, {1, 0, 0, 0}};
  const fs::path path = Write("unused.csv", "").parent_path() / "refused.csv";
  const auto written = ::cartable::ingest::WriteLongCsv(log, path);
  ASSERT_FALSE(written.ok());
  EXPECT_THAT(written.message(), AllOf(HasSubstr("'a,b'"), HasSubstr("refused.csv")));
  EXPECT_FALSE(fs::exists(path));
}
