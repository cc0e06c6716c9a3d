// A plan's [privacy] table: DP-SGD per pupil at every node, sent with each training request,
// hashed only when on, explained with what the run costs each pupil.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "aggregation/privacy/rdp_accountant.h"
#include "coordinator/plan.h"
#include "coordinator/training_stage.h"
#include "exchange/pupil_dp_wire.h"

namespace cartable::coordinator {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr const char* kPlan = R"(
rounds = 5
[model]
name = "pfa"
[data]
skills = 20
[local_training]
epochs = 2
)";

Plan Parse(const std::string& toml) {
  auto plan = ParsePlan(toml, "plan.toml");
  EXPECT_TRUE(plan.ok()) << plan.status();
  return plan.ok() ? *plan : Plan{};
}

TEST(PlanPrivacyTest, IsOffByDefaultAndOffKeepsTheHashOfPlansWithoutIt) {
  const Plan plain = Parse(kPlan);
  EXPECT_EQ(plain.run.dp.enabled, 0);
  EXPECT_TRUE(RunPrivacy(plain.run).is_null());
  const std::string spelled =
      std::string(kPlan) + "[privacy]\npupil_dp = false\nnoise_multiplier = 3.0\n";
  EXPECT_EQ(PlanHash(Parse(spelled)), PlanHash(plain));
  EXPECT_EQ(CanonicalPlan(plain).find("privacy"), std::string::npos);
}

TEST(PlanPrivacyTest, ReadsEachParameterAndHashesThem) {
  const std::string on = std::string(kPlan) +
                         "[privacy]\npupil_dp = true\nnoise_multiplier = 1.5\nclip_norm = 0.5\n"
                         "sampling_rate = 0.05\ndelta = 1e-6\n";
  const Plan plan = Parse(on);
  EXPECT_EQ(plan.run.dp.enabled, 1);
  EXPECT_EQ(plan.run.dp.noise_multiplier, 1.5);
  EXPECT_EQ(plan.run.dp.clip_norm, 0.5);
  EXPECT_EQ(plan.run.dp.sampling_rate, 0.05);
  EXPECT_EQ(plan.run.dp.delta, 1e-6);
  EXPECT_EQ(plan.run.dp.rounds, 5U);
  EXPECT_NE(PlanHash(plan), PlanHash(Parse(kPlan)));
  const auto changed = [&](const std::string& from, const std::string& to) {
    std::string text = on;
    text.replace(text.find(from), from.size(), to);
    return PlanHash(Parse(text));
  };
  EXPECT_NE(changed("noise_multiplier = 1.5", "noise_multiplier = 1.6"), PlanHash(plan));
  EXPECT_NE(changed("clip_norm = 0.5", "clip_norm = 0.6"), PlanHash(plan));
  EXPECT_NE(changed("sampling_rate = 0.05", "sampling_rate = 0.06"), PlanHash(plan));
  EXPECT_NE(changed("delta = 1e-6", "delta = 1e-7"), PlanHash(plan));

  // The nodes receive them with each training request.
  auto request = TrainRequestOf(plan.run, {0.5F}, {});
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->dp.enabled, 1);
  EXPECT_EQ(request->dp.noise_multiplier, 1.5);
  EXPECT_EQ(request->dp.rounds, 5U);
}

TEST(PlanPrivacyTest, ExplainsWhatTheRunCostsEachPupil) {
  const Plan plan = Parse(std::string(kPlan) + "[privacy]\npupil_dp = true\nsampling_rate = 0.1\n");
  // 5 rounds × ceil(2 epochs / 0.1) = 100 steps.
  EXPECT_EQ(exchange::RunSteps(plan.run.dp, 2), 100U);
  auto cost = exchange::RunEpsilon(plan.run.dp, 2);
  ASSERT_TRUE(cost.ok()) << cost.status();
  const nlohmann::json privacy = RunPrivacy(plan.run);
  EXPECT_EQ(privacy["steps"], 100);
  EXPECT_EQ(privacy["epsilon"], cost->epsilon);
  EXPECT_EQ(privacy["delta"], 1e-5);
  EXPECT_THAT(ExplainPlan(plan), AllOf(HasSubstr("differential privacy per pupil (DP-SGD)"),
                                       HasSubstr("probability 0.1"), HasSubstr("after 100 steps"),
                                       HasSubstr("at δ = 1e-05")));
}

TEST(PlanPrivacyTest, RefusesParametersOutOfRangeNamingTheKey) {
  for (const auto& [line, key] : std::vector<std::pair<std::string, std::string>>{
           {"noise_multiplier = 0.01", "noise_multiplier"},
           {"clip_norm = 0", "clip_norm"},
           {"sampling_rate = 1.5", "sampling_rate"},
           {"delta = 0.5", "delta"},
           {"pupil_dp = 1", "pupil_dp"},
           {"epsilon = 2", "epsilon"}}) {
    const std::string on = line.starts_with("pupil_dp") ? "" : "pupil_dp = true\n";
    auto plan = ParsePlan(std::string(kPlan) + "[privacy]\n" + on + line + "\n", "plan.toml");
    ASSERT_FALSE(plan.ok()) << line;
    EXPECT_THAT(plan.status().message(), AllOf(HasSubstr("plan.toml"), HasSubstr(key)));
  }
}

constexpr const char* kEstablishmentDp = R"(
[contribution]
value_range = 1
weight_cap = 1
max_norm = 1
[privacy]
establishment_dp = true
establishment_noise_multiplier = 1.2
min_contributors = 3
)";

