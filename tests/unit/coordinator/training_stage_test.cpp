#include "coordinator/training_stage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "coordinator/run_config.h"

namespace cartable::coordinator {
namespace {

using ::testing::ElementsAre;

RunConfig FedProxRun() {
  RunConfig config;
  config.model.name = "pfa";
  config.model.num_skills = 3;
  config.strategy = "fedprox";
  config.strategy_options = {{"proximal_mu", 0.25}};
  config.contribution.value_range = 2;
  config.contribution.weight_cap = 100;
  config.contribution.max_norm = 1.5;
  config.plan_hash[0] = 0xab;
  config.plan_hash[31] = 0xcd;
  return config;
}

// Each node learns from the request what the plan asks of it: μ, the norm bound, the plan hash.
TEST(TrainRequestOfTest, CarriesTheStrategysMuTheContributionAndThePlanHash) {
  const RunConfig config = FedProxRun();
  auto request = TrainRequestOf(config, {1, 2, 3}, protocol::SecAggPlan{});
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->model.name, "pfa");
  EXPECT_THAT(request->global_parameters, ElementsAre(1, 2, 3));
  EXPECT_FLOAT_EQ(request->proximal_mu, 0.25f);
  EXPECT_EQ(request->contribution.value_range, 2);
  EXPECT_EQ(request->contribution.weight_cap, 100);
  EXPECT_EQ(request->contribution.max_norm, 1.5);
  EXPECT_EQ(request->plan_hash, config.plan_hash);
}

TEST(TrainRequestOfTest, AStrategyWithoutAProximalTermSendsMuZero) {
  RunConfig config = FedProxRun();
  config.strategy = "fedavg";
  config.strategy_options.clear();
  auto request = TrainRequestOf(config, {0}, protocol::SecAggPlan{});
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->proximal_mu, 0.0f);
}

TEST(TrainRequestOfTest, AStrategyCheckPlanWouldRefuseIsAnError) {
  RunConfig config = FedProxRun();
  config.strategy_options = {{"proximal_mu", -1}};
  EXPECT_FALSE(TrainRequestOf(config, {0}, protocol::SecAggPlan{}).ok());
}

}  // namespace
}  // namespace cartable::coordinator
