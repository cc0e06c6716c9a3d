#include "ingest/kt3_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data_file_test.h"
#include "ingest/formats.h"

namespace cartable::ingest {
namespace {

using testing::Answer;
using testing::Answers;
using ::testing::HasSubstr;
using ::testing::Not;

class Kt3SourceTest : public testing::DataFileTest {
 protected:
  const testing::Loader load_ = [](const auto& path, const Pseudonymizer* p) {
    return LoadKt3(path, p);
  };
};

TEST_F(Kt3SourceTest, ReadsSequencesWithoutIdsAsOnePupilEach) {
  auto log = Load(load_,
                  "3\n1,2,1\n0,1,1\n"
                  "2\n0,4\n1,0\n");
  EXPECT_EQ(log.pupil_keys, (std::vector<std::string>{"seq-1", "seq-2"}));
  EXPECT_EQ(log.num_skills, 5u);
  EXPECT_EQ(log.num_items, 0u);
  EXPECT_EQ(Answers(log), (std::vector<Answer>{{0, 1, 0, 0},
                                               {0, 2, 1, 0},
                                               {0, 1, 1, 0},  //
                                               {1, 0, 1, 0},
                                               {1, 4, 0, 0}}));
}

TEST_F(Kt3SourceTest, JoinsSequencesOfTheSamePupilInFileOrder) {
  auto log = Load(load_,
                  "2,ann\n3,3\n1,1\n"
                  "1,bob\n0\n0\n"
                  "1,ann\n7\n0\n");
  EXPECT_EQ(log.pupil_keys, (std::vector<std::string>{"ann", "bob"}));
  EXPECT_EQ(log.num_skills, 8u);
  EXPECT_EQ(Answers(log),
            (std::vector<Answer>{{0, 3, 1, 0}, {0, 3, 1, 0}, {0, 7, 0, 0}, {1, 0, 0, 0}}));
}

TEST_F(Kt3SourceTest, ToleratesTrailingCommasSpacesCrlfAndBlankLines) {
  auto log = Load(load_, "\n2,\r\n 5, 6,\r\n1 ,0,\r\n\r\n\n1\n2\n1\n\n\n");
  EXPECT_EQ(log.pupil_keys.size(), 2u);
  EXPECT_EQ(Answers(log), (std::vector<Answer>{{0, 5, 1, 0}, {0, 6, 0, 0}, {1, 2, 1, 0}}));
}

TEST_F(Kt3SourceTest, PseudonymisesIdsAndOrdinalKeys) {
  const Pseudonymizer pseudonymizer = MakePseudonymizer();
  auto with_ids = Load(load_, "1,alice-raw-id\n2\n1\n", &pseudonymizer);
  ASSERT_EQ(with_ids.pupil_keys.size(), 1u);
  EXPECT_EQ(with_ids.pupil_keys[0], pseudonymizer.Pseudonym("alice-raw-id"));
  EXPECT_THAT(with_ids.pupil_keys[0], Not(HasSubstr("alice")));
  auto without_ids = Load(load_, "1\n2\n1\n", &pseudonymizer);
  ASSERT_EQ(without_ids.pupil_keys.size(), 1u);
  EXPECT_EQ(without_ids.pupil_keys[0], pseudonymizer.Pseudonym("seq-1"));
}

TEST_F(Kt3SourceTest, MismatchedCountsNameTheLineAndField) {
  ExpectError(load_, "3\n1,2\n0,1\n", "2", {"skills", "2 entries", "3"});
  ExpectError(load_, "2\n1,2\n0,1,1\n", "3", {"answers", "3 entries"});
  ExpectError(load_, "2\n1,2\n0,1\n1\n4\n", "6", {"answers", "ends"});
  ExpectError(load_, "2\n1,2\n\n", "3", {"answers", "0 entries"});
}

TEST_F(Kt3SourceTest, BadNumbersNameTheLineFieldAndEntry) {
  ExpectError(load_, "1\n0\n1\nx\n1\n1\n", "4", {"count", "'x'"});
  ExpectError(load_, "0\n\n\n", "1", {"count"});
  ExpectError(load_, "-2\n1,2\n0,1\n", "1", {"count"});
  ExpectError(load_, "99999999999999999999\n1\n1\n", "1", {"count"});
  ExpectError(load_, "2\n1,-1\n0,1\n", "2", {"skills", "entry 2", "'-1'"});
  ExpectError(load_, "2\n1,1048576\n0,1\n", "2", {"skills", "1048576"});
  ExpectError(load_, "2\n1,99999999999999999999\n0,1\n", "2", {"skills", "entry 2"});
  ExpectError(load_, "2\n1,1.5\n0,1\n", "2", {"skills", "'1.5'"});
  ExpectError(load_, "2\n1,1\n0,2\n", "3", {"answers", "entry 2", "neither 0 nor 1"});
  ExpectError(load_, "2\n1,1\n0,,\n", "3", {"answers"});
}

TEST_F(Kt3SourceTest, IdsForSomeSequencesOnlyAreRefused) {
  ExpectError(load_, "1,ann\n1\n1\n1\n2\n0\n", "4", {"pupil_id", "every sequence"});
  ExpectError(load_, "1\n1\n1\n1,bob\n2\n0\n", "4", {"pupil_id"});
  ExpectError(load_, "1,bob,extra\n1\n1\n", "1", {"count", "3 fields"});
}

TEST_F(Kt3SourceTest, NonUtf8BytesAreQuotedNotEchoed) {
  auto log = LoadKt3(Write("bytes.txt", "2\n1,\xff\xfe\n0,1\n"));
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(log.status().message(),
              HasSubstr("bytes.txt:2: field 'skills': entry 2: '\\xff\\xfe'"));
}

TEST_F(Kt3SourceTest, AnEmptyOrBlankFileIsAnError) {
  ExpectError(load_, "", "", {"no answer sequence"});
  ExpectError(load_, "\n\n  \n", "", {"no answer sequence"});
}

TEST_F(Kt3SourceTest, AnOverlongLineIsRefusedWithItsNumber) {
  ExpectError(load_, "1\n" + std::string(2 << 20, '1') + "\n1\n", "2", {"longer than"});
}

TEST_F(Kt3SourceTest, LoadDataDispatchesKt3) {
  auto log = LoadData("kt3:" + Write("seqs.txt", "1\n4\n1\n").string());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->num_skills, 5u);
}

}  // namespace
}  // namespace cartable::ingest
