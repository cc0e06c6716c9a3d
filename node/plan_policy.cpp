#include "node/plan_policy.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <optional>

#include "core/number_text.h"
#include "core/printable.h"
#include "exchange/establishment_dp_wire.h"
#include "exchange/pupil_dp_wire.h"
#include "protocol/curve_keys.h"

namespace cartable::node {
namespace {

template <typename Names>
std::string Joined(const Names& names) {
  std::string text;
  for (const std::string& name : names) text.append(text.empty() ? "" : ", ").append(name);
  return text;
}

std::string RuleText(const OptionRule& rule) {
  if (!rule.min) return rule.exact;
  char text[64];
  std::snprintf(text, sizeof(text), "%g to %g", *rule.min, *rule.max);
  return text;
}

// "8..128" → a range; anything else → the one value allowed.
StatusOr<OptionRule> ParseRule(ConfigTable& table, const std::string& key,
                               const std::string& text) {
  OptionRule rule;
  const size_t dots = text.find("..");
  if (dots == std::string::npos) {
    rule.exact = text;
    return rule;
  }
  rule.min = ParseNumber(std::string_view(text).substr(0, dots));
  rule.max = ParseNumber(std::string_view(text).substr(dots + 2));
  if (!rule.min || !rule.max || *rule.min > *rule.max) {
    return table.Error(key, "\"" + text + "\" is not a range MIN..MAX of two numbers, MIN <= MAX");
  }
  return rule;
}

// PERMISSION_DENIED when a run's δ is above the policy's.
Status CheckDelta(double delta, double max_delta) {
  if (delta > max_delta) {
    return PermissionDeniedError("the policy of this establishment allows δ up to " +
                                 NumberText(max_delta) +
                                 "; the run asks for δ = " + NumberText(delta));
  }
  return Status::Ok();
}

// FORMAT:PATH with its path lexically normal (a trailing '/' kept: a directory); nullopt when
// `source` is not FORMAT:PATH with an absolute PATH.
std::optional<std::string> NormalSource(const std::string& source) {
  const size_t colon = source.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == source.size()) return std::nullopt;
  const std::filesystem::path path(source.substr(colon + 1));
  if (!path.is_absolute()) return std::nullopt;
  std::string normal = path.lexically_normal().string();
  if (source.back() == '/' && normal.back() != '/') normal += '/';
  return source.substr(0, colon + 1) + normal;
}

}  // namespace

Status PlanPolicy::CheckCoordinatorKey(const std::string& public_key) const {
  if (coordinator_keys.empty() || coordinator_keys.contains(public_key)) return Status::Ok();
  return PermissionDeniedError(
      "the policy of this establishment allows only the coordinators whose public keys are " +
      Joined(coordinator_keys) + "; " +
      (public_key.empty() ? std::string("this node would authenticate none (--insecure)")
                          : "this node is configured for " + Printable(public_key)));
}

Status PlanPolicy::CheckDataSource(const std::string& source) const {
  if (data_sources.empty()) return Status::Ok();
  // OULAD's ?cutoff=DAYS says how the tables are read, not where: the place is what is allowed.
  const bool oulad = source.starts_with("oulad:");
  std::optional<std::string> normal =
      NormalSource(oulad ? source.substr(0, source.find('?')) : source);
  // The source read is one place: "oulad:/srv/oulad/" is "oulad:/srv/oulad".
  while (normal && normal->size() > 1 && normal->back() == '/') normal->pop_back();
  if (normal) {
    for (const std::string& allowed : data_sources) {
      if (allowed.back() == '/' ? normal->starts_with(allowed) : *normal == allowed) {
        return Status::Ok();
      }
    }
  }
  return PermissionDeniedError("the policy of this establishment allows reading only " +
                               Joined(data_sources) + "; this node is configured to read " +
                               Printable(source));
}

