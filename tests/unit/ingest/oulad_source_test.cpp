#include "ingest/oulad_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "data_file_test.h"
#include "ingest/formats.h"

using ::cartable::StatusCode;
using ::cartable::ingest::LoadData;
using ::cartable::ingest::LoadOulad;
using ::cartable::ingest::LoadOuladLocation;
using ::cartable::ingest::OuladFeatureNames;
using ::cartable::ingest::OuladOptions;
using ::cartable::ingest::Pseudonymizer;
using ::cartable::models::InteractionLog;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

namespace {

// Three students; 1001 is registered twice (AAA 2013J, then BBB 2014B). Assessment 3 is due after
// day 60, 4 is an exam without a date; 1002 submits assessment 1 after day 60; 1003's result is
// banked.
std::map<std::string, std::string> Tables() {
  return {
      {"courses.csv",
       "code_module,code_presentation,module_presentation_length\nAAA,2013J,268\n"
       "BBB,2014B,240\n"},
      {"assessments.csv",
       "\"code_module\",\"code_presentation\",\"id_assessment\",\"assessment_type\",\"date\","
       "\"weight\"\n"
       "\"AAA\",\"2013J\",\"1\",\"TMA\",\"20\",\"20\"\n\"AAA\",\"2013J\",\"2\",\"CMA\",\"50\","
       "\"0\"\n"
       "\"AAA\",\"2013J\",\"3\",\"TMA\",\"100\",\"30\"\n\"AAA\",\"2013J\",\"4\",\"Exam\",\"\","
       "\"100\"\n"
       "\"BBB\",\"2014B\",\"5\",\"TMA\",\"30\",\"50\"\n"},
      {"studentInfo.csv",
       "code_module,code_presentation,id_student,gender,region,highest_education,imd_band,age_band,"
       "num_of_prev_attempts,studied_credits,disability,final_result\n"
       "AAA,2013J,1001,M,Scotland,HE Qualification,90-100%,55<=,0,60,N,Pass\n"
       "AAA,2013J,1002,F,Wales,No Formal quals,,0-35,2,120,Y,Withdrawn\n"
       "BBB,2014B,1001,M,Scotland,HE Qualification,20-Oct,55<=,1,60,N,Fail\n"
       "AAA,2013J,1003,F,\"London Region\",A Level or Equivalent,0-10%,35-55,0,30,N,Distinction\n"},
      {"studentAssessment.csv",
       "id_assessment,id_student,date_submitted,is_banked,score\n1,1001,18,0,80\n2,1001,55,0,60\n"
       "3,1001,95,0,99\n1,1002,70,0,90\n1,1003,-5,1,70\n2,1003,40,0,\n5,1001,25,0,40\n"},
  };
}

class OuladSourceTest : public ::cartable::ingest::testing::TempDirTest {
 protected:
  void WriteTables(const std::map<std::string, std::string>& tables) {
    for (const auto& [name, contents] : tables) Write(name, contents);
  }

  InteractionLog Load(int cutoff = 60) {
    auto log = LoadOulad(dir_, OuladOptions{cutoff});
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(log).value() : InteractionLog{};
  }

  float Feature(const InteractionLog& log, size_t row, const std::string& column) {
    const auto& names = OuladFeatureNames();
    const size_t c = std::find(names.begin(), names.end(), column) - names.begin();
    EXPECT_LT(c, names.size()) << column;
    return log.records.features[row * names.size() + c];
  }

