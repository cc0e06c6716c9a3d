#include "ingest/records_csv_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "data_file_test.h"
#include "ingest/formats.h"

namespace cartable::ingest {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class RecordsCsvTest : public testing::DataFileTest {
 protected:
  void ExpectError(const std::string& contents, const std::string& line,
                   const std::vector<std::string>& parts) {
    DataFileTest::ExpectError(load_, contents, line, parts);
  }
  const testing::Loader load_ = [](const auto& path, const Pseudonymizer* p) {
    return LoadRecordsCsv(path, p);
  };
};

TEST_F(RecordsCsvTest, ReadsRecordsWithTheHeadersFeaturesInOrderAndPupilsByFirstAppearance) {
  const fs::path path = Write("records.csv",
                              "pupil_id,outcome,absences,\"grade, mean\"\n"
                              "e1042,1,0.25,0.41\n"
                              "\n"
                              "e2210, 0 ,0.1,7.5e-1\n"
                              "e1042,0,0.05,-2\n");
  auto log = LoadData("records:" + path.string());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->records.feature_names, (std::vector<std::string>{"absences", "grade, mean"}));
  EXPECT_EQ(log->pupil_keys, (std::vector<std::string>{"e1042", "e2210"}));
  // A pupil's records together, in file order.
  EXPECT_EQ(log->records.pupil, (std::vector<uint32_t>{0, 0, 1}));
  EXPECT_EQ(log->records.outcome, (std::vector<uint8_t>{1, 0, 0}));
  EXPECT_EQ(log->records.features, (std::vector<float>{0.25f, 0.41f, 0.05f, -2.f, 0.1f, 0.75f}));
  EXPECT_EQ(log->size(), 0u) << "records, no answers";
  EXPECT_TRUE(models::Validate(*log).ok());
}

TEST_F(RecordsCsvTest, PupilIdsBecomePseudonymsAsTheyAreRead) {
  const fs::path path = Write("records.csv", "pupil_id,outcome,x\nalice,1,1\n");
  const Pseudonymizer pseudonymizer = MakePseudonymizer();
  auto log = LoadRecordsCsv(path, &pseudonymizer);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->pupil_keys[0], pseudonymizer.Pseudonym("alice"));
}

TEST_F(RecordsCsvTest, WrittenRecordsReadBackAsTheSameFloatsInTheSameOrder) {
  models::InteractionLog log;
  log.pupil_keys = {"p1", "p,2"};
  log.records.feature_names = {"a", "b \"quoted\""};
  log.records.pupil = {1, 1, 0};
  log.records.outcome = {0, 1, 1};
  log.records.features = {0.1f,  1e-30f, 3.14159274f,
                          -0.0f, 1e30f,  std::numeric_limits<float>::denorm_min()};
  ASSERT_TRUE(models::Validate(log).ok());
  const fs::path path = dir_ / "written.csv";
  ASSERT_TRUE(WriteRecordsCsv(log, path).ok());
  auto back = LoadRecordsCsv(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->records.feature_names, log.records.feature_names);
  EXPECT_EQ(back->pupil_keys, (std::vector<std::string>{"p,2", "p1"})) << "by first appearance";
  EXPECT_EQ(back->records.pupil, (std::vector<uint32_t>{0, 0, 1}));
  EXPECT_EQ(back->records.outcome, log.records.outcome);
  ASSERT_EQ(back->records.features.size(), log.records.features.size());
  EXPECT_EQ(std::memcmp(back->records.features.data(), log.records.features.data(),
                        log.records.features.size() * sizeof(float)),
            0)
      << "bit for bit, -0 included";

  // What would not read back as written is refused, and nothing is half written.
  const fs::path refused = dir_ / "refused.csv";
  for (const auto& spoil : std::vector<std::function<void(models::InteractionLog&)>>{
           [](models::InteractionLog& l) { l.records.features[2] = std::nanf(""); },
           [](models::InteractionLog& l) { l.pupil_keys[0] = " p1"; },
           [](models::InteractionLog& l) { l.pupil_keys[0] = "p\n1"; },
           [](models::InteractionLog& l) { l.records.feature_names[1] = "a"; },
           [](models::InteractionLog& l) { l.records.feature_names[1] = "b\t"; }}) {
    models::InteractionLog spoilt = log;
    spoil(spoilt);
    const Status written = WriteRecordsCsv(spoilt, refused);
    EXPECT_FALSE(written.ok());
    EXPECT_THAT(written.message(), HasSubstr("refused.csv not written"));
    EXPECT_FALSE(fs::exists(refused));
  }
}

TEST_F(RecordsCsvTest, EveryErrorNamesTheFileTheLineAndTheField) {
  ExpectError("", "1", {"empty file"});
  ExpectError("pupil_id,outcome\n", "1", {"at least one feature"});
  ExpectError("outcome,pupil_id,x\n", "1", {"pupil_id,outcome"});
  ExpectError("pupil_id,outcome,x,x\n", "1", {"'x' appears twice"});
  ExpectError("pupil_id,outcome,x,\n", "1", {"column 4 has no name"});
  ExpectError("pupil_id,outcome,x\n", "", {"no record after the header"});
  ExpectError("pupil_id,outcome,x\np,2,1\n", "2", {"field 'outcome'", "neither 0 nor 1"});
  ExpectError("pupil_id,outcome,x\n,1,1\n", "2", {"field 'pupil_id' is empty"});
  ExpectError("pupil_id,outcome,x\np,1,abc\n", "2", {"field 'x'", "not a finite number"});
  ExpectError("pupil_id,outcome,x\np,1,1e39\n", "2", {"field 'x'", "beyond what a 32-bit float"});
  ExpectError("pupil_id,outcome,x\np,1,nan\n", "2", {"not a finite number"});
  ExpectError("pupil_id,outcome,x\np,1\n", "2", {"2 fields, the header has 3"});
  ExpectError("pupil_id,outcome,x\np,1,\"1\n", "2", {});
}

}  // namespace
}  // namespace cartable::ingest