Status PlanPolicy::Check(const protocol::TrainRequest& request, size_t training_pupils) const {
  const std::string& model = request.model.name;
  if (!models.empty() && !models.contains(model)) {
    return PermissionDeniedError("the policy of this establishment allows the models " +
                                 Joined(models) + "; the run trains " + Printable(model));
  }
  if (max_local_epochs != 0 && request.config.local_epochs > max_local_epochs) {
    return PermissionDeniedError("the policy of this establishment allows at most " +
                                 std::to_string(max_local_epochs) +
                                 " local epoch(s) a round; the "
                                 "run asks for " +
                                 std::to_string(request.config.local_epochs));
  }
  if (training_pupils < min_training_pupils) {
    return PermissionDeniedError("the policy of this establishment asks for at least " +
                                 std::to_string(min_training_pupils) +
                                 " training pupils to take part; it has " +
                                 std::to_string(training_pupils));
  }
  if (request.dp.enabled != 0 && max_dp_steps > 0) {
    CARTABLE_RETURN_IF_ERROR(exchange::CheckPupilDp(request.dp));
    const uint64_t steps = exchange::RunSteps(request.dp, request.config.local_epochs, 1);
    if (steps > max_dp_steps) {
      return PermissionDeniedError(
          "the policy of this establishment allows at most " + std::to_string(max_dp_steps) +
          " DP-SGD steps a round; the run asks for " + std::to_string(steps) + " (" +
          std::to_string(request.config.local_epochs) + " epoch(s) at sampling rate " +
          NumberText(request.dp.sampling_rate) + ")");
    }
  }
  if (NeedsDp()) CARTABLE_RETURN_IF_ERROR(CheckPrivacy(request));
  if (request.establishment_dp.enabled != 0) {
    CARTABLE_RETURN_IF_ERROR(exchange::CheckEstablishmentDp(request.establishment_dp));
    if (request.secagg.enabled == 0) {
      return PermissionDeniedError(
          "the run asks for establishment-level DP without secure aggregation, where the "
          "coordinator would see this establishment's update");
    }
  }
  if (NeedsEstablishmentDp()) CARTABLE_RETURN_IF_ERROR(CheckEstablishmentPrivacy(request));
  const auto rules = options.find(model);
  if (rules == options.end()) return Status::Ok();
  for (const protocol::ModelOption& option : request.model.options) {
    const auto rule = rules->second.find(option.key);
    if (rule == rules->second.end()) continue;
    bool allowed = option.value == rule->second.exact;
    if (rule->second.min) {
      const std::optional<double> value = ParseNumber(option.value);
      allowed = value && *value >= *rule->second.min && *value <= *rule->second.max;
    }
    if (!allowed) {
      return PermissionDeniedError("the policy of this establishment allows " + model + " " +
                                   option.key + " " + RuleText(rule->second) + "; the run sets " +
                                   Printable(option.value, 60));
    }
  }
  return Status::Ok();
}

Status PlanPolicy::CheckPrivacy(const protocol::TrainRequest& request) const {
  const protocol::WirePupilDp& dp = request.dp;
  if (dp.enabled == 0) {
    return PermissionDeniedError(
        "the policy of this establishment trains only with differential privacy per pupil "
        "(DP-SGD); the run trains without it");
  }
  CARTABLE_RETURN_IF_ERROR(CheckDelta(dp.delta, max_delta));
  CARTABLE_ASSIGN_OR_RETURN(const aggregation::privacy::Epsilon cost,
                            exchange::RunEpsilon(dp, request.config.local_epochs));
  if (max_epsilon_per_run > 0 && !(cost.epsilon <= max_epsilon_per_run)) {
    return PermissionDeniedError(
        "the policy of this establishment allows ε up to " + NumberText(max_epsilon_per_run) +
        " per run; this run would cost each pupil ε = " + NumberText(cost.epsilon, 3) +
        " at δ = " + NumberText(dp.delta));
  }
  return Status::Ok();
}

