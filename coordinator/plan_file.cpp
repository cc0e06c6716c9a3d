// ParsePlan and ReadPlanFile: the TOML plan file (docs/plans.md) into a Plan.

#include <algorithm>

#include "coordinator/plan.h"
#include "core/config_file.h"

namespace cartable::coordinator {
namespace {

Status ReadModel(ConfigTable& root, Plan& plan) {
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable model, root.Table("model"));
  if (!model.Has("name"))
    return root.Error("model", "needs name = \"...\" (see cartable model list)");
  CARTABLE_ASSIGN_OR_RETURN(plan.run.model.name, model.String("name", ""));
  CARTABLE_ASSIGN_OR_RETURN(plan.run.model.options, model.ScalarsAsText("options"));
  CARTABLE_RETURN_IF_ERROR(model.Finish());

  CARTABLE_ASSIGN_OR_RETURN(ConfigTable data, root.Table("data"));
  CARTABLE_ASSIGN_OR_RETURN(int64_t skills, data.Integer("skills", 0, 0, 1 << 20));
  CARTABLE_ASSIGN_OR_RETURN(int64_t items, data.Integer("items", 0, 0, 1 << 24));
  CARTABLE_ASSIGN_OR_RETURN(int64_t features, data.Integer("features", 0, 0, 1 << 16));
  plan.run.model.num_skills = static_cast<uint32_t>(skills);
  plan.run.model.num_items = static_cast<uint32_t>(items);
  plan.run.model.num_features = static_cast<uint32_t>(features);
  return data.Finish();
}

Status ReadNodes(ConfigTable& root, RunConfig& run) {
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable nodes, root.Table("nodes"));
  CARTABLE_ASSIGN_OR_RETURN(int64_t min, nodes.Integer("min", 3, 1, 100000));
  // Absent, expected follows min: raising min alone asks for that many nodes.
  CARTABLE_ASSIGN_OR_RETURN(int64_t expected,
                            nodes.Integer("expected", std::max<int64_t>(min, 3), 0, 100000));
  CARTABLE_ASSIGN_OR_RETURN(run.fraction, nodes.Real("fraction", 1.0, 1e-6, 1.0));
  run.min_nodes = static_cast<size_t>(min);
  run.expected_nodes = static_cast<size_t>(expected);
  if (expected != 0 && expected < min) {
    return nodes.Error("expected", "is " + std::to_string(expected) + ", below min (" +
                                       std::to_string(min) +
                                       "); use 0 to wait for the join deadline");
  }
  return nodes.Finish();
}

Status ReadTraining(ConfigTable& root, RunConfig& run) {
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable training, root.Table("local_training"));
  CARTABLE_ASSIGN_OR_RETURN(int64_t epochs, training.Integer("epochs", 1, 1, 1000));
  CARTABLE_ASSIGN_OR_RETURN(int64_t batch, training.Integer("batch_size", 64, 1, 1 << 20));
  CARTABLE_ASSIGN_OR_RETURN(double rate, training.Real("learning_rate", 0.05, 1e-9, 100));
  CARTABLE_ASSIGN_OR_RETURN(int64_t seed, training.Integer("seed", 1, 0, INT64_MAX));
  run.train.local_epochs = static_cast<uint32_t>(epochs);
  run.train.batch_size = static_cast<uint32_t>(batch);
  run.train.learning_rate = static_cast<float>(rate);
  run.train.seed = static_cast<uint64_t>(seed);
  return training.Finish();
}

Status ReadStrategy(ConfigTable& root, RunConfig& run) {
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable strategy, root.Table("strategy"));
  CARTABLE_ASSIGN_OR_RETURN(run.strategy, strategy.String("name", "fedavg"));
  for (const std::string& key : strategy.Keys()) {
    if (key == "name") continue;
    CARTABLE_ASSIGN_OR_RETURN(run.strategy_options[key], strategy.Real(key, 0, -1e300, 1e300));
  }
  return strategy.Finish();
}

