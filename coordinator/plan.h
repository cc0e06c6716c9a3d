#pragma once

// Plan: a training run as a researcher writes it (a TOML file, docs/plans.md): the model and what
// the nodes' data must provide, rounds, strategy, local training, secure aggregation, how many
// nodes take part and the deadlines. A plan is validated completely before it is queued
// (CheckPlan), every error naming the key and the reason. Its canonical form (every setting,
// defaults filled in, as JSON with sorted keys) is what its SHA-256, the plan hash, covers: two
// files that say the same thing, one spelling out a default the other leaves implicit, have the
// same hash. The hash names the plan in the model card, the audit log and for the nodes. Pure
// functions; thread safe.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "coordinator/run_config.h"
#include "core/status.h"

namespace cartable::coordinator {

struct Plan {
  std::string name;         // a short label for `run list`; may be empty
  std::string description;  // why the run is made, for the nodes' operators to read
  // Everything the round loop needs. run.run_id is not part of a plan: the coordinator gives each
  // submitted run its own.
  RunConfig run;
};

// Reads a plan file's text; `source` names it in errors ("plan.toml:12: [nodes] fraction: ...").
// Checks types, ranges and unknown keys, then CheckPlan.
StatusOr<Plan> ParsePlan(std::string_view toml, const std::string& source);
StatusOr<Plan> ReadPlanFile(const std::filesystem::path& path);

// Ok, or why no run could follow `plan`: CheckRunConfig, a model that cannot be built with these
// options and spaces, a strategy or strategy option that does not exist, a strategy that needs
// individual updates under secure aggregation, a secure cohort below 3 nodes or one that cannot be
// planned with the declared tolerances.
Status CheckPlan(const Plan& plan);

// The canonical JSON of `plan` (sorted keys, no spaces), and its SHA-256 in lower-case hex.
std::string CanonicalPlan(const Plan& plan);
std::string PlanHash(const Plan& plan);
// The same SHA-256 as bytes, as the nodes receive it (RunConfig::plan_hash).
protocol::DigestBytes PlanDigest(const Plan& plan);

// What the plan asks for, in plain words, one setting a line (for `cartable plan check`).
std::string ExplainPlan(const Plan& plan);

// What a run with DP-SGD per pupil costs each pupil, for its status and model card: the
// mechanism's parameters, the DP-SGD steps of the whole run and (ε, δ) by the RDP accountant, as
// JSON; null for a run without it.
nlohmann::json RunPrivacy(const RunConfig& run);
// What establishment-level DP (the distributed discrete Gaussian) costs each establishment: the
// mechanism's parameters and (ε, δ) after the run's rounds, as JSON; null for a run without it.
nlohmann::json RunEstablishmentPrivacy(const RunConfig& run);

}  // namespace cartable::coordinator
