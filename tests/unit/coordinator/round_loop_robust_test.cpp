// Plain runs with a robust strategy: the round loop hands each node's own update to median,
// trimmed mean and Krum, and one node sending an extreme update that the contribution layout still
// allows moves FedAvg's model but not theirs.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "coordinator/round_loop.h"
#include "loop_messages.h"

namespace cartable::coordinator {
namespace {

using ::testing::HasSubstr;

constexpr size_t kDimension = 9;      // pfa over 2 skills
constexpr double kWeightCap = 10000;  // the default: a node of kWeightCap examples has weight 1

RunConfig PlainRun(const std::string& strategy, size_t nodes) {
  RunConfig config;
  config.run_id = 42;
  config.rounds = 2;
  config.expected_nodes = nodes;
  config.min_nodes = nodes;
  config.max_attempts = 1;
  config.model.num_skills = 2;
  config.secagg.enabled = false;
  config.strategy = strategy;
  return config;
}

const char* const kPeers[] = {"a", "b", "c", "d", "e"};

// The honest nodes' deltas, then one at the range's edge (±4): exact in binary, as are their
// weights (1), so every result below is exact.
const float kDeltas[] = {0.125f, 0.25f, 0.375f, 0.5f, 4.0f};

class RobustRoundTest : public ::testing::Test {
 protected:
  // Plays round 1's training among the first config.min_nodes peers (cohort order: by name);
  // returns the model's change, the same in every coordinate.
  double PlayTraining(const RunConfig& config) {
    auto loop = RoundLoop::Create(config, clock_);
    EXPECT_TRUE(loop.ok()) << loop.status();
    loop_ = std::move(loop).value();
    const std::vector<float> before = loop_->global_model();
    const size_t nodes = config.min_nodes;
    for (size_t i = 0; i < nodes; ++i)
      loop_->OnMessage(kPeers[i], HelloFrom(std::string("school-") + kPeers[i]));
    for (size_t i = 0; i < nodes; ++i) {
      loop_->OnMessage(
          kPeers[i],
          protocol::Envelope{42, 1, PackedUpdate(kDimension, kDeltas[i], kWeightCap, 0.5)});
    }
    const std::vector<float>& after = loop_->global_model();
    for (size_t j = 1; j < after.size(); ++j)
      EXPECT_EQ(after[j] - before[j], after[0] - before[0]) << j;
    return static_cast<double>(after[0]) - before[0];
  }
  double PlayTraining(const std::string& strategy, size_t nodes) {
    return PlayTraining(PlainRun(strategy, nodes));
  }

  ManualClock clock_;
  std::unique_ptr<RoundLoop> loop_;
};

TEST_F(RobustRoundTest, AnOutlierDragsFedAvgButNotTheRobustStrategies) {
  // (0.125 + 0.25 + 0.375 + 0.5 + 4) / 5.
  EXPECT_NEAR(PlayTraining("fedavg", 5), 1.05, 1e-6);
  EXPECT_EQ(loop_->records().size(), 0u);  // evaluation under way
  EXPECT_FALSE(loop_->done());
  // The middle value.
  EXPECT_EQ(PlayTraining("median", 5), 0.375);
  // β = 0.2 of 5 drops 0.125 and 4: (0.25 + 0.375 + 0.5) / 3.
  RunConfig trimmed = PlainRun("trimmed_mean", 5);
  trimmed.strategy_options = {{"trim_fraction", 0.2}};
  EXPECT_EQ(PlayTraining(trimmed), 0.375);
  // Krum, f = 1: 0.25 and 0.375 both score 0.03125 (two neighbours 0.125 away); the tie goes to
  // school-b, the earlier in cohort order.
  EXPECT_EQ(PlayTraining("krum", 5), 0.25);
  EXPECT_FALSE(loop_->done()) << loop_->outcome();
}

TEST_F(RobustRoundTest, KrumAmongTooFewUpdatesFailsTheAttemptNamingNAndF) {
  // min 4 lets a round run with 4 updates; Krum with f = 1 needs 5.
  PlayTraining("krum", 4);
  ASSERT_TRUE(loop_->done());
  EXPECT_EQ(loop_->outcome().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(loop_->outcome().message(), HasSubstr("round 1"));
  EXPECT_THAT(loop_->outcome().message(), HasSubstr("f = 1"));
  EXPECT_THAT(loop_->outcome().message(), HasSubstr("n = 4"));
}

TEST_F(RobustRoundTest, ARobustStrategyUnderSecureAggregationIsRefused) {
  RunConfig config = PlainRun("median", 5);
  config.secagg.enabled = true;
  auto loop = RoundLoop::Create(config, clock_);
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(loop.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(loop.status().message(), HasSubstr("secure aggregation"));
}

TEST_F(RobustRoundTest, ResumesFromACheckpointWithNoStrategyState) {
  PlayTraining("median", 5);
  const RunConfig config = PlainRun("median", 5);
  Checkpoint checkpoint{1, 1, loop_->global_model(), {}};
  RoundRecord record;
  record.round = 1;
  auto resumed = RoundLoop::Resume(config, clock_, checkpoint, {record});
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ((*resumed)->global_model(), loop_->global_model());
  Checkpoint stateful = checkpoint;
  stateful.strategy_state = std::vector<double>(kDimension, 0.0);
  EXPECT_EQ(RoundLoop::Resume(config, clock_, stateful, {record}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cartable::coordinator
