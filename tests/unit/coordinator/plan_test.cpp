// A plan file parses into the settings it says, with the documented defaults for what it leaves
// out, and its hash depends on what it says, never on how it is written. Refused plans:
// plan_refusal_test.cpp.

#include "coordinator/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "aggregation/secagg/digest.h"

namespace cartable::coordinator {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr const char* kMinimalPlan = R"(
[model]
name = "pfa"

[data]
skills = 20
)";

// kMinimalPlan with every default spelled out.
constexpr const char* kMinimalPlanSpelledOut = R"(
name = ""
description = ""
rounds = 10

[model]
name = "pfa"
options = {}

[data]
skills = 20
items = 0
features = 0

[nodes]
min = 3
expected = 3
fraction = 1.0

[local_training]
epochs = 1
batch_size = 64
learning_rate = 0.05
seed = 1

[strategy]
name = "fedavg"
server_learning_rate = 1.0

[secure_aggregation]
enabled = true
neighbours = "auto"
modulus_bits = 32
tolerate_corrupt = 0.05
tolerate_dropout = 0.1

[contribution]
value_range = 4.0
weight_cap = 10000

[deadlines]
join_seconds = 300
round_seconds = 120
attempts = 3
)";

// Every key set to something other than its default.
constexpr const char* kFullPlan = R"(
name = "full"
description = "Every key of a plan, none at its default."
rounds = 25

[model]
name = "dkt"

[model.options]
cell = "gru"
hidden_size = 32
layers = 2
dropout = 0.25
max_length = 100

[data]
skills = 30
items = 500
features = 7

[nodes]
min = 4
expected = 8
fraction = 0.5

[local_training]
epochs = 2
batch_size = 32
learning_rate = 0.01
seed = 42

[strategy]
name = "fedadam"
server_learning_rate = 0.02
beta1 = 0.8
beta2 = 0.95
tau = 0.0001

[secure_aggregation]
enabled = true
neighbours = "full"
modulus_bits = 40
tolerate_corrupt = 0.1
tolerate_dropout = 0.2

[contribution]
value_range = 2.5
weight_cap = 500
max_norm = 3

[deadlines]
join_seconds = 600
round_seconds = 90
attempts = 5
)";

// kFullPlan with its tables and keys in another order, comments, inline tables and other
// spellings of the same numbers.
constexpr const char* kFullPlanReordered = R"(
# The same plan, written otherwise.
rounds = 25
description = "Every key of a plan, none at its default."
name = 'full'

[deadlines]
attempts = 5
round_seconds = 90
join_seconds = 600

[strategy]
tau = 1e-4
beta2 = 0.95
beta1 = 0.8
server_learning_rate = 2e-2
name = "fedadam"

[secure_aggregation]
tolerate_dropout = 0.2
tolerate_corrupt = 0.1
modulus_bits = 40
neighbours = "full"
enabled = true

[contribution]
max_norm = 3.0
weight_cap = 500.0
value_range = 2.5

[data]
features = 7
items = 500
skills = 30

[model]
options = { max_length = 100, dropout = 0.25, layers = 2, hidden_size = 32, cell = "gru" }
name = "dkt"

[nodes]
fraction = 0.5
expected = 8
min = 4

[local_training]
seed = 42
learning_rate = 1e-2
batch_size = 32
epochs = 2
)";

Plan ParseOk(const std::string& toml) {
  auto plan = ParsePlan(toml, "plan.toml");
  EXPECT_TRUE(plan.ok()) << plan.status();
  return plan.ok() ? std::move(plan).value() : Plan{};
}

std::string HashOf(const std::string& toml) { return PlanHash(ParseOk(toml)); }

// `plan` with the first occurrence of `from` replaced by `to`.
std::string Replace(std::string plan, const std::string& from, const std::string& to) {
  const size_t at = plan.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) plan.replace(at, from.size(), to);
  return plan;
}

