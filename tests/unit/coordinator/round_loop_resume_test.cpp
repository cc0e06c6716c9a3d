// A run resumed from a checkpoint goes on exactly as if it had never stopped, and the order in
// which updates arrive never changes a bit of the model.

#include <gtest/gtest.h>

#include <chrono>

#include "coordinator/round_loop.h"
#include "coordinator/round_record_json.h"
#include "coordinator/training_stage.h"
#include "loop_messages.h"

namespace cartable::coordinator {
namespace {

using protocol::Envelope;

constexpr size_t kDimension = 9;  // pfa over 2 skills

RunConfig AdamRun() {
  RunConfig config;
  config.run_id = 7;
  config.rounds = 4;
  config.expected_nodes = 3;
  config.min_nodes = 3;
  config.model.num_skills = 2;
  config.secagg.enabled = false;
  config.strategy = "fedadam";  // a strategy with state: its moments must survive the stop too
  config.strategy_options = {{"server_learning_rate", 0.1}};
  return config;
}

// Node i's update in round r: different per node and round, some tiny and some large, so that
// sums depend on their order unless the loop fixes it.
float UpdateValue(int node, uint32_t round) {
  const float values[] = {3.0f, 1e-12f, -2.5f};
  return values[node] / static_cast<float>(round);
}

Envelope Update(uint32_t attempt, int node, uint32_t round) {
  return Envelope{7, attempt, PackedUpdate(kDimension, UpdateValue(node, round), 100 + node, 0.5)};
}

Envelope Evaluation(uint32_t attempt) {
  auto m = models::SummableMetrics::Of(std::vector<float>{0.2f, 0.9f}, std::vector<uint8_t>{0, 1})
               .value();
  return Envelope{
      7, attempt,
      protocol::EvaluateResult{{m.positive_histogram, m.negative_histogram, m.log_loss_sum,
                                m.correct, m.count, m.squared_error_sum, m.count}}};
}

const char* const kPeers[] = {"a", "b", "c"};

void JoinAll(RoundLoop& loop) {
  for (const char* p : kPeers) loop.OnMessage(p, HelloFrom(std::string("school-") + p));
}

// Plays round `round` (attempt number `attempt`), the nodes answering in `order`.
void PlayRound(RoundLoop& loop, uint32_t attempt, uint32_t round, const int (&order)[3]) {
  for (int i : order) loop.OnMessage(kPeers[i], Update(attempt, i, round));
  for (int i : order) loop.OnMessage(kPeers[i], Evaluation(attempt));
}

TEST(RoundLoopResumeTest, AResumedRunEndsWithTheModelOfARunThatNeverStopped) {
  ManualClock clock;
  auto whole = RoundLoop::Create(AdamRun(), clock).value();
  JoinAll(*whole);
  for (uint32_t r = 1; r <= 4; ++r) PlayRound(*whole, r, r, {0, 1, 2});
  ASSERT_TRUE(whole->done());
  ASSERT_TRUE(whole->outcome().ok());

  auto first = RoundLoop::Create(AdamRun(), clock).value();
  JoinAll(*first);
  for (uint32_t r = 1; r <= 2; ++r) PlayRound(*first, r, r, {0, 1, 2});
  const Checkpoint checkpoint = first->checkpoint();  // round 3 is under way
  EXPECT_EQ(checkpoint.rounds_completed, 2u);
  EXPECT_EQ(checkpoint.attempts, 2u);
  EXPECT_FALSE(checkpoint.strategy_state.empty());
  std::vector<RoundRecord> records;  // as a run store keeps them: JSON
  for (const RoundRecord& r : first->records()) {
    records.push_back(RoundRecordFromJson(RoundRecordJson(r)).value());
  }
  first.reset();  // the coordinator is killed

  auto resumed = RoundLoop::Resume(AdamRun(), clock, checkpoint, records).value();
  EXPECT_FALSE(resumed->done());
  JoinAll(*resumed);
  for (uint32_t r = 3; r <= 4; ++r) PlayRound(*resumed, r, r, {0, 1, 2});
  ASSERT_TRUE(resumed->done());
  ASSERT_TRUE(resumed->outcome().ok());
  ASSERT_EQ(resumed->records().size(), 4u);
  EXPECT_EQ(resumed->records()[2].round, 3u);
  EXPECT_EQ(resumed->global_model(), whole->global_model());  // bit for bit
}

// Summed in arrival order, 0.03 + 1e-14 − 0.025 and −0.025 + 0.03 + 1e-14 differ in their last
// bits; a plain stage sums in cohort order whatever the arrival order.
TEST(RoundLoopResumeTest, TheOrderUpdatesArriveInChangesNoBitOfThePlainSum) {
  RunConfig config = AdamRun();
  std::vector<CohortMember> cohort;
  for (const char* p : kPeers) cohort.push_back({p, std::string("school-") + p, {}});
  const std::vector<float> global(kDimension, 0.0f);
  auto sum_in_order = [&](const std::vector<int>& order) {
    std::vector<Outgoing> out;
    auto stage = StartTraining(config, 1, cohort, global, out).value();
    for (int i : order) {
      stage->OnMessage(kPeers[i],
                       Envelope{7, 1, PackedUpdate(kDimension, UpdateValue(i, 1), 100, 0.5)}, out);
    }
    EXPECT_TRUE(stage->finished());
    return stage->outcome().value().update.weighted_delta;
  };
  const Eigen::VectorXd forwards = sum_in_order({0, 1, 2});
  for (const std::vector<int>& order : {std::vector<int>{2, 0, 1}, {1, 2, 0}, {2, 1, 0}}) {
    const Eigen::VectorXd other = sum_in_order(order);
    for (Eigen::Index i = 0; i < forwards.size(); ++i) EXPECT_EQ(other[i], forwards[i]);
  }
}

TEST(RoundLoopResumeTest, ACheckpointThatDoesNotFitThePlanIsRefused) {
  ManualClock clock;
  auto loop = RoundLoop::Create(AdamRun(), clock).value();
  JoinAll(*loop);
  PlayRound(*loop, 1, 1, {0, 1, 2});
  const Checkpoint good = loop->checkpoint();
  const std::vector<RoundRecord> records = loop->records();

  Checkpoint other_model = good;
  other_model.global_model.push_back(0);
  EXPECT_EQ(RoundLoop::Resume(AdamRun(), clock, other_model, records).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(RoundLoop::Resume(AdamRun(), clock, good, {}).ok());  // records missing
  Checkpoint other_state = good;
  other_state.strategy_state.resize(3);
  auto refused = RoundLoop::Resume(AdamRun(), clock, other_state, records);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("checkpoint"), std::string::npos);
  RunConfig shorter = AdamRun();
  shorter.rounds = 1;  // killed after its last round was recorded: a loop already done
  auto done = RoundLoop::Resume(shorter, clock, good, records);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE((*done)->done());
  EXPECT_TRUE((*done)->outcome().ok());
  PlayRound(*loop, 2, 2, {0, 1, 2});
  EXPECT_FALSE(RoundLoop::Resume(shorter, clock, loop->checkpoint(), loop->records()).ok())
      << "a checkpoint past the plan's end";
}

TEST(RoundLoopResumeTest, ARoundRecordSurvivesItsJsonForm) {
  RoundRecord r{3,      9,    7,   5,   0.25,      0.75, std::nullopt, 0.5, std::nullopt,
                0.0004, 0.03, 120, 1.5, {"x", "y"}};
  r.dropped_by_reason = {{"late", 1}, {"refused", 1}};
  models::FairnessTable table;
  table.min_group_pupils = 12;
  table.rows = {{"gender", "F", false, 40, 300, 0.8, 0.0001, 0.02, 0.7, 0.4},
                {"gender", "X", true}};
  table.gaps = {{"gender", std::nullopt, 0.1}};
  r.fairness = table;
  RoundRecord back = RoundRecordFromJson(RoundRecordJson(r)).value();
  ASSERT_TRUE(back.fairness.has_value());
  EXPECT_EQ(back.fairness->min_group_pupils, 12u);
  ASSERT_EQ(back.fairness->rows.size(), 2u);
  EXPECT_EQ(back.fairness->rows[0].pupils, 40u);
  EXPECT_EQ(back.fairness->rows[0].true_positive_rate, 0.7);
  EXPECT_TRUE(back.fairness->rows[1].suppressed);
  EXPECT_FALSE(back.fairness->rows[1].auc.has_value());
  EXPECT_FALSE(back.fairness->gaps[0].equal_opportunity.has_value());
  EXPECT_EQ(back.fairness->gaps[0].demographic_parity, 0.1);
  EXPECT_EQ(back.round, 3u);
  EXPECT_EQ(back.connected, 9u);
  EXPECT_EQ(back.asked, 7u);
  EXPECT_EQ(back.nodes, 5u);
  EXPECT_EQ(back.dropped_by_reason, r.dropped_by_reason);
  EXPECT_EQ(back.auc, r.auc);
  EXPECT_EQ(back.auc_bound, r.auc_bound);
  EXPECT_EQ(back.calibration_error, r.calibration_error);
  EXPECT_FALSE(back.accuracy.has_value());
  EXPECT_EQ(back.log_loss, r.log_loss);
  EXPECT_EQ(back.dropped, r.dropped);
  EXPECT_EQ(RoundRecordFromJson(nlohmann::json{{"round", 1}}).status().code(),
            StatusCode::kDataLoss);
  // A record of an earlier version, without the participation counts, still reads.
  nlohmann::json earlier = RoundRecordJson(r);
  earlier.erase("connected");
  earlier.erase("asked");
  earlier.erase("dropped_by_reason");
  earlier.erase("auc_bound");
  earlier.erase("calibration_error");
  RoundRecord old = RoundRecordFromJson(earlier).value();
  EXPECT_FALSE(old.auc_bound.has_value());
  EXPECT_EQ(old.asked, 0u);
  EXPECT_TRUE(old.dropped_by_reason.empty());
}

}  // namespace
}  // namespace cartable::coordinator
