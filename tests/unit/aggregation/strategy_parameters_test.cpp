// CreateStrategy from a plan's StrategyParameters, the catalog behind --help, and which strategies
// secure aggregation rules out.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "aggregation/strategies/strategy.h"
#include "update_sums.h"

using ::cartable::StatusCode;
using ::cartable::aggregation::CreateStrategy;
using ::cartable::aggregation::KnownStrategies;
using ::cartable::aggregation::NeedsIndividualUpdates;
using ::cartable::aggregation::ProximalMuOf;
using ::cartable::aggregation::StrategyOptionsOf;
using ::cartable::aggregation::StrategyParameters;
using ::cartable::aggregation::testing::SumWithMean;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(StrategyParametersTest, EveryKnownStrategyIsCreatedUnderItsName) {
  std::vector<std::string> names;
  for (const auto& [name, description] : KnownStrategies()) {
    names.push_back(name);
    EXPECT_FALSE(description.empty()) << name;
    auto strategy = CreateStrategy(StrategyParameters{name, {}});
    ASSERT_TRUE(strategy.ok()) << strategy.status();
    EXPECT_EQ((*strategy)->name(), name);
  }
  EXPECT_THAT(names, ElementsAre("fedavg", "fedprox", "fedavgm", "fedadagrad", "fedadam", "fedyogi",
                                 "median", "trimmed_mean", "krum"));
}