TEST(PlanTest, AMinimalPlanTakesTheDocumentedDefaults) {
  const Plan plan = ParseOk(kMinimalPlan);
  const RunConfig& run = plan.run;
  EXPECT_EQ(plan.name, "");
  EXPECT_EQ(plan.description, "");
  EXPECT_EQ(run.rounds, 10u);
  EXPECT_EQ(run.model.name, "pfa");
  EXPECT_TRUE(run.model.options.empty());
  EXPECT_EQ(run.model.num_skills, 20u);
  EXPECT_EQ(run.model.num_items, 0u);
  EXPECT_EQ(run.model.num_features, 0u);
  EXPECT_EQ(run.min_nodes, 3u);
  EXPECT_EQ(run.expected_nodes, 3u);
  EXPECT_EQ(run.fraction, 1.0);
  EXPECT_EQ(run.train.local_epochs, 1u);
  EXPECT_EQ(run.train.batch_size, 64u);
  EXPECT_EQ(run.train.learning_rate, 0.05f);
  EXPECT_EQ(run.train.seed, 1u);
  EXPECT_EQ(run.strategy, "fedavg");
  EXPECT_TRUE(run.strategy_options.empty());
  EXPECT_TRUE(run.secagg.enabled);
  EXPECT_EQ(run.secagg.neighbours, -1);
  EXPECT_EQ(run.secagg.modulus_bits, 32);
  EXPECT_EQ(run.secagg.tolerate_corrupt, 0.05);
  EXPECT_EQ(run.secagg.tolerate_dropout, 0.1);
  EXPECT_EQ(run.contribution.value_range, 4.0);
  EXPECT_EQ(run.contribution.weight_cap, 10000.0);
  EXPECT_EQ(run.contribution.max_norm, 0.0);
  EXPECT_EQ(run.join_timeout, std::chrono::seconds(300));
  EXPECT_EQ(run.round_timeout, std::chrono::seconds(120));
  EXPECT_EQ(run.max_attempts, 3);
}

TEST(PlanTest, AFullPlanSetsEveryField) {
  const Plan plan = ParseOk(kFullPlan);
  const RunConfig& run = plan.run;
  EXPECT_EQ(plan.name, "full");
  EXPECT_EQ(plan.description, "Every key of a plan, none at its default.");
  EXPECT_EQ(run.rounds, 25u);
  EXPECT_EQ(run.model.name, "dkt");
  EXPECT_EQ(run.model.options, (std::map<std::string, std::string>{{"cell", "gru"},
                                                                   {"dropout", "0.25"},
                                                                   {"hidden_size", "32"},
                                                                   {"layers", "2"},
                                                                   {"max_length", "100"}}));
  EXPECT_EQ(run.model.num_skills, 30u);
  EXPECT_EQ(run.model.num_items, 500u);
  EXPECT_EQ(run.model.num_features, 7u);
  EXPECT_EQ(run.min_nodes, 4u);
  EXPECT_EQ(run.expected_nodes, 8u);
  EXPECT_EQ(run.fraction, 0.5);
  EXPECT_EQ(run.train.local_epochs, 2u);
  EXPECT_EQ(run.train.batch_size, 32u);
  EXPECT_EQ(run.train.learning_rate, 0.01f);
  EXPECT_EQ(run.train.seed, 42u);
  EXPECT_EQ(run.strategy, "fedadam");
  EXPECT_EQ(run.strategy_options,
            (std::map<std::string, double>{
                {"beta1", 0.8}, {"beta2", 0.95}, {"server_learning_rate", 0.02}, {"tau", 0.0001}}));
  EXPECT_TRUE(run.secagg.enabled);
  EXPECT_EQ(run.secagg.neighbours, 0);
  EXPECT_EQ(run.secagg.modulus_bits, 40);
  EXPECT_EQ(run.secagg.tolerate_corrupt, 0.1);
  EXPECT_EQ(run.secagg.tolerate_dropout, 0.2);
  EXPECT_EQ(run.contribution.value_range, 2.5);
  EXPECT_EQ(run.contribution.weight_cap, 500.0);
  EXPECT_EQ(run.contribution.max_norm, 3.0);
  EXPECT_EQ(run.join_timeout, std::chrono::seconds(600));
  EXPECT_EQ(run.round_timeout, std::chrono::seconds(90));
  EXPECT_EQ(run.max_attempts, 5);
  EXPECT_TRUE(CheckPlan(plan).ok()) << CheckPlan(plan);
}

TEST(PlanTest, AnEvenNeighbourCountAndSecureAggregationOffAreRead) {
  const Plan even = ParseOk(std::string(kMinimalPlan) + "[secure_aggregation]\nneighbours = 2\n");
  EXPECT_EQ(even.run.secagg.neighbours, 2);
  const Plan off = ParseOk(std::string(kMinimalPlan) +
                           "[nodes]\nmin = 2\nexpected = 2\n"
                           "[secure_aggregation]\nenabled = false\n");
  EXPECT_FALSE(off.run.secagg.enabled);
  EXPECT_EQ(off.run.min_nodes, 2u);  // only a secure round needs 3
}

