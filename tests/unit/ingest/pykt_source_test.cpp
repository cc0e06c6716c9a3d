#include "ingest/pykt_source.h"

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

class PyktSourceTest : public testing::DataFileTest {
 protected:
  const testing::Loader load_ = [](const auto& path, const Pseudonymizer* p) {
    return LoadPykt(path, p);
  };
};

TEST_F(PyktSourceTest, ReadsAllColumnsAndSkipsPadding) {
  auto log = Load(
      load_,
      "fold,uid,questions,concepts,responses,timestamps,selectmasks,is_repeat\n"
      "0,u1,\"4,9,9,-1\",\"1,3,3,-1\",\"1,0,1,-1\",\"100,200,300,-1\",\"1,1,1,-1\",\"0,0,1,-1\"\n"
      "1,u2,\"2,-1\",\"0,-1\",\"0,-1\",\"50,-1\",\"1,-1\",\"0,-1\"\n");
  EXPECT_EQ(log.pupil_keys, (std::vector<std::string>{"u1", "u2"}));
  EXPECT_EQ(log.num_skills, 4u);
  EXPECT_EQ(log.num_items, 10u);
  EXPECT_EQ(Answers(log),
            (std::vector<Answer>{{0, 1, 1, 4}, {0, 3, 0, 9}, {0, 3, 1, 9}, {1, 0, 0, 2}}));
}

TEST_F(PyktSourceTest, RequiresOnlyUidConceptsAndResponsesInAnyOrder) {
  auto log = Load(load_,
                  "responses,concepts,uid,usetimes\n"
                  "\"1,0\",\"5,2\",a,\"3,4\"\n"
                  "1,7,b,9\n");  // a one-entry list needs no quotes
  EXPECT_EQ(log.pupil_keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(log.num_skills, 8u);
  EXPECT_EQ(log.num_items, 0u);
  EXPECT_EQ(Answers(log), (std::vector<Answer>{{0, 5, 1, 0}, {0, 2, 0, 0}, {1, 7, 1, 0}}));
}

TEST_F(PyktSourceTest, SlidingWindowsCountEachAnswerOnce) {
  // test_window_sequences.csv: later windows repeat the history with selectmask 0.
  auto log = Load(load_,
                  "uid,concepts,responses,selectmasks\n"
                  "w,\"1,2,3\",\"1,1,0\",\"1,1,1\"\n"
                  "w,\"2,3,4\",\"1,0,1\",\"0,0,1\"\n");
  EXPECT_EQ(Answers(log),
            (std::vector<Answer>{{0, 1, 1, 0}, {0, 2, 1, 0}, {0, 3, 0, 0}, {0, 4, 1, 0}}));
}

TEST_F(PyktSourceTest, OrdersAPupilsChunksByTimestamp) {
  auto log = Load(load_,
                  "uid,concepts,responses,timestamps\n"
                  "x,\"1,2\",\"1,1\",\"30,40\"\n"
                  "y,3,0,5\n"
                  "x,\"5,6\",\"0,0\",\"10,20\"\n");
  EXPECT_EQ(
      Answers(log),
      (std::vector<Answer>{{0, 5, 0, 0}, {0, 6, 0, 0}, {0, 1, 1, 0}, {0, 2, 1, 0}, {1, 3, 0, 0}}));
}

TEST_F(PyktSourceTest, PseudonymisesUids) {
  const Pseudonymizer pseudonymizer = MakePseudonymizer();
  auto log = Load(load_, "uid,concepts,responses\nraw-uid-42,1,1\n", &pseudonymizer);
  ASSERT_EQ(log.pupil_keys.size(), 1u);
  EXPECT_EQ(log.pupil_keys[0], pseudonymizer.Pseudonym("raw-uid-42"));
  EXPECT_THAT(log.pupil_keys[0], Not(HasSubstr("raw-uid")));
}

TEST_F(PyktSourceTest, HeaderErrorsNameLineOne) {
  ExpectError(load_, "uid,concepts\nu,1\n", "1", {"responses"});
  ExpectError(load_, "uid,concepts,responses,uid\nu,1,1,u\n", "1", {"'uid'", "twice"});
  ExpectError(load_, "\"uid,concepts,responses\nu,1,1\n", "1", {"unterminated quote"});
}

TEST_F(PyktSourceTest, RowErrorsNameLineFieldAndEntry) {
  const std::string header = "uid,questions,concepts,responses,timestamps,selectmasks,is_repeat\n";
  ExpectError(load_, header + "u,1,1,1,1,1,0\nu,1,1,1,1\n", "3", {"5 fields", "7"});
  ExpectError(load_, header + "u,\"1,2\",\"1,2\",\"1\",\"1,2\",\"1,1\",\"0,0\"\n", "2",
              {"responses", "1 entries", "'concepts' has 2"});
  ExpectError(load_, header + "u,1,1,2,1,1,0\n", "2", {"responses", "entry 1", "'2'"});
  ExpectError(load_, header + "u,\"1,2\",\"1,x\",\"1,1\",\"1,2\",\"1,1\",\"0,0\"\n", "2",
              {"concepts", "entry 2", "'x'"});
  ExpectError(load_, header + "u,4194304,1,1,1,1,0\n", "2", {"questions", "4194304"});
  ExpectError(load_, header + "u,1,99999999999999999999,1,1,1,0\n", "2", {"concepts"});
  ExpectError(load_, header + "u,1,1,1,1e999,1,0\n", "2", {"timestamps", "a number"});
  ExpectError(load_, header + "u,1,1,1,1,2,0\n", "2", {"selectmasks", "'2'"});
  ExpectError(load_, header + "u,1,1,1,1,1,7\n", "2", {"is_repeat", "'7'"});
  ExpectError(load_, header + ",1,1,1,1,1,0\n", "2", {"uid", "empty"});
  ExpectError(load_, header + "u,1,\"1\"x,1,1,1,0\n", "2", {"after the closing quote"});
  ExpectError(load_, header + "u,1,\"1_2\",1,1,1,0\n", "2", {"concepts", "'1_2'"});
}

TEST_F(PyktSourceTest, NonUtf8BytesAreQuotedNotEchoed) {
  auto log = LoadPykt(Write("bytes.csv", "uid,concepts,responses\nu,\xc3\x28,1\n"));
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(log.status().message(),
              HasSubstr("bytes.csv:2: field 'concepts': entry 1: '\\xc3('"));
}

TEST_F(PyktSourceTest, EmptyFilesAndPaddingOnlyFilesAreErrors) {
  ExpectError(load_, "", "1", {"empty file"});
  ExpectError(load_, "uid,concepts,responses\n", "", {"no answer"});
  ExpectError(load_, "uid,concepts,responses\nu,\"-1,-1\",\"-1,-1\"\n", "", {"no answer"});
}

TEST_F(PyktSourceTest, LoadDataDispatchesPykt) {
  auto log = LoadData("pykt:" + Write("seqs.csv", "uid,concepts,responses\nu,2,1\n").string());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->num_skills, 3u);
}

}  // namespace
}  // namespace cartable::ingest
