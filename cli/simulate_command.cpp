// `cartable simulate`: a whole federation of synthetic schools on this machine, in this process or
// one process per school.

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/command.h"
#include "cli/secagg_flags.h"
#include "cli/simulate_options.h"
#include "core/logging.h"
#include "core/number_text.h"
#include "core/subprocess.h"
#include "exchange/establishment_dp_wire.h"
#include "exchange/pupil_dp_wire.h"
#include "models/model.h"
#include "simulations/scenario.h"

namespace cartable::cli {
namespace {

// --strategy-option KEY=VALUE flags, each VALUE a number.
Status ParseStrategyOptions(const std::vector<std::string>& flags,
                            std::map<std::string, double>& into) {
  std::map<std::string, std::string> text;
  CARTABLE_RETURN_IF_ERROR(
      ParseKeyValueFlags(flags, "--strategy-option", "trim_fraction=0.2", text));
  for (const auto& [key, value] : text) {
    size_t used = 0;
    try {
      into[key] = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value.size()) {
      std::string message = "--strategy-option '";
      message.append(key).append("=").append(value);
      return InvalidArgumentError(message.append("': expected KEY=NUMBER, e.g. trim_fraction=0.2"));
    }
  }
  return Status::Ok();
}

// Up to this many schools, `--mode auto` starts one process per school, as a deployment runs;
// above, it runs them in process.
constexpr int kAutoProcessSchools = 24;

// --round-timeout, or by default 120 s, plus in process 0.2 s per school each worker thread serves:
// there every school's training and masking queue for the same few threads, so a stage of
// thousands of schools takes minutes without anyone being late.
Duration RoundTimeout(const SimulateOptions& o) {
  if (o.round_timeout_s > 0) return std::chrono::seconds(o.round_timeout_s);
  double seconds = 120;
  if (o.scenario.mode == simulations::SimulationMode::kInProcess ||
      o.scenario.mode == simulations::SimulationMode::kPools) {
    seconds += 0.2 * o.scenario.cohort.schools / static_cast<double>(o.scenario.workers);
  }
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// --mode and --workers into the scenario.
Status ApplyMode(const SimulateOptions& o, simulations::ScenarioConfig& scenario) {
  if (o.mode == "inproc") {
    scenario.mode = simulations::SimulationMode::kInProcess;
  } else if (o.mode == "processes") {
    scenario.mode = simulations::SimulationMode::kProcesses;
  } else if (o.mode == "pools") {
    scenario.mode = simulations::SimulationMode::kPools;
  } else if (o.mode == "auto") {
    scenario.mode = scenario.cohort.schools <= kAutoProcessSchools && scenario.data.empty() &&
                            scenario.dropout.rate == 0 && scenario.stragglers.rate == 0 &&
                            scenario.crashes.rate == 0 && scenario.byzantine.fraction == 0
                        ? simulations::SimulationMode::kProcesses
                        : simulations::SimulationMode::kInProcess;
  } else {
    return InvalidArgumentError("--mode '" + o.mode +
                                "': expected inproc, processes, pools or auto");
  }
  if (scenario.mode != simulations::SimulationMode::kPools) {
    for (const char* flag : {"--pools", "--bind", "--external-pools"}) {
      if (o.given_flags.contains(flag))
        return InvalidArgumentError(std::string(flag) + " goes with --mode pools");
    }
  }
  if (scenario.mode == simulations::SimulationMode::kInProcess && !scenario.curve) {
    return InvalidArgumentError(
        "--insecure turns off CURVE between node processes; in process there is no connection "
        "to secure: add --mode processes");
  }
  if (!scenario.data.empty()) {
    CARTABLE_ASSIGN_OR_RETURN(scenario.partition, simulations::ParsePartition(o.partition));
    if (scenario.partition.kind == simulations::PartitionSpec::Kind::kBy && o.schools_given) {
      return InvalidArgumentError("--schools " + std::to_string(scenario.cohort.schools) +
                                  " does not apply to --partition " + o.partition +
                                  ": each value of the column is one school");
    }
  }
  auto stage = simulations::DropoutStageNamed(o.dropout_stage);
  if (!stage.ok()) return stage.status().WithContext("--dropout-stage");
  scenario.dropout.stage = *stage;
  // CLI11's range checks let "nan" through.
  for (const auto& [flag, value] :
       std::vector<std::pair<const char*, double>>{{"--dropout", scenario.dropout.rate},
                                                   {"--stragglers", scenario.stragglers.rate},
                                                   {"--byzantine", scenario.byzantine.fraction},
                                                   {"--straggler-delay", o.straggler_delay_s},
                                                   {"--crashes", scenario.crashes.rate},
                                                   {"--restart-after", o.restart_after_s}}) {
    if (!std::isfinite(value)) return InvalidArgumentError(std::string(flag) + ": not a number");
  }
  scenario.stragglers.mean_delay =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(o.straggler_delay_s));
  scenario.crashes.mean_downtime =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(o.restart_after_s));
  CARTABLE_RETURN_IF_ERROR(
      simulations::ParseAttack(o.attack, scenario.byzantine).WithContext("--attack"));
  CARTABLE_RETURN_IF_ERROR(ParseStrategyOptions(o.strategy_options, scenario.strategy_options));
  return ParseModelOptions(o.model_options, scenario.model.options);
}

// --noise-multiplier and its companions into the scenario: DP-SGD per pupil at every school.
Status ApplyPupilDp(const SimulateOptions& o, simulations::ScenarioConfig& scenario) {
  if (o.noise_multiplier == 0) return Status::Ok();
  scenario.pupil_dp = {1,       o.noise_multiplier, o.clip_norm, o.sampling_rate,
                       o.delta, scenario.rounds};
  if (Status s = exchange::CheckPupilDp(scenario.pupil_dp); !s.ok()) {
    return InvalidArgumentError("--noise-multiplier " + std::to_string(o.noise_multiplier) + ": " +
                                s.message());
  }
  return Status::Ok();
}

// --establishment-noise and its companions into the scenario; errors name the flag.
Status ApplyEstablishmentDp(const SimulateOptions& o, simulations::ScenarioConfig& scenario) {
  if (o.establishment_noise == 0) return Status::Ok();
  if (o.establishment_noise < 0.1) {
    return InvalidArgumentError("--establishment-noise " + std::to_string(o.establishment_noise) +
                                " is below 0.1, too little to protect anything; 0 turns it off");
  }
  const int schools = scenario.cohort.schools;
  if (!scenario.secagg.enabled) {
    return InvalidArgumentError(
        "--establishment-noise adds its noise under secure aggregation; drop --secagg off");
  }
  if (!(scenario.contribution.max_norm > 0)) {
    return InvalidArgumentError(
        "--establishment-noise needs a norm bound on each school's update: add --max-norm "
        "(for example 1)");
  }
  if (scenario.contribution.weight_cap != 1) {
    return InvalidArgumentError(
        "--establishment-noise weighs every school the same: add --weight-cap 1");
  }
  const int contributors =
      o.min_contributors > 0 ? o.min_contributors : std::max(3, (schools + 1) / 2);
  if (contributors > schools) {
    return InvalidArgumentError("--min-contributors " + std::to_string(contributors) +
                                " is above the " + std::to_string(schools) + " schools");
  }
  scenario.establishment_dp = {1, o.establishment_noise, static_cast<uint32_t>(contributors),
                               o.delta, scenario.rounds};
  return exchange::CheckEstablishmentDp(scenario.establishment_dp);
}

// "2 late, 1 refused": why nodes were dropped from a round.
std::string DropReasons(const std::map<std::string, size_t>& by_reason) {
  std::string out;
  for (const auto& [why, n] : by_reason) {
    out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + why;
  }
  return out;
}

void PrintRound(const coordinator::RoundRecord& r, uint32_t rounds) {
  std::printf(
      "round %3u/%u  nodes %2zu of %zu asked  train loss %.4f  held-out AUC %s  %.2f s%s\n",
      r.round, rounds, r.nodes, r.asked, r.train_loss,
      r.auc ? std::to_string(*r.auc).substr(0, 6).c_str() : "  n/a ", r.seconds,
      r.dropped.empty() ? "" : ("  (dropped: " + DropReasons(r.dropped_by_reason) + ")").c_str());
  std::fflush(stdout);
}

// Progress of the baselines on stderr: a bar redrawn in place on a terminal, else a line at each
// quarter.
std::function<void(size_t, size_t)> BaselineProgress(bool terminal) {
  return [terminal, last_quarter = -1](size_t done, size_t total) mutable {
    const double fraction = total == 0 ? 1.0 : static_cast<double>(done) / total;
    if (terminal) {
      const int filled = static_cast<int>(fraction * 30);
      std::fprintf(stderr,
                   "\rbaselines [%s%s] %zu/%zu trainings (pooled, then each school alone)%s",
                   std::string(static_cast<size_t>(filled), '#').c_str(),
                   std::string(static_cast<size_t>(30 - filled), '.').c_str(), done, total,
                   done == total ? "\n" : "");
    } else if (const int quarter = static_cast<int>(fraction * 4); quarter > last_quarter) {
      last_quarter = quarter;
      std::fprintf(stderr, "baselines: %zu/%zu trainings (pooled, then each school alone)\n", done,
                   total);
    }
    std::fflush(stderr);
  };
}

// The last round's table by subgroup, as report.json holds it.
void PrintFairness(const nlohmann::json& table) {
  if (!table.is_object()) return;
  auto figure = [](const nlohmann::json& v) {
    return v.is_null() ? std::string("-") : NumberText(v.get<double>(), 3);
  };
  std::printf("fairness (last round, subgroups under %llu pupils suppressed):\n",
              static_cast<unsigned long long>(table["min_group_pupils"].get<uint64_t>()));
  std::printf("  %-28s %8s %6s %6s %6s %6s\n", "subgroup", "pupils", "AUC", "ECE", "TPR", "flags");
  for (const nlohmann::json& row : table["rows"]) {
    const std::string name =
        row["attribute"].get<std::string>() + " = " + row["value"].get<std::string>();
    if (row["suppressed"].get<bool>()) {
      std::printf("  %-28s suppressed\n", name.c_str());
      continue;
    }
    std::printf("  %-28s %8llu %6s %6s %6s %6s\n", name.c_str(),
                static_cast<unsigned long long>(row["pupils"].get<uint64_t>()),
                figure(row["auc"]).c_str(), figure(row["calibration_error"]).c_str(),
                figure(row["true_positive_rate"]).c_str(), figure(row["flag_rate"]).c_str());
  }
  for (const nlohmann::json& gap : table["gaps"]) {
    std::printf("  %s: equal-opportunity gap %s, demographic-parity gap %s\n",
                gap["attribute"].get<std::string>().c_str(),
                figure(gap["equal_opportunity"]).c_str(),
                figure(gap["demographic_parity"]).c_str());
  }
}

void PrintSummary(const nlohmann::json& report, const std::string& path) {
  const nlohmann::json& who = report["participation"];
  std::printf("\n%zu schools simulated; %zu joined", who["schools"].get<size_t>(),
              who["most_joined"].get<size_t>());
  if (who["never_joined"].get<size_t>() > 0)
    std::printf(" (%zu never did)", who["never_joined"].get<size_t>());
  std::printf("; over the rounds %zu updates asked, %zu entered the sums",
              who["asked"].get<size_t>(), who["answered"].get<size_t>());
  if (!who["dropped_by_reason"].empty()) {
    std::printf(", dropped: %s",
                DropReasons(who["dropped_by_reason"].get<std::map<std::string, size_t>>()).c_str());
  }
  const nlohmann::json faults =
      report["faults"].is_object() ? report["faults"] : nlohmann::json::object();
  if (const nlohmann::json dropout = faults.value("dropout", nlohmann::json());
      dropout.is_object()) {
    std::printf("; dropouts injected (rate %s, stage %s): %zu",
                NumberText(dropout["rate"].get<double>(), 3).c_str(),
                dropout["stage"].get<std::string>().c_str(), dropout["injected"].size());
  }
  if (const nlohmann::json byzantine = faults.value("byzantine", nlohmann::json());
      byzantine.is_object()) {
    std::printf("; Byzantine schools (%s): %zu, %zu updates tampered with",
                byzantine["attack"].get<std::string>().c_str(), byzantine["schools"].size(),
                byzantine["tampered_updates"].get<size_t>());
  }
  if (const nlohmann::json slow = faults.value("stragglers", nlohmann::json()); slow.is_object()) {
    std::printf("; stragglers injected (rate %s, mean delay %s s): %zu",
                NumberText(slow["rate"].get<double>(), 3).c_str(),
                NumberText(slow["mean_delay_s"].get<double>(), 3).c_str(), slow["injected"].size());
  }
  if (const nlohmann::json crashes = faults.value("crashes", nlohmann::json());
      crashes.is_object()) {
    std::printf("; crashes injected (rate %s, mean downtime %s s): %zu",
                NumberText(crashes["rate"].get<double>(), 3).c_str(),
                NumberText(crashes["mean_downtime_s"].get<double>(), 3).c_str(),
                crashes["injected"].size());
  }
  std::printf("\n\nheld-out AUC on the same pupils (model %s):\n",
              report["config"]["model"].get<std::string>().c_str());
  std::printf("  federated    %.4f   (%d rounds, only model updates left each school)\n",
              report["federated"]["auc"].get<double>(), report["config"]["rounds"].get<int>());
  std::printf("  centralized  %.4f   (the same model trained on all schools' data pooled)\n",
              report["centralized"]["auc"].get<double>());
  std::printf("  local only   %.4f   (mean over schools, each training alone)\n",
              report["local_only"]["auc"].get<double>());
  if (report["oracle"].is_object()) {
    std::printf("  oracle       %.4f   (the generator's true probabilities: the ceiling)\n",
                report["oracle"]["auc"].get<double>());
  }
  const nlohmann::json& dp = report["config"]["establishment_dp"];
  if (dp.is_object() && dp.contains("epsilon")) {
    std::printf(
        "privacy: each school's contribution is protected with ε = %.3g at δ = %.3g, "
        "even towards the coordinator (noise multiplier %.4g over %d schools)\n",
        dp["epsilon"].get<double>(), dp["delta"].get<double>(),
        dp["noise_multiplier"].get<double>(), dp["min_contributors"].get<int>());
  }
  const nlohmann::json& pupil = report["config"]["pupil_dp"];
  if (pupil.is_object() && pupil.contains("epsilon")) {
    std::printf(
        "privacy: DP-SGD per pupil at every school; the run costs each pupil ε = %.3g "
        "at δ = %.3g (%llu steps, noise multiplier %.4g)\n",
        pupil["epsilon"].get<double>(), pupil["delta"].get<double>(),
        static_cast<unsigned long long>(pupil["steps"].get<uint64_t>()),
        pupil["noise_multiplier"].get<double>());
  }
  PrintFairness(report["fairness"]);
  std::printf("report written to %s (report.html and rounds.csv beside it%s)\n", path.c_str(),
              report["fairness"].is_object() ? ", and fairness.csv" : "");
}

int Run(SimulateOptions& o) {
  if (Status s = SetupLogging(o.log_level, "simulate"); !s.ok()) return ReportFailure(s);
  if (Status s = ApplyMode(o, o.scenario); !s.ok()) return ReportFailure(s);
  if (o.scenario.mode != simulations::SimulationMode::kInProcess)
    RaiseFileLimit(static_cast<size_t>(o.scenario.cohort.schools), "cartable simulate");
  auto executable = CurrentExecutable();
  if (!executable.ok()) return ReportFailure(executable.status());
  o.scenario.executable = *executable;
  o.scenario.out_dir = o.out_dir;
  o.scenario.log_level = o.log_level;
  o.scenario.round_timeout = RoundTimeout(o);
  if (Status s = ApplySecAggFlags(o.secagg, o.scenario.secagg, o.scenario.contribution,
                                  static_cast<size_t>(o.scenario.cohort.schools));
      !s.ok()) {
    return ReportFailure(s);
  }
  if (Status s = ApplyEstablishmentDp(o, o.scenario); !s.ok()) return ReportFailure(s);
  if (Status s = ApplyPupilDp(o, o.scenario); !s.ok()) return ReportFailure(s);
  if (Status s = simulations::Validate(o.scenario); !s.ok()) return ReportFailure(s);
  InstallShutdownHandler();
  const uint32_t rounds = o.scenario.rounds;
  simulations::ScenarioProgress progress;
  if (!o.json) {
    progress.round = [&](const coordinator::RoundRecord& r) { PrintRound(r, rounds); };
    progress.baselines = BaselineProgress(isatty(STDERR_FILENO) != 0);
  }
  auto report = simulations::RunScenario(o.scenario, progress);
  if (ShutdownRequested()) {
    std::cerr << "cartable: interrupted; node processes stopped, no report written\n";
    return kExitInterrupted;
  }
  if (!report.ok()) return ReportFailure(report.status());
  const std::string path = (o.scenario.out_dir / "report.json").string();
  if (o.json) {
    std::cout << report->dump(2) << std::endl;
  } else {
    PrintSummary(*report, path);
  }
  return kExitOk;
}

}  // namespace