TEST(PlanTest, SpellingOutDefaultsKeepsTheHash) {
  EXPECT_EQ(HashOf(kMinimalPlanSpelledOut), HashOf(kMinimalPlan));
}

TEST(PlanTest, SpellingOutAStrategysDefaultOptionsKeepsTheHash) {
  const std::string adam = std::string(kMinimalPlan) + "[strategy]\nname = \"fedadam\"\n";
  EXPECT_EQ(HashOf(adam + "beta1 = 0.9\nbeta2 = 0.99\nserver_learning_rate = 0.01\ntau = 0.001\n"),
            HashOf(adam));
  EXPECT_EQ(HashOf(adam + "beta2 = 0.99\n"), HashOf(adam));
}

TEST(PlanTest, ReorderingKeysAndTablesKeepsTheHash) {
  EXPECT_EQ(HashOf(kFullPlanReordered), HashOf(kFullPlan));
  EXPECT_EQ(CanonicalPlan(ParseOk(kFullPlanReordered)), CanonicalPlan(ParseOk(kFullPlan)));
}

TEST(PlanTest, ChangingAnyOneSettingChangesTheHash) {
  const std::vector<std::pair<std::string, std::string>> changes = {
      {"name = \"full\"", "name = \"fuller\""},
      {"description = \"Every", "description = \"Each"},
      {"rounds = 25", "rounds = 26"},
      {"hidden_size = 32", "hidden_size = 33"},
      {"cell = \"gru\"", "cell = \"lstm\""},
      {"skills = 30", "skills = 31"},
      {"items = 500", "items = 501"},
      {"features = 7", "features = 8"},
      {"min = 4", "min = 5"},
      {"expected = 8", "expected = 9"},
      {"fraction = 0.5", "fraction = 0.6"},
      {"epochs = 2", "epochs = 3"},
      {"batch_size = 32", "batch_size = 33"},
      {"learning_rate = 0.01", "learning_rate = 0.011"},
      {"seed = 42", "seed = 43"},
      {"name = \"fedadam\"", "name = \"fedyogi\""},
      {"server_learning_rate = 0.02", "server_learning_rate = 0.03"},
      {"beta1 = 0.8", "beta1 = 0.81"},
      {"tau = 0.0001", "tau = 0.0002"},
      {"neighbours = \"full\"", "neighbours = \"auto\""},
      {"modulus_bits = 40", "modulus_bits = 41"},
      {"tolerate_corrupt = 0.1", "tolerate_corrupt = 0.11"},
      {"tolerate_dropout = 0.2", "tolerate_dropout = 0.21"},
      {"value_range = 2.5", "value_range = 2.6"},
      {"weight_cap = 500", "weight_cap = 501"},
      {"max_norm = 3", "max_norm = 4"},
      {"join_seconds = 600", "join_seconds = 601"},
      {"round_seconds = 90", "round_seconds = 91"},
      {"attempts = 5", "attempts = 6"},
  };
  std::set<std::string> hashes = {HashOf(kFullPlan)};
  for (const auto& [from, to] : changes) {
    SCOPED_TRACE(to);
    EXPECT_TRUE(hashes.insert(HashOf(Replace(kFullPlan, from, to))).second)
        << "the hash did not change";
  }
  // Secure aggregation off, and another model, change it too.
  const std::string plain = Replace(Replace(kFullPlan, "enabled = true", "enabled = false"),
                                    "neighbours = \"full\"\n", "");
  EXPECT_TRUE(hashes.insert(HashOf(plain)).second);
  EXPECT_TRUE(hashes.insert(HashOf(Replace(kMinimalPlan, "\"pfa\"", "\"irt1pl\""))).second);
  EXPECT_TRUE(hashes.insert(HashOf(kMinimalPlan)).second);
}

TEST(PlanTest, TheHashIsTheLowerCaseHexSha256OfTheCanonicalPlan) {
  for (const char* toml : {kMinimalPlan, kFullPlan}) {
    const Plan plan = ParseOk(toml);
    const std::string hash = PlanHash(plan);
    EXPECT_THAT(hash, MatchesRegex("[0-9a-f]{64}"));
    const std::string canonical = CanonicalPlan(plan);
    const aggregation::secagg::Sha256Digest digest = aggregation::secagg::Sha256(
        {reinterpret_cast<const uint8_t*>(canonical.data()), canonical.size()});
    std::string hex;
    for (uint8_t byte : digest) {
      hex += "0123456789abcdef"[byte >> 4];
      hex += "0123456789abcdef"[byte & 15];
    }
    EXPECT_EQ(hash, hex);
  }
}