Status ReadSecureAggregation(ConfigTable& root, RunConfig& run) {
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable secagg, root.Table("secure_aggregation"));
  SecAggConfig& sa = run.secagg;
  CARTABLE_ASSIGN_OR_RETURN(sa.enabled, secagg.Bool("enabled", true));
  {
    auto word = secagg.String("neighbours", "auto");  // registers the key even when absent
    if (word.ok() && (*word == "auto" || *word == "full")) {
      sa.neighbours = *word == "auto" ? -1 : 0;
    } else {
      auto k = secagg.Integer("neighbours", -1, 2, 65534);
      if (!k.ok() || *k % 2 != 0) {
        return secagg.Error("neighbours", "expected \"auto\", \"full\" or an even number ≥ 2");
      }
      sa.neighbours = static_cast<int>(*k);
    }
  }
  CARTABLE_ASSIGN_OR_RETURN(int64_t bits, secagg.Integer("modulus_bits", 32, 8, 62));
  sa.modulus_bits = static_cast<int>(bits);
  CARTABLE_ASSIGN_OR_RETURN(sa.tolerate_corrupt, secagg.Real("tolerate_corrupt", 0.05, 0, 0.99));
  CARTABLE_ASSIGN_OR_RETURN(sa.tolerate_dropout, secagg.Real("tolerate_dropout", 0.1, 0, 0.99));
  CARTABLE_RETURN_IF_ERROR(secagg.Finish());

  CARTABLE_ASSIGN_OR_RETURN(ConfigTable contribution, root.Table("contribution"));
  CARTABLE_ASSIGN_OR_RETURN(run.contribution.value_range,
                            contribution.Real("value_range", 4.0, 1.0, 1e6));
  CARTABLE_ASSIGN_OR_RETURN(run.contribution.weight_cap,
                            contribution.Real("weight_cap", 10000, 1.0, 1e12));
  CARTABLE_ASSIGN_OR_RETURN(run.contribution.max_norm, contribution.Real("max_norm", 0, 0, 1e12));
  return contribution.Finish();
}

// [privacy]: DP-SGD per pupil at every node, and establishment-level DP under secure aggregation
// (docs/privacy.md).
Status ReadPrivacy(ConfigTable& root, RunConfig& run) {
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable privacy, root.Table("privacy"));
  CARTABLE_ASSIGN_OR_RETURN(bool enabled, privacy.Bool("pupil_dp", false));
  CARTABLE_ASSIGN_OR_RETURN(run.dp.noise_multiplier,
                            privacy.Real("noise_multiplier", 1.0, 0.1, 1000));
  CARTABLE_ASSIGN_OR_RETURN(run.dp.clip_norm, privacy.Real("clip_norm", 1.0, 1e-6, 1e6));
  CARTABLE_ASSIGN_OR_RETURN(run.dp.sampling_rate, privacy.Real("sampling_rate", 0.01, 1e-6, 1));
  CARTABLE_ASSIGN_OR_RETURN(run.dp.delta, privacy.Real("delta", 1e-5, 1e-12, 0.1));
  run.dp.enabled = enabled ? 1 : 0;
  run.dp.rounds = run.rounds;
  // Establishment-level DP: distributed discrete Gaussian noise under secure aggregation.
  protocol::WireEstablishmentDp& edp = run.establishment_dp;
  CARTABLE_ASSIGN_OR_RETURN(bool per_establishment, privacy.Bool("establishment_dp", false));
  CARTABLE_ASSIGN_OR_RETURN(edp.noise_multiplier,
                            privacy.Real("establishment_noise_multiplier", 1.0, 0.1, 1000));
  CARTABLE_ASSIGN_OR_RETURN(
      int64_t min_contributors,
      privacy.Integer("min_contributors", std::max<int64_t>(static_cast<int64_t>(run.min_nodes), 3),
                      2, 1000000));
  edp.min_contributors = static_cast<uint32_t>(min_contributors);
  edp.delta = run.dp.delta;
  edp.enabled = per_establishment ? 1 : 0;
  edp.rounds = run.rounds;
  if (!per_establishment) edp = protocol::WireEstablishmentDp{};
  if (!enabled) run.dp = protocol::WirePupilDp{};
  return privacy.Finish();
}

