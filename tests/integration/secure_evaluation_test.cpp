// Secure evaluation, end to end in process: what the coordinator receives in a run with secure
// aggregation holds no single school's evaluation figure (it reads the whole transcript), and the
// federation's metrics it unmasks are those of the pooled held-out pupils.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

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

}  // namespace
}  // namespace cartable