Status PlanPolicy::CheckEstablishmentPrivacy(const protocol::TrainRequest& request) const {
  const protocol::WireEstablishmentDp& dp = request.establishment_dp;
  if (dp.enabled == 0) {
    return PermissionDeniedError(
        "the policy of this establishment trains only with differential privacy per "
        "establishment (noise added before secure aggregation); the run asks for none");
  }
  CARTABLE_RETURN_IF_ERROR(CheckDelta(dp.delta, max_delta));
  if (max_establishment_epsilon <= 0) return Status::Ok();  // the yearly cap: by the ledger
  CARTABLE_ASSIGN_OR_RETURN(
      const exchange::ContributionLayout layout,
      exchange::ContributionLayout::For(request.global_parameters.size(), request.contribution));
  CARTABLE_ASSIGN_OR_RETURN(
      const aggregation::privacy::Epsilon cost,
      exchange::EstablishmentEpsilon(dp, layout, request.secagg.cohort.size()));
  if (!(cost.epsilon <= max_establishment_epsilon)) {
    return PermissionDeniedError("the policy of this establishment allows ε up to " +
                                 NumberText(max_establishment_epsilon) +
                                 " per run for the establishment; this run would cost it ε = " +
                                 NumberText(cost.epsilon, 3) + " at δ = " + NumberText(dp.delta));
  }
  return Status::Ok();
}

std::string PlanPolicy::Explain() const {
  std::string text;
  text += models.empty() ? "Any model may be trained.\n"
                         : "Only these models may be trained: " + Joined(models) + ".\n";
  text += max_local_epochs == 0
              ? "Any number of local epochs a round.\n"
              : "At most " + std::to_string(max_local_epochs) + " local epoch(s) a round.\n";
  if (min_training_pupils > 0) {
    text += "The node takes part only with " + std::to_string(min_training_pupils) +
            " training pupils at least.\n";
  }
  if (NeedsDp()) {
    text += "Only runs with differential privacy per pupil (DP-SGD), at δ up to " +
            NumberText(max_delta) + ".\n";
  }
  if (NeedsDp() || max_dp_steps != kDefaultMaxDpSteps) {
    text += max_dp_steps == 0
                ? "Any number of DP-SGD steps a round.\n"
                : "At most " + std::to_string(max_dp_steps) + " DP-SGD steps a round.\n";
  }
  if (max_epsilon_per_run > 0)
    text += "Each run may cost a pupil ε up to " + NumberText(max_epsilon_per_run) + ".\n";
  if (max_epsilon_per_year > 0) {
    text += "All runs of a school year (from 1 September) may cost a pupil ε up to " +
            NumberText(max_epsilon_per_year) + " together, by the node's privacy ledger.\n";
  }
  if (NeedsEstablishmentDp()) {
    text +=
        "Only runs with differential privacy per establishment (noise added before secure "
        "aggregation), at δ up to " +
        NumberText(max_delta) + ".\n";
  }
  if (max_establishment_epsilon > 0) {
    text += "Each run may cost the establishment ε up to " + NumberText(max_establishment_epsilon) +
            ".\n";
  }
  if (max_establishment_epsilon_per_year > 0) {
    text += "All runs of a school year (from 1 September) may cost the establishment ε up to " +
            NumberText(max_establishment_epsilon_per_year) +
            " together, by the node's privacy ledger (a budget apart from the pupils').\n";
  }
  if (!coordinator_keys.empty()) {
    text +=
        "Only the coordinators with these public keys may be joined: " + Joined(coordinator_keys) +
        ".\n";
  }
  if (!data_sources.empty()) {
    text += "Only these data may be read (a path ending in / covers the files under it): " +
            Joined(data_sources) + ".\n";
  }
  for (const auto& [model, rules] : options) {
    for (const auto& [key, rule] : rules) {
      text.append("Model ").append(model).append(": option ").append(key);
      text.append(" must be ").append(RuleText(rule)).append(".\n");
    }
  }
  return text;
}

