// Secure evaluation, end to end in process: what the coordinator receives in a run with secure
// aggregation holds no single school's evaluation figure (it reads the whole transcript), and the
// federation's metrics it unmasks are those of the pooled held-out pupils.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <set>

#include "models/fairness.h"
#include "models/metrics.h"
#include "models/model.h"
#include "protocol/codec.h"
#include "simulations/inprocess_federation.h"
#include "simulations/synthetic_cohort.h"

namespace cartable {
namespace {

struct Federation {
  std::vector<simulations::InProcessSchool> schools;
  coordinator::RunConfig run;
};

Federation SmallFederation(bool secagg) {
  simulations::CohortConfig cohort;
  cohort.schools = 5;
  cohort.skills = 8;
  cohort.min_pupils = 30;
  cohort.max_pupils = 60;
  cohort.seed = 11;
  Federation f;
  for (const auto& school : simulations::GenerateCohort(cohort)) {
    f.schools.push_back(
        {school.name,
         models::SplitByPupil(simulations::ToInteractionLog(school, cohort.skills), 0.3, 11)});
  }
  f.run.rounds = 3;
  f.run.expected_nodes = 5;
  f.run.min_nodes = 5;
  f.run.model.num_skills = 8;
  f.run.round_timeout = std::chrono::seconds(10);
  f.run.join_timeout = std::chrono::seconds(30);
  f.run.secagg.enabled = secagg;
  return f;
}

// The types of every message the coordinator received, decoded from the frames as they arrived.
struct Transcript {
  std::multiset<protocol::MessageType> types;
  size_t undecodable = 0;
};

simulations::InProcessOutcome RunTranscribed(Federation f, Transcript& transcript) {
  simulations::InProcessOptions options;
  options.coordinator_transcript = [&](const protocol::Delivery& d) {
    auto envelope = protocol::Decode(d.frame.bytes());
    if (!envelope.ok()) {
      transcript.undecodable += 1;
      return;
    }
    transcript.types.insert(protocol::TypeOf(envelope->body));
  };
  return simulations::RunInProcess(f.run, std::move(f.schools), {}, options);
}

TEST(SecureEvaluationTest, TheCoordinatorsTranscriptHoldsNoSchoolsEvaluationFigures) {
  Transcript transcript;
  auto outcome = RunTranscribed(SmallFederation(true), transcript);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  ASSERT_EQ(outcome.records.size(), 3u);
  for (const auto& r : outcome.records) ASSERT_TRUE(r.auc.has_value()) << "round " << r.round;
  EXPECT_EQ(transcript.undecodable, 0u);
  // Only SecAgg+ messages (masked, sealed, signed) and the session's own: no EvaluateResult, no
  // TrainResult, ever.
  const std::set<protocol::MessageType> allowed = {
      protocol::MessageType::kHello,          protocol::MessageType::kHeartbeat,
      protocol::MessageType::kKeyAdvert,      protocol::MessageType::kShareKeys,
      protocol::MessageType::kMaskedInput,    protocol::MessageType::kSurvivorSignature,
      protocol::MessageType::kUnmaskResponse, protocol::MessageType::kError};
  for (protocol::MessageType type : transcript.types) {
    EXPECT_TRUE(allowed.contains(type))
        << "the coordinator received a " << protocol::MessageTypeName(type);
  }
  // Two secure sums a round (training, then evaluation), each with a masked input from every
  // school.
  EXPECT_EQ(transcript.types.count(protocol::MessageType::kMaskedInput), 3u * 2u * 5u);
}

// The control: the same transcript does show each school's figures when secure aggregation is off,
// so the test above can fail.
TEST(SecureEvaluationTest, AComparisonRunInTheClearShowsEachSchoolsFigures) {
  Transcript transcript;
  auto outcome = RunTranscribed(SmallFederation(false), transcript);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(transcript.types.count(protocol::MessageType::kEvaluateResult), 3u * 5u);
}

TEST(SecureEvaluationTest, TheSecurelySummedMetricsAreThoseOfThePooledHeldOutPupils) {
  Federation f = SmallFederation(true);
  std::vector<models::PupilSplit> splits;
  for (const auto& s : f.schools) splits.push_back(s.split);
  Transcript transcript;
  auto outcome = RunTranscribed(f, transcript);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  const coordinator::RoundRecord& last = outcome.records.back();
  ASSERT_TRUE(last.auc && last.accuracy && last.log_loss && last.rmse);

  // The final model on every school's held-out pupils, pooled: what a central evaluation would see.
  auto model = models::CreateModel(f.run.model).value();
  ASSERT_TRUE(model->SetParameters(outcome.model).ok());
  std::vector<float> scores;
  std::vector<uint8_t> labels;
  for (const auto& split : splits) {
    auto s = model->Predict(split.test).value();
    auto l = models::Labels(split.test, model->input());
    scores.insert(scores.end(), s.begin(), s.end());
    labels.insert(labels.end(), l.begin(), l.end());
  }
  const auto pooled = models::SummableMetrics::Of(scores, labels).value();
  EXPECT_EQ(last.evaluated, labels.size());
  // Counts are summed exactly, so everything computed from them matches the pooled histograms.
  EXPECT_DOUBLE_EQ(*last.auc, pooled.Auc().value());
  EXPECT_DOUBLE_EQ(*last.accuracy, models::Accuracy(scores, labels).value());
  // The histogram's AUC is within its stated bound of the exact one, and the bound within 0.001.
  ASSERT_TRUE(last.auc_bound.has_value());
  EXPECT_LT(*last.auc_bound, 0.001);
  EXPECT_NEAR(*last.auc, models::Auc(scores, labels).value(), *last.auc_bound + 1e-12);
  ASSERT_TRUE(last.calibration_error.has_value());
  EXPECT_DOUBLE_EQ(*last.calibration_error, pooled.CalibrationError().value());
  // The real sums were rounded to whole units, one at most per school: 5 over the count.
  const double n = static_cast<double>(labels.size());
  EXPECT_NEAR(*last.log_loss, models::LogLoss(scores, labels).value(), 5 / n + 1e-6);
  EXPECT_NEAR(*last.rmse * *last.rmse, std::pow(models::Rmse(scores, labels).value(), 2),
              5 / n + 1e-6);
}

// Fairness by subgroup: each pupil gets a band from its key ("tiny" for three held-out pupils,
// "few" for eight, "none" for nobody); the last round's table, securely summed, is the table of the
// pooled held-out pupils, with the three small bands suppressed (together they hold 11 pupils, so
// no other band need be); in the clear it is the same.
TEST(SecureEvaluationTest, TheFairnessTableIsThatOfThePooledHeldOutPupilsSmallGroupsSuppressed) {
  auto bands = std::make_shared<models::PupilAttributes>();
  Federation base = SmallFederation(true);
  int held_out = 0;
  for (const auto& school : base.schools) {
    for (const auto* log : {&school.split.train, &school.split.test}) {
      for (const std::string& key : log->pupil_keys) {
        const size_t h = std::hash<std::string>{}(key);
        std::string band = h % 2 == 0 ? "low" : "high";
        if (log == &school.split.test) {
          if (held_out < 3)
            band = "tiny";
          else if (held_out < 11)
            band = "few";
          held_out += 1;
        }
        (*bands)["band"][key] = band;
      }
    }
  }
  const std::vector<models::Attribute> attributes = {
      {"band", {"high", "low", "tiny", "few", "none"}}};
  std::vector<models::FairnessTable> tables;
  for (bool secagg : {true, false}) {
    Federation f = SmallFederation(secagg);
    for (auto& school : f.schools) school.attributes = bands;
    f.run.fairness = attributes;
    f.run.min_group_pupils = 10;
    std::vector<const models::InteractionLog*> tests;
    for (const auto& school : f.schools) tests.push_back(&school.split.test);
    const models::InteractionLog pooled_test = models::Concatenate(tests);
    Transcript transcript;
    auto outcome = RunTranscribed(f, transcript);
    ASSERT_TRUE(outcome.status.ok()) << outcome.status;
    ASSERT_EQ(outcome.records.size(), 3u);
    EXPECT_FALSE(outcome.records[0].fairness.has_value());  // the last round only
    ASSERT_TRUE(outcome.records.back().fairness.has_value());
    const models::FairnessTable& table = *outcome.records.back().fairness;
    if (secagg) {
      EXPECT_EQ(transcript.types.count(protocol::MessageType::kEvaluateResult), 0u);
    }

    auto model = models::CreateModel(f.run.model).value();
    ASSERT_TRUE(model->SetParameters(outcome.model).ok());
    const std::vector<float> scores = model->Predict(pooled_test).value();
    const auto pooled =
        models::EvaluationStatistics::Of(scores, pooled_test, model->input(), attributes, *bands)
            .value();
    const models::FairnessTable expected = models::BuildFairnessTable(attributes, pooled, 10);
    ASSERT_EQ(table.rows.size(), 5u);
    for (size_t r = 0; r < 5; ++r) {
      SCOPED_TRACE(table.rows[r].value);
      EXPECT_EQ(table.rows[r].suppressed, expected.rows[r].suppressed);
      EXPECT_EQ(table.rows[r].pupils, expected.rows[r].pupils);
      EXPECT_EQ(table.rows[r].answers, expected.rows[r].answers);
      EXPECT_EQ(table.rows[r].auc, expected.rows[r].auc);
      EXPECT_EQ(table.rows[r].true_positive_rate, expected.rows[r].true_positive_rate);
      EXPECT_EQ(table.rows[r].flag_rate, expected.rows[r].flag_rate);
    }
    EXPECT_FALSE(table.rows[0].suppressed);
    EXPECT_FALSE(table.rows[1].suppressed);
    EXPECT_TRUE(table.rows[2].suppressed);  // three pupils
    EXPECT_TRUE(table.rows[3].suppressed);  // eight
    EXPECT_TRUE(table.rows[4].suppressed);  // nobody
    EXPECT_FALSE(table.rows[2].auc.has_value());
    ASSERT_TRUE(table.gaps[0].equal_opportunity.has_value());
    EXPECT_EQ(table.gaps[0].equal_opportunity, expected.gaps[0].equal_opportunity);
    tables.push_back(table);
  }
  EXPECT_EQ(tables[0].rows[0].auc, tables[1].rows[0].auc);
}

}  // namespace
}  // namespace cartable
