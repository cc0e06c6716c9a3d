#include "coordinator/plan.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "aggregation/secagg/digest.h"
#include "aggregation/strategies/strategy.h"
#include "coordinator/cohort.h"
#include "coordinator/secure_sum.h"
#include "core/number_text.h"
#include "exchange/establishment_dp_wire.h"
#include "exchange/pupil_dp_wire.h"
#include "models/model.h"

namespace cartable::coordinator {
namespace {

// The cohort a round draws when every expected node is there.
size_t SampledCohort(const RunConfig& run) {
  const size_t joined = run.expected_nodes != 0 ? run.expected_nodes : run.min_nodes;
  return SampleSize({run.fraction, run.min_nodes}, joined);
}

Status CheckModel(const models::ModelSpec& spec) {
  auto known = models::InputOf(spec.name);
  if (!known.ok()) return known.status().WithContext("[model] name");
  const models::ModelInput input = *known;
  if (input == models::ModelInput::kAnswers && spec.num_skills == 0) {
    return InvalidArgumentError("[data] skills: model '" + spec.name +
                                "' reads answers and needs the size of the skill space");
  }
  if (input == models::ModelInput::kPupilRecords && spec.num_features == 0) {
    return InvalidArgumentError("[data] features: model '" + spec.name +
                                "' reads pupil records and needs their number of columns");
  }
  auto model = models::CreateModel(spec);
  if (!model.ok()) return model.status().WithContext("[model] options");
  return Status::Ok();
}

Status CheckStrategy(const RunConfig& run) {
  if (aggregation::NeedsIndividualUpdates(run.strategy) && run.secagg.enabled) {
    return InvalidArgumentError(
        "[strategy] name: '" + run.strategy +
        "' needs each node's own update, which secure aggregation exists to hide; it runs only "
        "with [secure_aggregation] enabled = false (a comparison run)");
  }
  const aggregation::StrategyParameters parameters{run.strategy, run.strategy_options};
  auto strategy = aggregation::CreateStrategy(parameters);
  if (!strategy.ok()) return strategy.status().WithContext("[strategy]");
  // A round runs with min nodes' updates at the fewest: Krum must be able to decide from them.
  if (Status enough = aggregation::CheckUpdateCount(parameters, run.min_nodes); !enough.ok()) {
    return InvalidArgumentError("[nodes] min: a round may bring as few as " +
                                std::to_string(run.min_nodes) + " updates, too few for strategy '" +
                                run.strategy + "': " + enough.message() +
                                "; raise [nodes] min or lower the strategy's options");
  }
  return Status::Ok();
}

Status CheckSecureAggregation(const RunConfig& run) {
  if (!run.secagg.enabled) return Status::Ok();
  if (run.min_nodes < 3 || (run.expected_nodes != 0 && run.expected_nodes < 3)) {
    return InvalidArgumentError(
        "[nodes] min and expected: a secure round needs 3 nodes at least (nodes refuse smaller "
        "cohorts, since "
        "a sum of two gives each the other's update)");
  }
  const size_t cohort = SampledCohort(run);
  auto planned = PlanSecureRound(run.secagg, static_cast<int>(cohort));
  if (!planned.ok()) {
    return planned.status().WithContext("[secure_aggregation] among " + std::to_string(cohort) +
                                        " nodes (tolerate_corrupt, tolerate_dropout, neighbours)");
  }
  return Status::Ok();
}

// The cohort a plan's ε per establishment is stated for: the nodes it expects, at least the noise's
// min_contributors (the cohort only enters the accountant's τ, which is negligible at these σ).
size_t EstablishmentCohort(const RunConfig& run) {
  return std::max<size_t>(run.expected_nodes, run.establishment_dp.min_contributors);
}

Status CheckEstablishmentPrivacy(const RunConfig& run) {
  const protocol::WireEstablishmentDp& edp = run.establishment_dp;
  if (edp.enabled == 0) return Status::Ok();
  if (!run.secagg.enabled) {
    return InvalidArgumentError(
        "[privacy] establishment_dp adds its noise under secure aggregation: set "
        "[secure_aggregation] enabled = true");
  }
  if (!(run.contribution.max_norm > 0)) {
    return InvalidArgumentError(
        "[privacy] establishment_dp needs a norm bound on each establishment's update: set "
        "[contribution] max_norm (for example 1)");
  }
  if (run.contribution.weight_cap != 1) {
    return InvalidArgumentError(
        "[privacy] establishment_dp weighs every establishment the same: set [contribution] "
        "weight_cap = 1");
  }
  const size_t cohort = SampledCohort(run);
  if (run.expected_nodes != 0 && cohort < edp.min_contributors) {
    return InvalidArgumentError(
        "[privacy] min_contributors (" + std::to_string(edp.min_contributors) + ") is above the " +
        std::to_string(cohort) + " nodes a round samples: no round could be unmasked");
  }
  return Status::Ok();
}

}  // namespace

Status CheckPlan(const Plan& plan) {
  CARTABLE_RETURN_IF_ERROR(CheckEstablishmentPrivacy(plan.run));
  CARTABLE_RETURN_IF_ERROR(CheckRunConfig(plan.run));
  CARTABLE_RETURN_IF_ERROR(CheckModel(plan.run.model));
  CARTABLE_RETURN_IF_ERROR(CheckStrategy(plan.run));
  return CheckSecureAggregation(plan.run);
}

std::string CanonicalPlan(const Plan& plan) {
  const RunConfig& run = plan.run;
  nlohmann::json options = nlohmann::json::object();
  for (const auto& [key, value] : run.model.options) options[key] = value;
  // Every option the strategy takes, so that spelling out a default keeps the hash.
  nlohmann::json strategy = {{"name", run.strategy}};
  if (auto known = aggregation::StrategyOptionsOf(run.strategy); known.ok()) {
    for (const auto& option : *known) strategy[option.name] = option.default_value;
  }
  for (const auto& [key, value] : run.strategy_options) strategy[key] = value;
  const SecAggConfig& sa = run.secagg;
  nlohmann::json document = {
      {"cartable_plan", 1},
      {"name", plan.name},
      {"description", plan.description},
      {"rounds", run.rounds},
      {"model", {{"name", run.model.name}, {"options", options}}},
      {"data",
       {{"skills", run.model.num_skills},
        {"items", run.model.num_items},
        {"features", run.model.num_features}}},
      {"nodes",
       {{"min", run.min_nodes}, {"expected", run.expected_nodes}, {"fraction", run.fraction}}},
      {"local_training",
       {{"epochs", run.train.local_epochs},
        {"batch_size", run.train.batch_size},
        {"learning_rate", LearningRateAsSent(run)},
        {"seed", run.train.seed}}},
      {"strategy", strategy},
      {"secure_aggregation",
       {{"enabled", sa.enabled},
        {"neighbours", sa.neighbours},
        {"modulus_bits", sa.modulus_bits},
        {"tolerate_corrupt", sa.tolerate_corrupt},
        {"tolerate_dropout", sa.tolerate_dropout}}},
      {"contribution",
       {{"value_range", run.contribution.value_range},
        {"weight_cap", run.contribution.weight_cap},
        {"max_norm", run.contribution.max_norm}}},
      {"deadlines",
       {{"join_seconds",
         std::chrono::duration_cast<std::chrono::seconds>(run.join_timeout).count()},
        {"round_seconds",
         std::chrono::duration_cast<std::chrono::seconds>(run.round_timeout).count()},
        {"attempts", run.max_attempts}}}};
  // Only when on, so that the hash of every plan written before [privacy] existed stays the same.
  if (run.dp.enabled != 0) {
    document["privacy"] = {{"pupil_dp", true},
                           {"noise_multiplier", run.dp.noise_multiplier},
                           {"clip_norm", run.dp.clip_norm},
                           {"sampling_rate", run.dp.sampling_rate},
                           {"delta", run.dp.delta}};
  }
  if (const protocol::WireEstablishmentDp& edp = run.establishment_dp; edp.enabled != 0) {
    nlohmann::json& privacy = document["privacy"];
    privacy["establishment_dp"] = true;
    privacy["establishment_noise_multiplier"] = edp.noise_multiplier;
    privacy["min_contributors"] = edp.min_contributors;
    privacy["delta"] = edp.delta;
  }
  // Only when asked for, so that the hash of every plan written before [evaluation] stays the same.
  if (!run.fairness.empty()) {
    nlohmann::json fairness = nlohmann::json::array();
    for (const models::Attribute& a : run.fairness)
      fairness.push_back({{"attribute", a.name}, {"values", a.values}});
    document["evaluation"] = {{"fairness", fairness}, {"min_group_pupils", run.min_group_pupils}};
  }
  return document.dump();
}

std::string PlanHash(const Plan& plan) {
  return aggregation::secagg::Sha256Hex(CanonicalPlan(plan));
}

protocol::DigestBytes PlanDigest(const Plan& plan) {
  const std::string canonical = CanonicalPlan(plan);
  return aggregation::secagg::Sha256(
      {reinterpret_cast<const uint8_t*>(canonical.data()), canonical.size()});
}

std::string ExplainPlan(const Plan& plan) {
  const RunConfig& run = plan.run;
  std::ostringstream out;
  if (!plan.name.empty()) out << "Plan '" << plan.name << "'.\n";
  if (!plan.description.empty()) out << plan.description << "\n";
  out << "Trains model '" << run.model.name << "'";
  for (const auto& [key, value] : run.model.options) out << " " << key << "=" << value;
  out << " for " << run.rounds << " round(s).\n";
  std::vector<std::string> needs;
  if (run.model.num_skills)
    needs.push_back("skill ids 0.." + std::to_string(run.model.num_skills - 1));
  if (run.model.num_items)
    needs.push_back("item ids 0.." + std::to_string(run.model.num_items - 1));
  if (run.model.num_features) {
    needs.push_back("pupil records of " + std::to_string(run.model.num_features) + " columns");
  }
  for (size_t i = 0; i < needs.size(); ++i) {
    out << (i == 0                  ? "Each node's data must provide "
            : i + 1 == needs.size() ? " and "
                                    : ", ")
        << needs[i] << (i + 1 == needs.size() ? ".\n" : "");
  }
  out << "Starts when " << (run.expected_nodes ? std::to_string(run.expected_nodes) : "enough")
      << " nodes have joined (within "
      << std::chrono::duration_cast<std::chrono::seconds>(run.join_timeout).count()
      << " s); every round needs " << run.min_nodes << " at least";
  if (run.fraction < 1) out << " and samples " << run.fraction * 100 << "% of the joined nodes";
  out << ".\n";
  out << "Each node trains " << run.train.local_epochs << " epoch(s) per round, ";
  if (run.dp.enabled == 0) out << "batches of " << run.train.batch_size << ", ";
  out << "Adam rate " << LearningRateAsSent(run) << ", seed " << run.train.seed << ".\n";
  out << "The coordinator combines "
      << (aggregation::NeedsIndividualUpdates(run.strategy) ? "the nodes' own updates"
                                                            : "the averaged update")
      << " with '" << run.strategy << "'";
  for (const auto& [key, value] : run.strategy_options) out << " " << key << "=" << value;
  out << ".\n";
  if (run.secagg.enabled) {
    out << "Updates are securely aggregated (SecAgg+, sums modulo 2^" << run.secagg.modulus_bits
        << "): the coordinator sees only their sum, and withstands "
        << run.secagg.tolerate_corrupt * 100 << "% colluding and "
        << run.secagg.tolerate_dropout * 100 << "% dropping nodes.\n";
  } else {
    out << "Secure aggregation is OFF: the coordinator sees each node's update (comparison runs "
           "only; nodes refuse such rounds unless their operator allows them).\n";
  }
  out << "Each value of an update is clamped to ±" << run.contribution.value_range
      << "; a node weighs min(examples, " << run.contribution.weight_cap << ")/"
      << run.contribution.weight_cap << ".\n";
  if (run.contribution.max_norm > 0) {
    out << "Each node scales its update down to an L2 norm of at most " << run.contribution.max_norm
        << " before masking it.\n";
  }
  if (run.dp.enabled != 0) {
    out << "Each node trains with differential privacy per pupil (DP-SGD): each step draws each "
           "pupil with probability "
        << run.dp.sampling_rate << ", clips each pupil's gradient to an L2 norm of "
        << run.dp.clip_norm << " and adds Gaussian noise of " << run.dp.noise_multiplier
        << " times that bound";
    if (auto cost = exchange::RunEpsilon(run.dp, run.train.local_epochs); cost.ok()) {
      out << "; after " << exchange::RunSteps(run.dp, run.train.local_epochs)
          << " steps the run costs each pupil ε = " << NumberText(cost->epsilon, 3)
          << " at δ = " << NumberText(run.dp.delta) << " (RDP accountant)";
    }
    out << ".\n";
  }
  if (const protocol::WireEstablishmentDp& edp = run.establishment_dp; edp.enabled != 0) {
    out << "Each node adds its share of discrete Gaussian noise to its update before masking it "
           "(establishment-level DP): the sum of at least "
        << edp.min_contributors << " establishments carries noise of " << edp.noise_multiplier
        << " times the largest change one establishment can make, and a sum of fewer is never "
           "unmasked";
    const size_t cohort = EstablishmentCohort(run);
    auto layout = exchange::ContributionLayout::For(1, run.contribution);
    if (layout.ok()) {
      if (auto cost = exchange::EstablishmentEpsilon(edp, *layout, cohort); cost.ok()) {
        out << "; after " << run.rounds
            << " round(s) the run costs each establishment ε = " << NumberText(cost->epsilon, 3)
            << " at δ = " << NumberText(edp.delta) << ", even towards the coordinator";
      }
      if (auto bits =
              exchange::EstablishmentModulusBits(edp, *layout, cohort, run.secagg.modulus_bits);
          bits.ok() && *bits > run.secagg.modulus_bits) {
        out << " (sums modulo 2^" << *bits << " for " << cohort
            << " establishments, to hold the noise)";
      }
    }
    out << ".\n";
  }
  if (!run.fairness.empty()) {
    out << "The last round's evaluation is broken down by subgroup of ";
    for (size_t i = 0; i < run.fairness.size(); ++i) {
      out << (i == 0                         ? ""
              : i + 1 == run.fairness.size() ? " and "
                                             : ", ")
          << run.fairness[i].name << " (" << run.fairness[i].values.size() << " values)";
    }
    out << ", securely summed; a subgroup of fewer than " << run.min_group_pupils
        << " pupils shows no figure.\n";
  }
  out << "A stage waits "
      << std::chrono::duration_cast<std::chrono::seconds>(run.round_timeout).count()
      << " s for nodes; a round is tried " << run.max_attempts
      << " time(s) before the run fails.\n";
  out << "Plan hash: " << PlanHash(plan) << "\n";
  return out.str();
}

nlohmann::json RunEstablishmentPrivacy(const RunConfig& run) {
  const protocol::WireEstablishmentDp& edp = run.establishment_dp;
  if (edp.enabled == 0) return nullptr;
  auto layout = exchange::ContributionLayout::For(1, run.contribution);
  if (!layout.ok()) return nullptr;
  auto sensitivity = exchange::EstablishmentSensitivity(*layout);
  auto cost = exchange::EstablishmentEpsilon(edp, *layout, EstablishmentCohort(run));
  return exchange::EstablishmentDpReport(edp, sensitivity.ok() ? *sensitivity : 0,
                                         cost.ok() ? std::optional(*cost) : std::nullopt);
}

nlohmann::json RunPrivacy(const RunConfig& run) {
  if (run.dp.enabled == 0) return nullptr;
  auto cost = exchange::RunEpsilon(run.dp, run.train.local_epochs);
  return exchange::PupilDpReport(run.dp, exchange::RunSteps(run.dp, run.train.local_epochs),
                                 cost.ok() ? std::optional(*cost) : std::nullopt);
}

}  // namespace cartable::coordinator