StatusOr<PlanPolicy> ReadPlanPolicy(ConfigTable& table) {
  PlanPolicy policy;
  CARTABLE_ASSIGN_OR_RETURN(std::vector<std::string> models, table.Strings("models"));
  policy.models = {models.begin(), models.end()};
  CARTABLE_ASSIGN_OR_RETURN(int64_t epochs, table.Integer("max_local_epochs", 0, 0, 1000000));
  policy.max_local_epochs = static_cast<uint32_t>(epochs);
  CARTABLE_ASSIGN_OR_RETURN(int64_t pupils,
                            table.Integer("min_training_pupils", 0, 0, int64_t{1} << 40));
  policy.min_training_pupils = static_cast<size_t>(pupils);
  CARTABLE_ASSIGN_OR_RETURN(policy.max_epsilon_per_run,
                            table.Real("max_epsilon_per_run", 0, 0, 1e6));
  CARTABLE_ASSIGN_OR_RETURN(policy.max_epsilon_per_year,
                            table.Real("max_epsilon_per_year", 0, 0, 1e6));
  CARTABLE_ASSIGN_OR_RETURN(policy.max_delta, table.Real("max_delta", 1e-5, 1e-12, 0.1));
  CARTABLE_ASSIGN_OR_RETURN(
      const int64_t steps,
      table.Integer("max_dp_steps", static_cast<int64_t>(PlanPolicy::kDefaultMaxDpSteps), 0,
                    int64_t{1} << 40));
  policy.max_dp_steps = static_cast<uint64_t>(steps);
  CARTABLE_ASSIGN_OR_RETURN(policy.max_establishment_epsilon,
                            table.Real("max_establishment_epsilon", 0, 0, 1e6));
  CARTABLE_ASSIGN_OR_RETURN(policy.max_establishment_epsilon_per_year,
                            table.Real("max_establishment_epsilon_per_year", 0, 0, 1e6));
  CARTABLE_ASSIGN_OR_RETURN(std::vector<std::string> keys, table.Strings("coordinator_keys"));
  for (const std::string& key : keys) {
    if (!protocol::IsZ85Key(key)) {
      return table.Error("coordinator_keys",
                         Printable(key) +
                             " is not a CURVE public key (40 characters of Z85, as "
                             "in the coordinator's .pub file)");
    }
    policy.coordinator_keys.insert(key);
  }
  CARTABLE_ASSIGN_OR_RETURN(std::vector<std::string> sources, table.Strings("data_sources"));
  for (const std::string& source : sources) {
    const size_t colon = source.find(':');
    std::optional<std::string> normal;
    if (colon != std::string::npos && colon > 0 && colon + 1 < source.size()) {
      // The path relative to the policy's file, as [data] source is; a trailing '/' kept.
      std::error_code error;
      std::string path =
          std::filesystem::absolute(table.Path(source.substr(colon + 1)), error).string();
      if (source.back() == '/' && !path.empty() && path.back() != '/') path += '/';
      if (!error) normal = NormalSource(source.substr(0, colon + 1) + path);
    }
    if (!normal) {
      return table.Error("data_sources", Printable(source) +
                                             " is not FORMAT:PATH (e.g. csv:exports/answers.csv, "
                                             "or oulad:data/ for every file under data/)");
    }
    policy.data_sources.push_back(*normal);
  }
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable options, table.Table("options"));
  for (const std::string& model : options.Keys()) {
    CARTABLE_ASSIGN_OR_RETURN(ConfigTable rules, options.Table(model));
    CARTABLE_ASSIGN_OR_RETURN(auto values, options.ScalarsAsText(model));
    for (const auto& [key, text] : values) {
      CARTABLE_ASSIGN_OR_RETURN(policy.options[model][key], ParseRule(rules, key, text));
    }
  }
  CARTABLE_RETURN_IF_ERROR(options.Finish());
  CARTABLE_RETURN_IF_ERROR(table.Finish());
  return policy;
}

}  // namespace cartable::node