Runner AddSimulateCommand(CLI::App& app) {
  auto o = std::make_shared<SimulateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "simulate",
      "Run a federation of synthetic schools, or of a dataset split into virtual schools, with "
      "the\n"
      "deployed round logic and secure aggregation: in this process (--mode inproc), one node\n"
      "process per school over ZeroMQ with CURVE (--mode processes), or node pools hosting the\n"
      "schools, on this machine or others (--mode pools); then compare the federated model with\n"
      "pooled and school-alone training.");
  auto& c = o->scenario.cohort;
  CLI::Option* schools = cmd->add_option("--schools", c.schools, "Number of establishments")
                             ->default_val(8)
                             ->check(CLI::Range(1, 100000));
  cmd->add_option("--mode", o->mode,
                  "inproc: every school's node session in this process on --workers threads;\n"
                  "processes: one `cartable node` process per school (at most 200);\n"
                  "pools: --pools `cartable node pool` processes, each hosting a share of the\n"
                  "schools over ZeroMQ, started here or, with --external-pools, elsewhere;\n"
                  "auto: processes up to " +
                      std::to_string(kAutoProcessSchools) +
                      " synthetic schools, inproc above, for --data and for faults")
      ->default_val("auto");
  cmd->add_option(
         "--workers", o->scenario.workers,
         "In process, and in each pool: threads that run the schools' training and masking")
      ->default_val(std::max(1u, std::thread::hardware_concurrency()))
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--pools", o->scenario.pools,
                  "With --mode pools: how many `cartable node pool` processes host the schools")
      ->default_val(2)
      ->check(CLI::Range(1, 100000))
      ->group("Beyond one machine");
  cmd->add_option("--bind", o->scenario.bind,
                  "With --mode pools: where the coordinator listens (e.g. tcp://*:7450 for pools\n"
                  "on other machines); its endpoint goes to OUT/pool.json")
      ->default_val("tcp://127.0.0.1:*")
      ->group("Beyond one machine");
  cmd->add_flag("--external-pools", o->scenario.external_pools,
                "With --mode pools: start no pool here; wait (up to 30 minutes for the first\n"
                "round) for pools a scheduler starts with `cartable node pool --from OUT`, OUT\n"
                "on a filesystem their machines see (docs/simulation-guide.md)")
      ->group("Beyond one machine");
  std::string known;
  for (const auto& [name, what] : models::KnownModels()) {
    auto input = models::InputOf(name);
    if (input.ok() && *input == models::ModelInput::kAnswers) {
      known += (known.empty() ? "" : ", ") + name;
    }
  }
  cmd->add_option("--model", o->scenario.model.name,
                  "Model every school trains (answers models: " + known + ")")
      ->default_val("pfa");
  cmd->add_option(
         "--data", o->scenario.data,
         "A real dataset FORMAT:PATH (csv, kt3, pykt, xapi, oulad, records) split into virtual\n"
         "schools by --partition, instead of the synthetic cohort")
      ->group("Real data");
  cmd->add_option("--test", o->scenario.test_data,
                  "Held-out pupils from their own file FORMAT:PATH (same format and columns as\n"
                  "--data), each placed in the school --partition put them in (a pupil in both\n"
                  "files stays in one school); the schools then train on all their --data pupils\n"
                  "and --test-fraction does not apply")
      ->group("Real data");
  cmd->add_option("--partition", o->partition,
                  "How --data is split, pupil by pupil: iid (--schools schools), quantity:ALPHA\n"
                  "(school sizes ~ Dirichlet(ALPHA)), dirichlet:ALPHA (label skew) or by:COLUMN\n"
                  "(one school per value, e.g. by:region for oulad)")
      ->default_val("iid")
      ->group("Real data");
  cmd->add_option("--fairness", o->scenario.fairness,
                  "Pupil attributes whose subgroups the last round's evaluation reports by, each\n"
                  "value one subgroup, securely summed (e.g. gender,age_band,disability,imd_band\n"
                  "for oulad; group for csv and xapi): AUC, calibration, true-positive and flag\n"
                  "rates, and their gaps in report.json's fairness table")
      ->delimiter(',')
      ->group("Real data");
  cmd->add_option("--min-group-pupils", o->scenario.min_group_pupils,
                  "Subgroups with fewer pupils federation-wide show no figure (and one more is\n"
                  "hidden where the rest would give a small one away)")
      ->default_val(10)
      ->check(CLI::Range(1, 1000000))
      ->group("Real data");
  cmd->add_option("--option", o->model_options,
                  "Model hyperparameter KEY=VALUE, repeatable (e.g. hidden_size=32)");
  cmd->add_option("--rounds", o->scenario.rounds, "Federated rounds")
      ->default_val(10)
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--seed", c.seed, "Seed of the cohort, the split and the training")
      ->default_val(1);
  cmd->add_option("--out", o->out_dir,
                  "Directory for report.json, the schools' CSV files and node logs")
      ->default_val("cartable-out");
  cmd->add_option(
         "--scenario", o->scenario_file,
         "A TOML file describing the federation (establishments and their kinds, the\n"
         "cohort generator and its non-IID knobs, the model, the data); a flag given here\n"
         "wins over its key (docs/simulation-guide.md)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--generator", o->generator,
                  "The synthetic cohort: irt (item response with practice) or bkt (knowledge\n"
                  "tracing with forgetting and prerequisites)")
      ->check(CLI::IsMember({"irt", "bkt"}))
      ->default_val("irt");
  cmd->add_option("--skill-coverage", c.skill_coverage,
                  "Share of the skills each synthetic school practises, drawn per school (non-IID)")
      ->default_val(1.0)
      ->check(CLI::Range(1e-9, 1.0));
  cmd->add_option("--skills", c.skills, "Skills in the synthetic curriculum")
      ->default_val(20)
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--local-epochs", o->scenario.local_epochs,
                  "Passes over its data a node makes per round")
      ->default_val(1)
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--batch-size", o->scenario.batch_size, "Minibatch size of local training")
      ->default_val(64)
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--learning-rate", o->scenario.learning_rate, "Adam step size of local training")
      ->default_val(0.05)
      ->check(CLI::PositiveNumber);
  cmd->add_option("--test-fraction", o->scenario.test_fraction,
                  "Share of each school's pupils held out (without --test)")
      ->default_val(0.2)
      ->check(CLI::Range(0.01, 0.99));
  cmd->add_option("--round-timeout", o->round_timeout_s,
                  "Seconds a round stage waits for nodes; 0: 120, plus in process 0.2 per school\n"
                  "each worker thread serves")
      ->default_val(0)
      ->check(CLI::Range(0, 86400));
  cmd->add_option("--dropout", o->scenario.dropout.rate,
                  "Probability that a school drops out part way through a round, drawn per\n"
                  "school and attempt from --seed (in process). A school that drops costs its\n"
                  "stage the whole --round-timeout: set that to a few seconds for a study")
      ->default_val(0)
      ->check(CLI::Range(0.0, 1.0))
      ->group("Faults");
  cmd->add_option("--dropout-stage", o->dropout_stage,
                  "Where a dropping school goes silent: advertise, share, masked, consistency or\n"
                  "unmask with secure aggregation, train without, or any of them at random")
      ->default_val("any")
      ->group("Faults");
  cmd->add_option(
         "--stragglers", o->scenario.stragglers.rate,
         "Probability that a school is slow in a round: all it sends in that round leaves\n"
         "late by a delay drawn per school and attempt from --seed (in process)")
      ->default_val(0)
      ->check(CLI::Range(0.0, 1.0))
      ->group("Faults");
  cmd->add_option("--straggler-delay", o->straggler_delay_s,
                  "Mean of a slow school's delay in seconds (exponentially distributed); against\n"
                  "--round-timeout, a long one makes the school miss the stage")
      ->default_val(5)
      ->check(CLI::Range(0.0, 3600.0))
      ->group("Faults");
  cmd->add_option("--crashes", o->scenario.crashes.rate,
                  "Probability that a school crashes in a round, at a stage drawn as for\n"
                  "--dropout (in process): it loses the round's secrets, is silent for\n"
                  "--restart-after seconds, then restarts and takes part from the next round")
      ->default_val(0)
      ->check(CLI::Range(0.0, 1.0))
      ->group("Faults");
  cmd->add_option("--restart-after", o->restart_after_s,
                  "Mean of a crashed school's downtime in seconds (exponentially distributed)")
      ->default_val(10)
      ->check(CLI::Range(0.0, 3600.0))
      ->group("Faults");
  cmd->add_option("--byzantine", o->scenario.byzantine.fraction,
                  "Share of the schools that tamper with their updates in every round (--attack),\n"
                  "drawn from --seed; in process, with --secagg off")
      ->default_val(0)
      ->check(CLI::Range(0.0, 1.0))
      ->group("Faults");
  cmd->add_option("--attack", o->attack,
                  "What a Byzantine school does to its update, within the bounds the coordinator\n"
                  "checks: sign_flip, scale:F, or noise:SIGMA (Gaussian, times its weight)")
      ->default_val("sign_flip")
      ->group("Faults");
  cmd->add_option("--strategy", o->scenario.strategy,
                  "How the coordinator combines updates: fedavg, fedprox, fedavgm, fedadagrad,\n"
                  "fedadam, fedyogi, median, trimmed_mean or krum (the last three with --secagg\n"
                  "off; `cartable plan strategies` lists their options)")
      ->default_val("fedavg");
  cmd->add_option("--strategy-option", o->strategy_options,
                  "An option of the strategy as KEY=NUMBER, e.g. trim_fraction=0.2; repeatable");
  cmd->add_option("--log-level", o->log_level, "trace, debug, info, warn, error or off")
      ->default_val("info");
  cmd->add_flag(
      "--insecure", [o](int64_t) { o->scenario.curve = false; },
      "Run without CURVE (to measure its cost); by default every connection is encrypted and\n"
      "authenticated with fresh keys written to OUT/keys/");
  cmd->add_flag("--json", o->json,
                "Print the whole report as JSON on stdout instead of progress lines");
  AddSecAggFlags(cmd, o->secagg);
  cmd->add_option("--establishment-noise", o->establishment_noise,
                  "Establishment-level DP: each school adds its share of discrete Gaussian noise "
                  "before masking, so the sum of --min-contributors schools carries Z times the "
                  "largest change one school can make (needs --max-norm and --weight-cap 1); 0 "
                  "for none")
      ->default_val(0.0)
      ->check(CLI::Range(0.0, 1000.0))
      ->group("Privacy");
  cmd->add_option(
         "--min-contributors", o->min_contributors,
         "Fewest schools whose noisy sum may be unmasked (0: half the schools, at least 3)")
      ->default_val(0)
      ->check(CLI::Range(0, 1000000))
      ->group("Privacy");
  cmd->add_option("--noise-multiplier", o->noise_multiplier,
                  "DP-SGD per pupil at every school: Gaussian noise of Z times --clip-norm on "
                  "each step's summed gradient (0: plain training; at least 0.1)")
      ->default_val(0.0)
      ->check(CLI::Range(0.0, 1000.0))
      ->group("Privacy");
  cmd->add_option("--clip-norm", o->clip_norm, "DP-SGD: each pupil's gradient is clipped to it")
      ->default_val(1.0)
      ->check(CLI::Range(1e-6, 1e6))
      ->group("Privacy");
  cmd->add_option("--sampling-rate", o->sampling_rate,
                  "DP-SGD: each pupil's chance to be drawn at each step")
      ->default_val(0.05)
      ->check(CLI::Range(1e-6, 1.0))
      ->group("Privacy");
  cmd->add_option("--delta", o->delta, "δ of the (ε, δ) the report states")
      ->default_val(1e-5)
      ->check(CLI::Range(1e-12, 0.1))
      ->group("Privacy");
  cmd->footer(
      "Examples: cartable simulate --schools 8 --rounds 10 --out /tmp/run1\n"
      "          cartable simulate --schools 1000 --model irt1pl --rounds 3 --out /tmp/run2\n"
      "          cartable simulate --data oulad:data/oulad --partition by:region --model logistic\n"
      "            --fairness gender,age_band,disability,imd_band --out /tmp/run4\n"
      "          cartable simulate --model dkt --option hidden_size=32 --out /tmp/run3\n"
      "          cartable simulate --scenario docs/scenarios/academy.toml --out /tmp/run5\n"
      "Output: one line per round (nodes that answered, their mean training loss, the new\n"
      "global model's AUC on held-out pupils computed from summed statistics, seconds), then\n"
      "the comparison with the baselines. Ctrl-C stops the coordinator and every node; no\n"
      "partial report is written.");
  return [o, schools, cmd] {
    o->schools_given = schools->count() > 0;
    const GivenFlag given = [cmd](const std::string& flag) {
      const CLI::Option* option = cmd->get_option_no_throw(flag);
      return option != nullptr && option->count() > 0;
    };
    for (const char* flag : {"--pools", "--bind", "--external-pools"}) {
      if (given(flag)) o->given_flags.insert(flag);
    }
    if (Status s = ApplyScenarioFile(*o, given); !s.ok()) return ReportFailure(s);
    o->scenario.cohort.generator = o->generator == "bkt"
                                       ? simulations::CohortConfig::Generator::kBkt
                                       : simulations::CohortConfig::Generator::kIrt;
    return Run(*o);
  };
}

}  // namespace cartable::cli
