#include "simulations/report.h"

#include <algorithm>
#include <map>

#include "core/files.h"
#include "exchange/establishment_dp_wire.h"
#include "exchange/pupil_dp_wire.h"

namespace cartable::simulations {
namespace {

// The synthetic cohort's generator and non-IID settings, as the report states them.
nlohmann::json CohortJson(const CohortConfig& c) {
  nlohmann::json kinds = nlohmann::json::array();
  for (const SchoolKind& k : c.kinds) {
    kinds.push_back(
        {{"kind", k.name}, {"share", k.share}, {"pupils", {k.min_pupils, k.max_pupils}}});
  }
  nlohmann::json cohort = {
      {"generator", c.generator == CohortConfig::Generator::kBkt ? "bkt" : "irt"},
      {"ability_shift", c.school_ability_spread},
      {"ability_spread", c.pupil_ability_spread},
      {"skill_coverage", c.skill_coverage},
      {"kinds", kinds}};
  if (c.generator == CohortConfig::Generator::kBkt) {
    cohort["bkt"] = {{"learn", c.bkt.learn},
                     {"forget", c.bkt.forget},
                     {"guess", c.bkt.guess},
                     {"slip", c.bkt.slip},
                     {"prerequisites", c.bkt.prerequisites},
                     {"blocked", c.bkt.blocked}};
  } else {
    cohort["practice_gain"] = c.learning_rate;
  }
  return cohort;
}

// How the schools reach the coordinator, in words.
std::string Transport(const ScenarioConfig& c) {
  if (c.mode == SimulationMode::kInProcess)
    return "in-process queues, " + std::to_string(c.workers) + " worker threads";
  if (c.mode == SimulationMode::kPools) {
    std::string text = c.curve ? "zeromq tcp, CURVE, " : "zeromq tcp, no security, ";
    return text.append(std::to_string(c.pools))
        .append(c.external_pools ? " node pools started elsewhere" : " node pool processes")
        .append(", a connection per school");
  }
  return c.curve ? "zeromq tcp loopback, CURVE, one process per school"
                 : "zeromq tcp loopback, no security, one process per school";
}

}  // namespace

nlohmann::json ToJson(const Scores& s) {
  return {{"auc", s.auc},
          {"accuracy", s.accuracy},
          {"log_loss", s.log_loss},
          {"rmse", s.rmse},
          {"answers", s.answers}};
}

nlohmann::json Participation(size_t schools, const std::vector<coordinator::RoundRecord>& records,
                             std::optional<size_t> joined_at_all) {
  size_t joined = records.empty() ? joined_at_all.value_or(0) : 0, asked = 0, answered = 0;
  std::map<std::string, size_t> dropped;
  for (const coordinator::RoundRecord& r : records) {
    joined = std::max(joined, r.connected);
    asked += r.asked;
    answered += r.nodes;
    for (const auto& [why, n] : r.dropped_by_reason) dropped[why] += n;
  }
  return {{"schools", schools},
          {"most_joined", joined},
          {"never_joined", schools - std::min(schools, joined)},
          {"asked", asked},
          {"answered", answered},
          {"dropped_by_reason", dropped}};
}

nlohmann::json ToJson(const ScenarioConfig& c) {
  nlohmann::json establishment = "off";
  if (const protocol::WireEstablishmentDp& edp = c.establishment_dp; edp.enabled != 0) {
    establishment = {{"noise_multiplier", edp.noise_multiplier},
                     {"min_contributors", edp.min_contributors},
                     {"delta", edp.delta}};
    auto layout = exchange::ContributionLayout::For(1, c.contribution);
    protocol::WireEstablishmentDp run = edp;
    run.rounds = c.rounds;
    if (layout.ok()) {
      auto cost = exchange::EstablishmentEpsilon(
          run, *layout, static_cast<size_t>(std::max<int64_t>(c.cohort.schools, 1)));
      if (cost.ok()) establishment["epsilon"] = cost->epsilon;
    }
  }
  nlohmann::json pupil = "off";
  if (c.pupil_dp.enabled != 0) {
    protocol::WirePupilDp run = c.pupil_dp;
    run.rounds = c.rounds;
    pupil = exchange::PupilDpReport(run, exchange::RunSteps(run, c.local_epochs), std::nullopt);
    if (auto cost = exchange::RunEpsilon(run, c.local_epochs); cost.ok())
      pupil["epsilon"] = cost->epsilon;
  }
  return {{"fairness", {{"attributes", c.fairness}, {"min_group_pupils", c.min_group_pupils}}},
          {"establishment_dp", establishment},
          {"pupil_dp", pupil},
          {"schools", c.cohort.schools},
          {"data", c.data.empty()
                       ? nlohmann::json("synthetic")
                       : nlohmann::json{{"source", c.data},
                                        {"test", c.test_data.empty() ? nlohmann::json(nullptr)
                                                                     : nlohmann::json(c.test_data)},
                                        {"partition", c.partition.text}}},
          {"cohort", c.data.empty() ? CohortJson(c.cohort) : nlohmann::json(nullptr)},
          {"skills", c.cohort.skills},
          {"pupils_per_school", c.cohort.kinds.empty()  // else each kind's, in cohort
                                    ? nlohmann::json{c.cohort.min_pupils, c.cohort.max_pupils}
                                    : nlohmann::json(nullptr)},
          {"answers_per_pupil", {c.cohort.min_answers, c.cohort.max_answers}},
          {"seed", c.cohort.seed},
          {"rounds", c.rounds},
          {"local_epochs", c.local_epochs},
          {"batch_size", c.batch_size},
          {"learning_rate", c.learning_rate},
          {"test_fraction",
           c.test_data.empty() ? nlohmann::json(c.test_fraction) : nlohmann::json(nullptr)},
          {"model", c.model.name},
          {"model_options", c.model.options},
          {"mode", c.mode == SimulationMode::kInProcess ? "inproc"
                   : c.mode == SimulationMode::kPools   ? "pools"
                                                        : "processes"},
          {"strategy", c.strategy},
          {"strategy_options", c.strategy_options},
          {"secure_aggregation",
           c.secagg.enabled
               ? nlohmann::json{{"protocol", "SecAgg+"},
                                {"neighbours", c.secagg.neighbours < 0 ? nlohmann::json("auto")
                                               : c.secagg.neighbours == 0
                                                   ? nlohmann::json("full")
                                                   : nlohmann::json(c.secagg.neighbours)},
                                {"modulus_bits", c.secagg.modulus_bits}}
               : nlohmann::json("off")},
          {"contribution",
           {{"value_range", c.contribution.value_range},
            {"weight_cap", c.contribution.weight_cap},
            {"max_norm", c.contribution.max_norm}}},
          {"transport", Transport(c)}};
}

nlohmann::json Faults(const ScenarioConfig& config, const FederationResult& federation) {
  const DropoutPlan& dropout = config.dropout;
  const StragglerPlan& stragglers = config.stragglers;
  const CrashPlan& crash_plan = config.crashes;
  const ByzantinePlan& byzantine = config.byzantine;
  if (dropout.rate <= 0 && stragglers.rate <= 0 && crash_plan.rate <= 0 && byzantine.fraction <= 0)
    return nullptr;
  const auto seconds = [](Duration d) { return std::chrono::duration<double>(d).count(); };
  nlohmann::json faults = {{"dropout", nullptr}, {"stragglers", nullptr}, {"crashes", nullptr}};
  if (dropout.rate > 0) {
    nlohmann::json injected = nlohmann::json::array();
    std::map<std::string, size_t> by_stage;
    for (const InjectedDropout& d : federation.dropouts) {
      const std::string stage = DropoutStageName(d.stage);
      injected.push_back(
          {{"round", d.round}, {"attempt", d.attempt}, {"school", d.school}, {"stage", stage}});
      by_stage[stage] += 1;
    }
    faults["dropout"] = {{"rate", dropout.rate},
                         {"stage", DropoutStageName(dropout.stage)},
                         {"injected", injected},
                         {"by_stage", by_stage}};
  }
  if (stragglers.rate > 0) {
    nlohmann::json injected = nlohmann::json::array();
    for (const InjectedDelay& d : federation.delays) {
      injected.push_back({{"round", d.round},
                          {"attempt", d.attempt},
                          {"school", d.school},
                          {"delay_s", seconds(d.delay)}});
    }
    faults["stragglers"] = {{"rate", stragglers.rate},
                            {"mean_delay_s", seconds(stragglers.mean_delay)},
                            {"injected", injected}};
  }
  if (crash_plan.rate > 0) {
    nlohmann::json injected = nlohmann::json::array();
    for (const InjectedCrash& c : federation.crashes) {
      injected.push_back({{"round", c.round},
                          {"attempt", c.attempt},
                          {"school", c.school},
                          {"stage", DropoutStageName(c.stage)},
                          {"downtime_s", seconds(c.downtime)}});
    }
    faults["crashes"] = {{"rate", crash_plan.rate},
                         {"mean_downtime_s", seconds(crash_plan.mean_downtime)},
                         {"injected", injected}};
  }
  if (byzantine.fraction > 0) {
    faults["byzantine"] = {{"fraction", byzantine.fraction},
                           {"attack", AttackName(byzantine)},
                           {"schools", federation.byzantine},
                           {"tampered_updates", federation.tampered}};
  }
  return faults;
}

Status WriteReport(const nlohmann::json& report, const std::filesystem::path& path) {
  return WriteFileAtomically(path, report.dump(2) + "\n");
}

}  // namespace cartable::simulations