TEST(StrategyParametersTest, UnknownNameListsTheKnownOnes) {
  auto strategy = CreateStrategy(StrategyParameters{"bulyan", {}});
  ASSERT_FALSE(strategy.ok());
  EXPECT_EQ(strategy.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(strategy.status().message(),
              HasSubstr("'bulyan' (known: fedavg, fedprox, fedavgm, fedadagrad, fedadam, fedyogi, "
                        "median, trimmed_mean, krum)"));
}

TEST(StrategyParametersTest, UnknownOptionNamesItAndTheOptionsTaken) {
  const struct {
    const char* strategy;
    const char* option;
    const char* taken;
  } cases[] = {
      {"fedavg", "momentum", "(its options: server_learning_rate)"},
      {"fedavgm", "beta1", "(its options: momentum, server_learning_rate)"},
      {"fedadagrad", "beta2", "(its options: beta1, server_learning_rate, tau)"},
      {"fedadam", "learning_rate", "(its options: beta1, beta2, server_learning_rate, tau)"},
      {"median", "trim_fraction", "(its options: server_learning_rate)"},
      {"trimmed_mean", "byzantine", "(its options: server_learning_rate, trim_fraction)"},
      {"krum", "trim_fraction", "(its options: byzantine, selected, server_learning_rate)"},
  };
  for (const auto& c : cases) {
    auto strategy = CreateStrategy(StrategyParameters{c.strategy, {{c.option, 0.5}}});
    ASSERT_FALSE(strategy.ok()) << c.strategy << " " << c.option;
    EXPECT_EQ(strategy.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(strategy.status().message(),
                HasSubstr("'" + std::string(c.strategy) + "' has no option '" + c.option + "'"));
    EXPECT_THAT(strategy.status().message(), HasSubstr(c.taken));
  }
}

TEST(StrategyParametersTest, OutOfRangeNamesTheOptionTheValueAndTheRange) {
  const struct {
    const char* strategy;
    const char* option;
    double value;
    const char* expected;
  } cases[] = {
      {"fedavg", "server_learning_rate", 0,
       "server_learning_rate = 0 is out of range; allowed: (0, inf)"},
      {"fedavgm", "server_learning_rate", -1, "server_learning_rate = -1 is out of range"},
      {"fedadam", "server_learning_rate", kInf, "server_learning_rate = inf is out of range"},
      {"fedyogi", "server_learning_rate", kNan, "server_learning_rate = nan is out of range"},
      {"fedavgm", "momentum", 1, "momentum = 1 is out of range; allowed: [0, 1)"},
      {"fedavgm", "momentum", -0.1, "momentum = -0.1 is out of range; allowed: [0, 1)"},
      {"fedavgm", "momentum", kNan, "momentum = nan is out of range"},
      {"fedadagrad", "beta1", 1, "beta1 = 1 is out of range; allowed: [0, 1)"},
      {"fedadam", "beta1", -0.5, "beta1 = -0.5 is out of range; allowed: [0, 1)"},
      {"fedadam", "beta2", 1.5, "beta2 = 1.5 is out of range; allowed: [0, 1)"},
      {"fedyogi", "beta2", 1, "beta2 = 1 is out of range; allowed: [0, 1)"},
      {"fedadagrad", "tau", 0, "tau = 0 is out of range; allowed: (0, inf)"},
      {"fedadam", "tau", -0.001, "tau = -0.001 is out of range; allowed: (0, inf)"},
      {"fedyogi", "tau", kInf, "tau = inf is out of range; allowed: (0, inf)"},
      {"median", "server_learning_rate", 0, "server_learning_rate = 0 is out of range"},
      {"trimmed_mean", "trim_fraction", 0.5,
       "trim_fraction = 0.5 is out of range; allowed: [0, 0.5)"},
      {"trimmed_mean", "trim_fraction", kNan, "trim_fraction = nan is out of range"},
      {"krum", "byzantine", -1,
       "byzantine = -1 is out of range; allowed: an integer in [0, 100000]"},
      {"krum", "byzantine", 1.5, "byzantine = 1.5 is out of range"},
      {"krum", "byzantine", kInf, "byzantine = inf is out of range"},
      {"krum", "selected", 0, "selected = 0 is out of range; allowed: an integer in [1, 100000]"},
      {"krum", "selected", kNan, "selected = nan is out of range"},
  };
  for (const auto& c : cases) {
    auto strategy = CreateStrategy(StrategyParameters{c.strategy, {{c.option, c.value}}});
    ASSERT_FALSE(strategy.ok()) << c.strategy << " " << c.option << " " << c.value;
    EXPECT_EQ(strategy.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(strategy.status().message(), HasSubstr("strategy '" + std::string(c.strategy)));
    EXPECT_THAT(strategy.status().message(), HasSubstr(c.expected));
  }
}

TEST(StrategyParametersTest, RangeEdgesThatAreAllowed) {
  EXPECT_TRUE(CreateStrategy(StrategyParameters{"fedavgm", {{"momentum", 0}}}).ok());
  EXPECT_TRUE(CreateStrategy(StrategyParameters{"fedadam", {{"beta1", 0}, {"beta2", 0}}}).ok());
  EXPECT_TRUE(CreateStrategy(StrategyParameters{"fedyogi", {{"tau", 1e-300}}}).ok());
  EXPECT_TRUE(CreateStrategy(StrategyParameters{"trimmed_mean", {{"trim_fraction", 0}}}).ok());
  EXPECT_TRUE(CreateStrategy(StrategyParameters{"trimmed_mean", {{"trim_fraction", 0.49}}}).ok());
  EXPECT_TRUE(CreateStrategy(StrategyParameters{"krum", {{"byzantine", 0}}}).ok());
  EXPECT_TRUE(CreateStrategy(StrategyParameters{"krum", {{"selected", 100000}}}).ok());
}

TEST(StrategyParametersTest, OptionsReachTheMaths) {
  // η = 2, β = 0.5: m1 = (1), x1 = 0 + 2·1 = 2; m2 = 0.5·1 + 1 = 1.5, x2 = 2 + 2·1.5 = 5.
  auto fedavgm = CreateStrategy(
      StrategyParameters{"fedavgm", {{"server_learning_rate", 2}, {"momentum", 0.5}}});
  ASSERT_TRUE(fedavgm.ok()) << fedavgm.status();
  auto x1 = (*fedavgm)->NextModel(std::vector<float>{0}, SumWithMean({1}));
  ASSERT_TRUE(x1.ok());
  EXPECT_THAT(*x1, ElementsAre(2.0f));
  auto x2 = (*fedavgm)->NextModel(*x1, SumWithMean({1}));
  ASSERT_TRUE(x2.ok());
  EXPECT_THAT(*x2, ElementsAre(5.0f));

  // FedAvg with η = 0.5: x1 = 10 + 0.5·3 = 11.5.
  auto fedavg = CreateStrategy(StrategyParameters{"fedavg", {{"server_learning_rate", 0.5}}});
  ASSERT_TRUE(fedavg.ok());
  auto next = (*fedavg)->NextModel(std::vector<float>{10}, SumWithMean({3}));
  ASSERT_TRUE(next.ok());
  EXPECT_THAT(*next, ElementsAre(11.5f));
}

TEST(StrategyParametersTest, OptionsOfEachStrategyWithDefaults) {
  auto adam = StrategyOptionsOf("fedadam");
  ASSERT_TRUE(adam.ok()) << adam.status();
  ASSERT_EQ(adam->size(), 4u);
  const std::vector<std::pair<std::string, double>> expected = {
      {"beta1", 0.9}, {"beta2", 0.99}, {"server_learning_rate", 0.01}, {"tau", 1e-3}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ((*adam)[i].name, expected[i].first);
    EXPECT_EQ((*adam)[i].default_value, expected[i].second);
    EXPECT_FALSE((*adam)[i].meaning.empty());
  }
  EXPECT_EQ((*adam)[3].range, "(0, inf)");

  auto fedavgm = StrategyOptionsOf("fedavgm");
  ASSERT_TRUE(fedavgm.ok());
  ASSERT_EQ(fedavgm->size(), 2u);
  EXPECT_EQ((*fedavgm)[0].name, "momentum");
  EXPECT_EQ((*fedavgm)[0].default_value, 0.9);
  EXPECT_EQ((*fedavgm)[0].range, "[0, 1)");
  EXPECT_EQ((*fedavgm)[1].default_value, 1.0);

  auto adagrad = StrategyOptionsOf("fedadagrad");
  ASSERT_TRUE(adagrad.ok());
  EXPECT_EQ(adagrad->size(), 3u);  // no beta2

  auto krum = StrategyOptionsOf("krum");
  ASSERT_TRUE(krum.ok());
  ASSERT_EQ(krum->size(), 3u);
  EXPECT_EQ((*krum)[0].name, "byzantine");
  EXPECT_EQ((*krum)[0].default_value, 1);
  EXPECT_EQ((*krum)[1].name, "selected");
  EXPECT_EQ((*krum)[1].default_value, 1);
  EXPECT_EQ((*krum)[2].default_value, 1.0);  // server_learning_rate, as FedAvg's
  auto trimmed = StrategyOptionsOf("trimmed_mean");
  ASSERT_TRUE(trimmed.ok());
  ASSERT_EQ(trimmed->size(), 2u);
  EXPECT_EQ((*trimmed)[1].name, "trim_fraction");
  EXPECT_EQ((*trimmed)[1].range, "[0, 0.5)");

  auto unknown = StrategyOptionsOf("bulyan");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown strategy 'bulyan'"));
}

// FedProx is FedAvg at the coordinator; its μ travels to the nodes (TrainRequest::proximal_mu).
TEST(StrategyParametersTest, FedProxCarriesMuForTheNodesAndAveragesLikeFedAvg) {
  auto defaults = ProximalMuOf(StrategyParameters{"fedprox", {}});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_DOUBLE_EQ(*defaults, 0.01);
  EXPECT_DOUBLE_EQ(ProximalMuOf(StrategyParameters{"fedprox", {{"proximal_mu", 0.5}}}).value(),
                   0.5);
  EXPECT_DOUBLE_EQ(ProximalMuOf(StrategyParameters{"fedadam", {}}).value(), 0.0);
  auto negative = ProximalMuOf(StrategyParameters{"fedprox", {{"proximal_mu", -1}}});
  ASSERT_FALSE(negative.ok());
  EXPECT_THAT(negative.status().message(), HasSubstr("proximal_mu"));
  EXPECT_FALSE(ProximalMuOf(StrategyParameters{"fedprox", {{"proximal_mu", kInf}}}).ok());

  // Global (1, 2), two nodes of weights 1 and 3 moving by (4, 0) and (0, 4): the mean delta is
  // (1, 3), scaled by the server learning rate 0.5.
  auto fedprox = CreateStrategy(
      StrategyParameters{"fedprox", {{"proximal_mu", 0.1}, {"server_learning_rate", 0.5}}});
  ASSERT_TRUE(fedprox.ok()) << fedprox.status();
  EXPECT_EQ((*fedprox)->name(), "fedprox");
  ::cartable::aggregation::UpdateSum sum;
  sum.weighted_delta = Eigen::Vector2d(4, 12);
  sum.total_weight = 4;
  sum.contributors = 2;
  const std::vector<float> global = {1, 2};
  auto next = (*fedprox)->NextModel(global, sum);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_THAT(*next, ElementsAre(1.5f, 3.5f));
}

TEST(StrategyParametersTest, RobustAggregatorsNeedIndividualUpdates) {
  for (const char* name : {"median", "trimmed_mean", "krum"}) {
    EXPECT_TRUE(NeedsIndividualUpdates(name)) << name;
  }
  std::vector<std::string> robust;
  for (const auto& [name, description] : KnownStrategies()) {
    if (NeedsIndividualUpdates(name)) robust.push_back(name);
  }
  EXPECT_THAT(robust, ElementsAre("median", "trimmed_mean", "krum"));
  EXPECT_FALSE(NeedsIndividualUpdates("fedprox"));
}

}  // namespace