Status ReadDeadlines(ConfigTable& root, RunConfig& run) {
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable deadlines, root.Table("deadlines"));
  CARTABLE_ASSIGN_OR_RETURN(int64_t join,
                            deadlines.Integer("join_seconds", 300, 1, int64_t{86400} * 30));
  CARTABLE_ASSIGN_OR_RETURN(int64_t round, deadlines.Integer("round_seconds", 120, 1, 86400));
  CARTABLE_ASSIGN_OR_RETURN(int64_t attempts, deadlines.Integer("attempts", 3, 1, 100));
  run.join_timeout = std::chrono::seconds(join);
  run.round_timeout = std::chrono::seconds(round);
  run.max_attempts = static_cast<int>(attempts);
  return deadlines.Finish();
}

// [evaluation]: min_group_pupils, and [evaluation.fairness], each key an attribute listing the
// values whose subgroups the last round's evaluation reports.
Status ReadEvaluation(ConfigTable& root, RunConfig& run) {
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable evaluation, root.Table("evaluation"));
  CARTABLE_ASSIGN_OR_RETURN(int64_t k, evaluation.Integer("min_group_pupils", 10, 1, 1000000));
  run.min_group_pupils = static_cast<uint64_t>(k);
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable fairness, evaluation.Table("fairness"));
  for (const std::string& name : fairness.Keys()) {
    CARTABLE_ASSIGN_OR_RETURN(std::vector<std::string> values, fairness.Strings(name));
    run.fairness.push_back({name, std::move(values)});
  }
  CARTABLE_RETURN_IF_ERROR(fairness.Finish());
  if (Status checked = models::CheckAttributes(run.fairness); !checked.ok())
    return evaluation.Error("fairness", checked.message());
  return evaluation.Finish();
}

StatusOr<Plan> PlanFrom(ConfigTable root, const std::string& source) {
  Plan plan;
  plan.run.run_id = 0;
  CARTABLE_ASSIGN_OR_RETURN(plan.name, root.String("name", ""));
  CARTABLE_ASSIGN_OR_RETURN(plan.description, root.String("description", ""));
  CARTABLE_ASSIGN_OR_RETURN(int64_t rounds, root.Integer("rounds", 10, 1, 100000));
  plan.run.rounds = static_cast<uint32_t>(rounds);
  CARTABLE_RETURN_IF_ERROR(ReadModel(root, plan));
  CARTABLE_RETURN_IF_ERROR(ReadNodes(root, plan.run));
  CARTABLE_RETURN_IF_ERROR(ReadTraining(root, plan.run));
  CARTABLE_RETURN_IF_ERROR(ReadStrategy(root, plan.run));
  CARTABLE_RETURN_IF_ERROR(ReadSecureAggregation(root, plan.run));
  CARTABLE_RETURN_IF_ERROR(ReadPrivacy(root, plan.run));
  CARTABLE_RETURN_IF_ERROR(ReadDeadlines(root, plan.run));
  CARTABLE_RETURN_IF_ERROR(ReadEvaluation(root, plan.run));
  CARTABLE_RETURN_IF_ERROR(root.Finish());
  if (plan.name.size() > 200 || plan.description.size() > 10000) {
    return InvalidArgumentError(source + ": name is at most 200 bytes, description 10000");
  }
  CARTABLE_RETURN_IF_ERROR(CheckPlan(plan).WithContext(source));
  return plan;
}

}  // namespace

StatusOr<Plan> ParsePlan(std::string_view toml, const std::string& source) {
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable root, ConfigTable::Parse(toml, source));
  return PlanFrom(std::move(root), source);
}

StatusOr<Plan> ReadPlanFile(const std::filesystem::path& path) {
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable root, ConfigTable::ReadFile(path));
  return PlanFrom(std::move(root), path.string());
}

}  // namespace cartable::coordinator