TEST(PlanPrivacyTest, EstablishmentDpIsReadHashedSentAndExplained) {
  const Plan plan = Parse(std::string(kPlan) + kEstablishmentDp);
  const protocol::WireEstablishmentDp& edp = plan.run.establishment_dp;
  EXPECT_EQ(edp.enabled, 1);
  EXPECT_EQ(edp.noise_multiplier, 1.2);
  EXPECT_EQ(edp.min_contributors, 3U);
  EXPECT_EQ(edp.delta, 1e-5);
  EXPECT_EQ(edp.rounds, 5U);
  EXPECT_EQ(plan.run.dp.enabled, 0);
  EXPECT_TRUE(CheckPlan(plan).ok()) << CheckPlan(plan);
  std::string other = std::string(kPlan) + kEstablishmentDp;
  other.replace(other.find("= 1.2"), 5, "= 1.3");
  EXPECT_NE(PlanHash(Parse(other)), PlanHash(plan));
  // Off: the hash of the plan without the table, whatever else the table says.
  std::string off = std::string(kPlan) + kEstablishmentDp;
  off.replace(off.find("establishment_dp = true"), 23, "establishment_dp = false");
  std::string bare = std::string(kPlan) + kEstablishmentDp;
  bare.erase(bare.find("[privacy]"));
  EXPECT_EQ(PlanHash(Parse(off)), PlanHash(Parse(bare)));

  auto request = TrainRequestOf(plan.run, {0.5F}, {});
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->establishment_dp.enabled, 1);
  EXPECT_EQ(request->establishment_dp.min_contributors, 3U);

  // Δ = √(1² + 1 + 1²); with fine steps the run costs what 5 Gaussian rounds of z = 1.2 cost.
  const nlohmann::json privacy = RunEstablishmentPrivacy(plan.run);
  EXPECT_NEAR(privacy["sensitivity"].get<double>(), std::sqrt(3.0), 1e-12);
  auto gaussian = aggregation::privacy::DpSgdEpsilon(1, 1.2, 5, 1e-5);
  ASSERT_TRUE(gaussian.ok());
  EXPECT_NEAR(privacy["epsilon"].get<double>(), gaussian->epsilon, 0.01 * gaussian->epsilon);
  EXPECT_THAT(ExplainPlan(plan),
              AllOf(HasSubstr("establishment-level DP"), HasSubstr("at least 3 establishments"),
                    HasSubstr("costs each establishment ε = "), HasSubstr("never unmasked")));
  EXPECT_TRUE(RunEstablishmentPrivacy(Parse(kPlan).run).is_null());
}

TEST(PlanPrivacyTest, EstablishmentDpRefusesPlansItCannotProtectNamingTheKey) {
  const auto refusal = [](const std::string& from, const std::string& to) {
    std::string text = std::string(kPlan) + kEstablishmentDp;
    text.replace(text.find(from), from.size(), to);
    auto plan = ParsePlan(text, "plan.toml");
    if (!plan.ok()) return std::string(plan.status().message());
    const Status checked = CheckPlan(*plan);
    return checked.ok() ? std::string("accepted") : std::string(checked.message());
  };
  EXPECT_THAT(refusal("max_norm = 1", "max_norm = 0"), HasSubstr("[contribution] max_norm"));
  EXPECT_THAT(refusal("weight_cap = 1", "weight_cap = 100"),
              HasSubstr("[contribution] weight_cap = 1"));
  EXPECT_THAT(refusal("[privacy]", "[secure_aggregation]\nenabled = false\n[privacy]"),
              HasSubstr("[secure_aggregation] enabled"));
  EXPECT_THAT(refusal("min_contributors = 3", "min_contributors = 1"),
              AllOf(HasSubstr("plan.toml"), HasSubstr("min_contributors")));
  EXPECT_THAT(refusal("= 1.2", "= 0.01"), HasSubstr("establishment_noise_multiplier"));
  EXPECT_EQ(refusal("[model]", "[nodes]\nexpected = 4\n[model]"), "accepted");
  EXPECT_THAT(refusal("min_contributors = 3", "min_contributors = 9"),
              HasSubstr("above the 3 nodes"));  // a plan expects 3 nodes by default
  EXPECT_THAT(refusal("min_contributors = 3", "min_contributors = 9\n[nodes]\nexpected = 4"),
              HasSubstr("above the 4 nodes"));
}

// docs/examples/plans: each parses; the DP ones say, to three figures, what privacy.md quotes.
TEST(PlanPrivacyTest, TheExamplePlansOfTheDocsAreValid) {
  int plans = 0;
  for (const auto& entry : std::filesystem::directory_iterator(CARTABLE_EXAMPLE_PLANS)) {
    std::ifstream in(entry.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto plan = ParsePlan(text, entry.path().string());
    ASSERT_TRUE(plan.ok()) << plan.status();
    ++plans;
    if (entry.path().filename() == "dkt-fedavg-dp.toml") {
      EXPECT_THAT(ExplainPlan(*plan), HasSubstr("after 200 steps the run costs each pupil ε = 4.44 "
                                                "at δ = 1e-05"));
    }
    if (entry.path().filename() == "pfa-fedavg-school-dp.toml") {
      EXPECT_THAT(ExplainPlan(*plan),
                  AllOf(HasSubstr("after 10 round(s) the run costs each establishment ε = 8.08 at "
                                  "δ = 1e-05"),
                        HasSubstr("after 200 steps the run costs each pupil ε = 5.37")));
    }
  }
  EXPECT_GE(plans, 5);
}

}  // namespace
}  // namespace cartable::coordinator