TEST(PlanTest, TheCanonicalPlanIsCompactJsonWithSortedKeysAndEverySetting) {
  const std::string canonical = CanonicalPlan(ParseOk(kMinimalPlan));
  const nlohmann::json document = nlohmann::json::parse(canonical);
  EXPECT_EQ(document.dump(), canonical);  // nlohmann's objects sort their keys; dump() is compact
  EXPECT_EQ(canonical.find(' '), std::string::npos);
  EXPECT_EQ(document["cartable_plan"], 1);
  EXPECT_EQ(document["rounds"], 10);
  EXPECT_EQ(document["model"]["name"], "pfa");
  EXPECT_EQ(document["strategy"]["server_learning_rate"], 1.0);  // filled in from the strategy
  EXPECT_EQ(document["local_training"]["learning_rate"], 0.05);  // the float's shortest decimal
  EXPECT_EQ(document["secure_aggregation"]["neighbours"], -1);
  EXPECT_EQ(document["deadlines"]["join_seconds"], 300);
}

TEST(PlanTest, ExplainPlanNamesTheModelTheRoundsAndTheHash) {
  const Plan plan = ParseOk(kFullPlan);
  EXPECT_THAT(ExplainPlan(plan), AllOf(HasSubstr("'dkt'"), HasSubstr("25 round(s)"),
                                       HasSubstr("Plan hash: " + PlanHash(plan)),
                                       HasSubstr("'fedadam'"), HasSubstr("50%")));
  const Plan plain = ParseOk(std::string(kMinimalPlan) + "[secure_aggregation]\nenabled = false\n");
  EXPECT_THAT(ExplainPlan(plain), HasSubstr("Secure aggregation is OFF"));
}

TEST(PlanTest, APlanFileIsReadAndItsErrorsNameItsPath) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("cartable_plan_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(std::filesystem::create_directories(dir));
  const auto good = dir / "good.toml";
  const auto bad = dir / "bad.toml";
  std::ofstream(good) << kFullPlan;
  std::ofstream(bad) << kMinimalPlan << "[nodes]\nfraction = 2\n";
  auto read = ReadPlanFile(good);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(PlanHash(*read), HashOf(kFullPlan));
  auto refused = ReadPlanFile(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr(bad.string() + ":8: [nodes] fraction"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cartable::coordinator

namespace cartable::coordinator {
namespace {

// [evaluation]: the subgroups of the last round's evaluation, and the suppression threshold; the
// hash covers them, and a plan without them keeps the hash it always had.
TEST(PlanEvaluationTest, FairnessSubgroupsAreReadExplainedAndHashed) {
  const std::string with = std::string(kMinimalPlan) +
                           "[evaluation]\nmin_group_pupils = 20\n"
                           "[evaluation.fairness]\ngender = [\"F\", \"M\"]\n"
                           "age_band = [\"0-35\", \"35-55\", \"55<=\"]\n";
  const Plan plan = ParseOk(with);
  ASSERT_EQ(plan.run.fairness.size(), 2u);
  EXPECT_EQ(plan.run.min_group_pupils, 20u);
  std::set<std::string> names;
  for (const auto& a : plan.run.fairness) names.insert(a.name);
  EXPECT_EQ(names, (std::set<std::string>{"age_band", "gender"}));
  EXPECT_THAT(ExplainPlan(plan), HasSubstr("fewer than 20 pupils shows no figure"));
  EXPECT_NE(HashOf(with), HashOf(kMinimalPlan));
  EXPECT_NE(HashOf(with), HashOf(Replace(with, "min_group_pupils = 20", "min_group_pupils = 21")));
  EXPECT_EQ(CanonicalPlan(ParseOk(kMinimalPlan)).find("evaluation"), std::string::npos);
  for (const std::string& bad :
       {std::string(kMinimalPlan) + "[evaluation.fairness]\ngender = [\"F\", \"F\"]\n",
        std::string(kMinimalPlan) + "[evaluation.fairness]\ngender = []\n",
        std::string(kMinimalPlan) + "[evaluation]\nmin_group_pupils = 0\n",
        std::string(kMinimalPlan) + "[evaluation]\nfairnes = 1\n"}) {
    auto refused = ParsePlan(bad, "plan.toml");
    EXPECT_FALSE(refused.ok()) << bad;
    if (!refused.ok()) EXPECT_THAT(refused.status().message(), HasSubstr("evaluation")) << bad;
  }
}

}  // namespace
}  // namespace cartable::coordinator