  // Replaces `from` by `to` in one table, loads, and expects an InvalidArgument with each of
  // `parts`.
  void ExpectError(const std::string& table, const std::string& from, const std::string& to,
                   const std::vector<std::string>& parts) {
    auto tables = Tables();
    const size_t at = tables[table].find(from);
    ASSERT_NE(at, std::string::npos) << from;
    tables[table].replace(at, from.size(), to);
    WriteTables(tables);
    auto log = LoadOulad(dir_, {});
    ASSERT_FALSE(log.ok());
    EXPECT_EQ(log.status().code(), StatusCode::kInvalidArgument);
    for (const std::string& part : parts) EXPECT_THAT(log.status().message(), HasSubstr(part));
  }
};

TEST_F(OuladSourceTest, OneRecordPerRegistrationGroupedByStudent) {
  WriteTables(Tables());
  const InteractionLog log = Load();
  ASSERT_TRUE(cartable::models::Validate(log).ok());
  EXPECT_EQ(log.records.feature_names, OuladFeatureNames());
  EXPECT_EQ(log.records.num_features(), 22u);
  EXPECT_THAT(log.pupil_keys, ElementsAre("s1", "s2", "s3"));
  EXPECT_THAT(log.records.pupil, ElementsAre(0, 0, 1, 2));    // 1001 twice, contiguous
  EXPECT_THAT(log.records.outcome, ElementsAre(0, 1, 1, 0));  // Pass, Fail, Withdrawn, Distinction
  EXPECT_EQ(log.size(), 0u);
}

TEST_F(OuladSourceTest, RegistrationColumns) {
  WriteTables(Tables());
  const InteractionLog log = Load();
  EXPECT_EQ(Feature(log, 0, "gender_male"), 1);
  EXPECT_EQ(Feature(log, 0, "age_55_plus"), 1);
  EXPECT_EQ(Feature(log, 3, "age_35_55"), 1);
  EXPECT_FLOAT_EQ(Feature(log, 0, "education_level"), 0.75f);
  EXPECT_FLOAT_EQ(Feature(log, 2, "education_level"), 0.0f);
  EXPECT_FLOAT_EQ(Feature(log, 0, "imd_band"), 0.95f);
  EXPECT_FLOAT_EQ(Feature(log, 1, "imd_band"), 0.15f);  // "20-Oct" is the 10-20 % band
  EXPECT_FLOAT_EQ(Feature(log, 3, "imd_band"), 0.05f);
  EXPECT_EQ(Feature(log, 2, "imd_missing"), 1);
  EXPECT_FLOAT_EQ(Feature(log, 2, "imd_band"), 0.5f);
  EXPECT_EQ(Feature(log, 2, "disability"), 1);
  EXPECT_FLOAT_EQ(Feature(log, 2, "previous_attempts"), std::log1p(2.0f));
  EXPECT_FLOAT_EQ(Feature(log, 2, "studied_credits"), std::log1p(2.0f));
  EXPECT_EQ(Feature(log, 0, "module_aaa"), 1);
  EXPECT_EQ(Feature(log, 0, "module_bbb"), 0);
  EXPECT_EQ(Feature(log, 1, "module_bbb"), 1);
  EXPECT_EQ(Feature(log, 1, "february_start"), 1);
  EXPECT_EQ(Feature(log, 0, "february_start"), 0);
}

TEST_F(OuladSourceTest, AssessmentColumnsAtTheCutoff) {
  WriteTables(Tables());
  const InteractionLog log = Load();
  // 1001 in AAA: assessments 1 (on time, 80, weight 20) and 2 (late, 60, weight 0) are due by
  // day 60.
  EXPECT_FLOAT_EQ(Feature(log, 0, "assessments_due"), std::log1p(2.0f));
  EXPECT_FLOAT_EQ(Feature(log, 0, "submitted_share"), 1.0f);
  EXPECT_FLOAT_EQ(Feature(log, 0, "late_share"), 0.5f);
  EXPECT_FLOAT_EQ(Feature(log, 0, "mean_score"), 0.7f);
  EXPECT_FLOAT_EQ(Feature(log, 0, "weighted_score"), 0.8f);
  // 1001 in BBB: its one assessment.
  EXPECT_FLOAT_EQ(Feature(log, 1, "weighted_score"), 0.4f);
  // 1002 submitted after day 60: nothing known yet.
  EXPECT_FLOAT_EQ(Feature(log, 2, "submitted_share"), 0.0f);
  EXPECT_FLOAT_EQ(Feature(log, 2, "weighted_score"), 0.0f);
  // 1003: a banked result (on time) and a submission without a score (left out of the means).
  EXPECT_FLOAT_EQ(Feature(log, 3, "submitted_share"), 1.0f);
  EXPECT_FLOAT_EQ(Feature(log, 3, "late_share"), 0.0f);
  EXPECT_FLOAT_EQ(Feature(log, 3, "mean_score"), 0.7f);
  EXPECT_FLOAT_EQ(Feature(log, 3, "weighted_score"), 0.7f);
}

TEST_F(OuladSourceTest, NothingAfterTheCutoffLeaks) {
  WriteTables(Tables());
  const std::vector<float> before = Load().records.features;
  // Change every result of an assessment due after day 60, and one submitted after it.
  auto tables = Tables();
  tables["studentAssessment.csv"] += "3,1002,99,0,100\n4,1001,268,0,100\n4,1003,268,0,0\n";
  tables["studentAssessment.csv"].replace(tables["studentAssessment.csv"].find("3,1001,95,0,99"),
                                          14, "3,1001,95,0,11");
  tables["studentAssessment.csv"].replace(tables["studentAssessment.csv"].find("1,1002,70,0,90"),
                                          14, "1,1002,61,0,10");
  WriteTables(tables);
  EXPECT_EQ(Load().records.features, before);
  // A later cut-off sees them: 1001 in AAA now has assessment 3 (99, weight 30) too.
  WriteTables(Tables());
  auto later = LoadOuladLocation(dir_.string() + "?cutoff=100");
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_FLOAT_EQ(Feature(*later, 0, "assessments_due"), std::log1p(3.0f));
  EXPECT_NEAR(Feature(*later, 0, "weighted_score"), (20 * 0.8 + 30 * 0.99) / 50, 1e-6);
  EXPECT_FLOAT_EQ(Feature(*later, 2, "late_share"), 1.0f / 3);  // 1002's day-70 submission, late
}

TEST_F(OuladSourceTest, NoRawStudentIdReachesTheLog) {
  WriteTables(Tables());
  auto key = Pseudonymizer::LoadOrCreate(dir_ / "pseudonym.key");
  ASSERT_TRUE(key.ok()) << key.status();
  auto log = LoadData("oulad:" + dir_.string(), &*key);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_THAT(log->pupil_keys,
              ElementsAre(key->Pseudonym("1001"), key->Pseudonym("1002"), key->Pseudonym("1003")));
  for (const std::string& k : log->pupil_keys) EXPECT_THAT(k, Not(AnyOf("1001", "1002", "1003")));
  for (const std::string& k : Load().pupil_keys)
    EXPECT_THAT(k, AllOf(Not(HasSubstr("100")), HasSubstr("s")));
}

TEST_F(OuladSourceTest, ErrorsNameFileLineAndField) {
  ExpectError("studentInfo.csv", "Wales,No Formal quals,,0-35,2,120,Y,Withdrawn",
              "Wales,No Formal quals,,0-35,2,120,Y,Deferred",
              {"studentInfo.csv:3", "final_result", "Deferred"});
  ExpectError("studentInfo.csv", "1003,F", "1003,X", {"studentInfo.csv:5", "gender"});
  ExpectError("studentInfo.csv", "0-35,2,120", "0-35,two,120",
              {"studentInfo.csv:3", "num_of_prev_attempts"});
  ExpectError("studentAssessment.csv", "5,1001,25,0,40", "5,1001,25,0,4o",
              {"studentAssessment.csv:8", "score"});
  ExpectError("studentAssessment.csv", "5,1001,25,0,40", "9,1001,25,0,40",
              {"studentAssessment.csv:8", "id_assessment"});
  ExpectError("assessments.csv", "\"50\",\"0\"", "\"50\",\"0", {"assessments.csv:3", "quoted"});
  ExpectError("assessments.csv", "\"BBB\",\"2014B\"", "\"CCC\",\"2014B\"",
              {"assessments.csv:6", "code_presentation"});
  ExpectError("courses.csv", "module_presentation_length", "length",
              {"courses.csv:1", "module_presentation_length"});
  ExpectError("studentInfo.csv", "AAA,2013J,1003", "AAA,2013J,1002",
              {"studentInfo.csv:5", "twice"});
  ExpectError("studentInfo.csv", "Scotland,HE Qualification,20-Oct", "Scotland,HE Qualification",
              {"studentInfo.csv:4", "fields"});
}

TEST_F(OuladSourceTest, BadLocationsAndMissingFiles) {
  WriteTables(Tables());
  for (const char* query : {"?cutoff=", "?cutoff=abc", "?cutoff=-1", "?cutoff=1001", "?cut=60"}) {
    auto log = LoadOuladLocation(dir_.string() + query);
    ASSERT_FALSE(log.ok()) << query;
    EXPECT_THAT(log.status().message(), HasSubstr("cutoff=DAYS")) << query;
  }
  fs::remove(dir_ / "courses.csv");
  auto log = LoadData("oulad:" + dir_.string());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(log.status().message(), HasSubstr("courses.csv"));
}

}  // namespace
