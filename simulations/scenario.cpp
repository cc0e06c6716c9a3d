#include "simulations/scenario.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "aggregation/secagg/hkdf.h"
#include "aggregation/strategies/strategy.h"
#include "audit/audit_log.h"
#include "coordinator/round_record_json.h"
#include "coordinator/run_artefacts.h"
#include "coordinator/secure_sum.h"
#include "core/files.h"
#include "core/number_text.h"
#include "core/subprocess.h"
#include "exchange/model_wire.h"
#include "ingest/csv_source.h"
#include "ingest/formats.h"
#include "ingest/pseudonymizer.h"
#include "ingest/pupil_attributes.h"
#include "ingest/records_csv_source.h"
#include "models/fairness_json.h"
#include "simulations/inprocess_federation.h"
#include "simulations/partition.h"
#include "simulations/process_federation.h"
#include "simulations/report.h"
#include "simulations/report_html.h"

namespace cartable::simulations {
namespace {

// The generator's true probabilities on the held-out answers: the best any model could do.
StatusOr<Scores> OracleScores(const std::vector<SyntheticSchool>& cohort,
                              const std::vector<VirtualSchool>& schools) {
  std::unordered_map<std::string, const SyntheticPupil*> by_id;  // by each school's pseudonym
  for (size_t s = 0; s < cohort.size(); ++s) {
    CARTABLE_ASSIGN_OR_RETURN(ingest::Pseudonymizer pseudonymizer,
                              ingest::Pseudonymizer::LoadOrCreate(schools[s].pseudonym_key));
    for (const SyntheticPupil& p : cohort[s].pupils) by_id[pseudonymizer.Pseudonym(p.id)] = &p;
  }
  std::vector<float> p;
  std::vector<uint8_t> y;
  for (const VirtualSchool& school : schools) {
    for (const std::string& key : school.split.test.pupil_keys) {
      for (const SyntheticAnswer& a : by_id.at(key)->answers) {
        p.push_back(a.probability);
        y.push_back(a.correct);
      }
    }
  }
  return ScoresOf(p, y);
}

// A school's file read back through its node's own adapter, under its own key, and split as its
// node splits it, so baselines see exactly what the node sees. The key is derived from the
// scenario's seed, so that a simulation (whose split by pupil depends on the pseudonyms) is
// reproducible; real nodes draw theirs at random.
Status ReadBackAsItsNode(const ScenarioConfig& config, uint32_t num_skills,
                         const std::string& advice, VirtualSchool& school) {
  CARTABLE_RETURN_IF_ERROR(ingest::InsecureWriteSeededPseudonymKey(config.cohort.seed, school.name,
                                                                   school.pseudonym_key));
  CARTABLE_ASSIGN_OR_RETURN(ingest::Pseudonymizer pseudonymizer,
                            ingest::Pseudonymizer::LoadOrCreate(school.pseudonym_key));
  CARTABLE_ASSIGN_OR_RETURN(
      models::InteractionLog log,
      ingest::LoadData(school.format + ":" + school.file.string(), &pseudonymizer));
  log.num_skills = num_skills;
  log.num_items = 0;  // item ids are numbered per file: the federation's models use skills
  school.split = models::SplitByPupil(log, config.test_fraction, config.cohort.seed);
  if (school.split.train.num_pupils() == 0 || school.split.test.num_pupils() == 0) {
    return FailedPreconditionError(school.name + " has no pupil on one side of the split; " +
                                   advice);
  }
  return Status::Ok();
}

StatusOr<std::vector<VirtualSchool>> PrepareSchools(const ScenarioConfig& config,
                                                    const std::vector<SyntheticSchool>& cohort) {
  const auto data_dir = config.out_dir / "data";
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(data_dir));
  std::vector<VirtualSchool> schools;
  const auto key_dir = config.out_dir / "pseudonym-keys";
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(key_dir));
  for (const SyntheticSchool& s : cohort) {
    VirtualSchool school{s.name, data_dir / (s.name + ".csv"), key_dir / (s.name + ".key"), {}};
    CARTABLE_RETURN_IF_ERROR(WriteLongCsv(s, school.file));
    CARTABLE_RETURN_IF_ERROR(ReadBackAsItsNode(config, static_cast<uint32_t>(config.cohort.skills),
                                               "raise min_pupils or change test_fraction", school));
    schools.push_back(std::move(school));
  }
  return schools;
}

// A school's identity key derived from the scenario's seed, so that an in-process simulation is
// reproducible (its rounding coins follow from it). Real nodes make theirs with `cartable keygen`.
StatusOr<std::shared_ptr<const aggregation::secagg::SigningKey>> SeededIdentity(
    uint64_t seed, const std::string& school) {
  const std::string info = "cartable simulation identity key " + school;
  CARTABLE_ASSIGN_OR_RETURN(aggregation::secagg::SecretBytes key,
                            aggregation::secagg::InsecureHkdfSha256FromSeed(
                                seed, info, aggregation::secagg::kEd25519SeedSize));
  CARTABLE_ASSIGN_OR_RETURN(aggregation::secagg::SigningKey identity,
                            aggregation::secagg::SigningKey::FromSeed(std::move(key)));
  return std::make_shared<const aggregation::secagg::SigningKey>(std::move(identity));
}

models::ModelSpec ScenarioModel(const ScenarioConfig& config) {
  models::ModelSpec spec = config.model;
  spec.num_skills = static_cast<uint32_t>(config.cohort.skills);
  spec.num_items = 0;
  return spec;
}

// The schools of a partition whose held-out pupils come from their own file: each school trains
// on all its pupils of the training file and is tested on those of the held-out file placed in it.
StatusOr<std::vector<VirtualSchool>> HeldOutSchools(
    const ScenarioConfig& config, const models::InteractionLog& held_out,
    const models::InteractionLog& log, const Partition& partition,
    std::vector<models::InteractionLog> parts, const ingest::PupilAttribute* attribute,
    const std::filesystem::path& key,
    const std::shared_ptr<const models::PupilAttributes>& attributes) {
  CARTABLE_ASSIGN_OR_RETURN(std::vector<uint32_t> school_of,
                            PlaceHeldOutPupils(log, partition, held_out, config.partition,
                                               config.cohort.seed, attribute));
  const size_t n = partition.names.size();
  size_t left_out = 0;
  for (uint32_t& s : school_of) {
    if (s == kNoSchool) {
      s = static_cast<uint32_t>(n);  // the part after the schools', dropped
      ++left_out;
    }
  }
  std::vector<models::InteractionLog> tests = models::PartitionPupils(held_out, school_of, n + 1);
  if (left_out > 0) {
    spdlog::warn("{} of the {} held-out pupils left out: no school of {} has their value of {}",
                 left_out, held_out.num_pupils(), config.data, config.partition.column);
  }
  std::vector<VirtualSchool> schools;
  for (size_t s = 0; s < n; ++s) {
    VirtualSchool school{partition.names[s], {}, key, {}, attributes};
    school.split.train = std::move(parts[s]);
    school.split.test = std::move(tests[s]);
    schools.push_back(std::move(school));
  }
  spdlog::info("{} pupils split {} into {} virtual schools, tested on {} held-out pupils",
               log.num_pupils(), config.partition.text, n, held_out.num_pupils() - left_out);
  return schools;
}

// A real dataset split into virtual schools: read once through its adapter under one pseudonym key
// (the simulation stands for every school), cut pupil by pupil as the partition says, and each
// school's share split into train and test pupils as its node would.
StatusOr<std::vector<VirtualSchool>> PrepareDataSchools(const ScenarioConfig& config,
                                                        models::ModelSpec& spec,
                                                        std::vector<models::Attribute>& subgroups) {
  const auto key_dir = config.out_dir / "pseudonym-keys";
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(key_dir));
  const auto key = key_dir / "dataset.key";
  CARTABLE_RETURN_IF_ERROR(
      ingest::InsecureWriteSeededPseudonymKey(config.cohort.seed, "dataset", key));
  CARTABLE_ASSIGN_OR_RETURN(ingest::Pseudonymizer pseudonymizer,
                            ingest::Pseudonymizer::LoadOrCreate(key));
  spdlog::info("reading {}", config.data);
  CARTABLE_ASSIGN_OR_RETURN(models::InteractionLog log,
                            ingest::LoadData(config.data, &pseudonymizer));
  std::optional<models::InteractionLog> held_out;
  if (!config.test_data.empty()) {
    spdlog::info("reading {}", config.test_data);
    CARTABLE_ASSIGN_OR_RETURN(held_out, ingest::LoadData(config.test_data, &pseudonymizer));
    if (held_out->records.feature_names != log.records.feature_names ||
        (held_out->records.size() == 0) != (log.records.size() == 0)) {
      return InvalidArgumentError(config.test_data + " and " + config.data +
                                  " hold different kinds of data or pupil-record columns");
    }
    log.num_skills = held_out->num_skills = std::max(log.num_skills, held_out->num_skills);
  }
  // A pupil attribute, of both files' pupils.
  const auto load_attribute = [&](const std::string& column) -> StatusOr<ingest::PupilAttribute> {
    CARTABLE_ASSIGN_OR_RETURN(ingest::PupilAttribute values,
                              ingest::LoadPupilAttribute(config.data, column, &pseudonymizer));
    if (held_out) {
      CARTABLE_ASSIGN_OR_RETURN(
          ingest::PupilAttribute more,
          ingest::LoadPupilAttribute(config.test_data, column, &pseudonymizer));
      values.merge(more);  // a pupil in both files keeps its value in the training file
    }
    return values;
  };
  std::optional<ingest::PupilAttribute> attribute;
  if (config.partition.kind == PartitionSpec::Kind::kBy) {
    CARTABLE_ASSIGN_OR_RETURN(attribute, load_attribute(config.partition.column));
  }
  auto attributes = std::make_shared<models::PupilAttributes>();
  for (const std::string& column : config.fairness) {
    CARTABLE_ASSIGN_OR_RETURN(ingest::PupilAttribute values, load_attribute(column));
    // Every value a pupil of the dataset has is a subgroup, in sorted order.
    std::set<std::string> seen;
    for (const auto& [key, value] : values) seen.insert(value);
    subgroups.push_back({column, {seen.begin(), seen.end()}});
    (*attributes)[column] = std::move(values);
  }
  CARTABLE_RETURN_IF_ERROR(models::CheckAttributes(subgroups).WithContext("--fairness"));
  CARTABLE_ASSIGN_OR_RETURN(
      Partition partition,
      PartitionPupilsIntoSchools(log, config.partition, static_cast<size_t>(config.cohort.schools),
                                 config.cohort.seed, attribute ? &*attribute : nullptr));
  CARTABLE_ASSIGN_OR_RETURN(models::ModelInput input, models::InputOf(spec.name));
  if (input == models::ModelInput::kAnswers) {
    if (log.size() == 0) {
      return InvalidArgumentError(config.data + " holds pupil records, no answers: model '" +
                                  spec.name + "' reads answers; pick logistic or mlp");
    }
    spec.num_skills = log.num_skills;
  } else {
    if (log.records.size() == 0) {
      return InvalidArgumentError(config.data + " holds answers, no pupil records: model '" +
                                  spec.name +
                                  "' reads records; pick pfa, irt1pl, irt2pl, dkt or sakt");
    }
    spec.num_features = static_cast<uint32_t>(log.records.num_features());
  }
  spec.num_items = 0;  // item ids may be numbered per file: the federation's models use skills
  CARTABLE_RETURN_IF_ERROR(models::CreateModel(spec).status());
  std::vector<models::InteractionLog> parts =
      models::PartitionPupils(log, partition.school_of, partition.names.size());
  if (held_out) {
    return HeldOutSchools(config, *held_out, log, partition, std::move(parts),
                          attribute ? &*attribute : nullptr, key, attributes);
  }
  std::vector<VirtualSchool> schools;
  if (config.mode != SimulationMode::kInProcess) {
    // Node processes read their school's share from a file of its own, and split it themselves.
    const auto data_dir = config.out_dir / "data";
    CARTABLE_RETURN_IF_ERROR(EnsureDirectory(data_dir));
    const bool records = input == models::ModelInput::kPupilRecords;
    for (size_t s = 0; s < parts.size(); ++s) {
      const std::string& name = partition.names[s];
      VirtualSchool school{name, data_dir / (name + ".csv"), key_dir / (name + ".key"), {}};
      school.format = records ? "records" : "csv";
      CARTABLE_RETURN_IF_ERROR(records ? ingest::WriteRecordsCsv(parts[s], school.file)
                                       : ingest::WriteLongCsv(parts[s], school.file));
      CARTABLE_RETURN_IF_ERROR(ReadBackAsItsNode(
          config, spec.num_skills, "change --test-fraction or the partition", school));
      schools.push_back(std::move(school));
    }
    spdlog::info("{} pupils split {} into {} virtual schools, each in {}/SCHOOL.csv",
                 log.num_pupils(), config.partition.text, schools.size(), data_dir.string());
    return schools;
  }
  for (size_t s = 0; s < parts.size(); ++s) {
    VirtualSchool school{partition.names[s], {}, key, {}, attributes};
    school.split = models::SplitByPupil(parts[s], config.test_fraction, config.cohort.seed);
    if (school.split.train.num_pupils() == 0 || school.split.test.num_pupils() == 0) {
      // Too small to hold out anyone by chance: the first pupil is held out.
      std::vector<uint32_t> side(parts[s].num_pupils(), 0);
      side[0] = 1;
      std::vector<models::InteractionLog> two = models::PartitionPupils(parts[s], side, 2);
      school.split.train = std::move(two[0]);
      school.split.test = std::move(two[1]);
    }
    schools.push_back(std::move(school));
  }
  spdlog::info("{} pupils split {} into {} virtual schools", log.num_pupils(),
               config.partition.text, schools.size());
  return schools;
}

coordinator::RunConfig ScenarioRun(const ScenarioConfig& config, const models::ModelSpec& model,
                                   size_t schools, std::vector<models::Attribute> subgroups) {
  coordinator::RunConfig run;
  run.run_id = 0x636172746162ULL ^ config.cohort.seed;
  run.rounds = config.rounds;
  run.expected_nodes = schools;
  run.min_nodes = std::min<size_t>(schools, std::max<size_t>(2, (schools + 1) / 2));
  run.model = model;
  run.train = {config.local_epochs, config.batch_size, config.learning_rate, config.cohort.seed};
  run.join_timeout = config.join_timeout;
  // Pools started by a scheduler may wait in its queue: the first round waits half an hour.
  if (config.mode == SimulationMode::kPools && config.external_pools)
    run.join_timeout = std::max<Duration>(run.join_timeout, std::chrono::minutes(30));
  run.round_timeout = config.round_timeout;
  run.contribution = config.contribution;
  run.secagg = config.secagg;
  run.establishment_dp = config.establishment_dp;
  if (run.establishment_dp.enabled != 0) run.establishment_dp.rounds = config.rounds;
  run.dp = config.pupil_dp;
  if (run.dp.enabled != 0) run.dp.rounds = config.rounds;
  run.fairness = std::move(subgroups);
  run.min_group_pupils = config.min_group_pupils;
  run.strategy = config.strategy;
  run.strategy_options = config.strategy_options;
  return run;
}

// Runs the federation in the scenario's mode, with the coordinator's audit log kept in
// OUT/audit.jsonl as a daemon keeps it (a fresh one per simulation, like report.json).
StatusOr<FederationResult> RunFederation(
    const ScenarioConfig& config, const models::ModelSpec& model,
    const std::vector<VirtualSchool>& schools, std::vector<models::Attribute> subgroups,
    const std::function<void(const coordinator::RoundRecord&)>& on_round) {
  const coordinator::RunConfig run =
      ScenarioRun(config, model, schools.size(), std::move(subgroups));
  const auto audit_path = config.out_dir / "audit.jsonl";
  std::filesystem::remove(audit_path);
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<audit::AuditLog> audit,
                            audit::AuditLog::Open(audit_path));
  CARTABLE_RETURN_IF_ERROR(
      audit->Append("run_started", {{"run_id", run.run_id},
                                    {"model", run.model.name},
                                    {"rounds", run.rounds},
                                    {"schools", schools.size()},
                                    {"secure_aggregation", run.secagg.enabled}}));
  Status audited;
  RoundObserver observe = [&](const coordinator::RoundRecord& record,
                              const std::vector<float>& model) {
    if (audited.ok()) {
      audited = audit->Append("round_completed", {{"run_id", run.run_id},
                                                  {"round", record.round},
                                                  {"nodes", record.nodes},
                                                  {"model_sha256", exchange::ModelHashHex(model)}});
    }
    if (on_round) on_round(record);
  };
  const auto should_stop = [] { return ShutdownRequested(); };
  FederationResult result;
  if (config.mode != SimulationMode::kInProcess) {
    ProcessFederationOptions options{config.executable, config.out_dir,       config.log_level,
                                     config.curve,      config.test_fraction, config.cohort.seed,
                                     observe,           should_stop};
    if (config.mode == SimulationMode::kPools) {
      options.pools = config.pools;
      // Pools started here share this machine's cores: the workers asked for, divided among them.
      options.pool_workers = config.external_pools
                                 ? config.workers
                                 : std::max<size_t>(1, config.workers / config.pools);
      options.external_pools = config.external_pools;
      options.bind = config.bind;
    }
    result = RunInProcesses(run, schools, options);
  } else {
    std::vector<InProcessSchool> members;
    members.reserve(schools.size());
    for (const VirtualSchool& s : schools) {
      CARTABLE_ASSIGN_OR_RETURN(auto identity, SeededIdentity(config.cohort.seed, s.name));
      members.push_back({s.name, s.split, std::move(identity), s.attributes});
    }
    InProcessOptions options;
    options.workers = config.workers;
    options.hello_interval = std::chrono::seconds(3);
    options.heartbeat_interval = std::chrono::seconds(5);
    options.idle_timeout = std::max<Duration>(std::chrono::seconds(120), 2 * config.round_timeout);
    options.on_round = observe;
    options.should_stop = should_stop;
    options.dropout = config.dropout;
    options.dropout.seed = config.cohort.seed;
    options.stragglers = config.stragglers;
    options.stragglers.seed = config.cohort.seed;
    options.crashes = config.crashes;
    options.crashes.seed = config.cohort.seed;
    options.byzantine = config.byzantine;
    options.byzantine.seed = config.cohort.seed;
    options.byzantine.value_range = config.contribution.value_range;
    InProcessOutcome outcome = RunInProcess(run, std::move(members), {}, options);
    result = {outcome.status,
              std::move(outcome.records),
              std::move(outcome.model),
              std::move(outcome.dropouts),
              std::move(outcome.delays),
              std::move(outcome.crashes),
              std::move(outcome.byzantine),
              outcome.tampered,
              outcome.joined};
  }
  CARTABLE_RETURN_IF_ERROR(audited);
  CARTABLE_RETURN_IF_ERROR(
      audit->Append("run_ended", {{"run_id", run.run_id},
                                  {"state", result.status.ok() ? "ended" : "failed"},
                                  {"reason", result.status.ok() ? "" : result.status.message()},
                                  {"rounds_completed", result.records.size()},
                                  {"model_sha256", exchange::ModelHashHex(result.model)}}));
  return result;  // with the run's own status, which may be a failure
}

// What the federation did, whatever its end: its rounds, who took part, the faults, the fairness
// table, the settings and how the run ended.
nlohmann::json FederationReport(const ScenarioConfig& config, const models::ModelSpec& spec,
                                size_t schools, const FederationResult& federation) {
  nlohmann::json report;
  report["outcome"] = {{"state", federation.status.ok() ? "ended" : "failed"},
                       {"reason", federation.status.ok() ? "" : federation.status.message()},
                       {"rounds_completed", federation.records.size()}};
  report["rounds"] = nlohmann::json::array();
  for (const auto& r : federation.records)
    report["rounds"].push_back(coordinator::RoundRecordJson(r));
  report["participation"] = Participation(schools, federation.records, federation.joined);
  report["faults"] = Faults(config, federation);
  // The last round's table by subgroup, small subgroups suppressed (null without --fairness, or
  // when the last round's evaluation failed).
  report["fairness"] = nullptr;
  for (const auto& r : federation.records) {
    if (r.fairness) report["fairness"] = models::FairnessTableJson(*r.fairness);
  }
  report["config"] = ToJson(config);
  report["config"]["schools"] = schools;
  if (!config.data.empty()) {  // the synthetic cohort's settings did not apply
    for (const char* key : {"skills", "pupils_per_school", "answers_per_pupil"})
      report["config"].erase(key);
  }
  report["config"]["model_spec"] = {{"skills", spec.num_skills}, {"features", spec.num_features}};
  return report;
}

// report.json, report.html, rounds.csv and (with a fairness table) fairness.csv, each written
// whole or not at all.
Status WriteOutputs(const ScenarioConfig& config, const nlohmann::json& report,
                    const FederationResult& federation) {
  CARTABLE_RETURN_IF_ERROR(WriteReport(report, config.out_dir / "report.json"));
  CARTABLE_RETURN_IF_ERROR(WriteFileAtomically(config.out_dir / "report.html", ReportHtml(report)));
  CARTABLE_RETURN_IF_ERROR(WriteFileAtomically(config.out_dir / "rounds.csv",
                                               coordinator::RoundsCsv(federation.records)));
  std::filesystem::remove(config.out_dir / "fairness.csv");  // an earlier simulation's
  if (!federation.records.empty() && federation.records.back().fairness) {
    CARTABLE_RETURN_IF_ERROR(
        WriteFileAtomically(config.out_dir / "fairness.csv",
                            coordinator::FairnessCsv(*federation.records.back().fairness)));
  }
  return Status::Ok();
}

}  // namespace

namespace {

Status ValidateStragglers(const ScenarioConfig& c) {
  const StragglerPlan& s = c.stragglers;
  if (!(s.rate >= 0 && s.rate <= 1))
    return InvalidArgumentError("--stragglers " + std::to_string(s.rate) + ": must be in [0, 1]");
  if (s.mean_delay < Duration::zero())
    return InvalidArgumentError("--straggler-delay: a mean delay cannot be negative");
  if (s.rate > 0 && c.mode != SimulationMode::kInProcess) {
    return InvalidArgumentError(
        "stragglers are injected in process only: add --mode inproc (or leave --mode auto)");
  }
  return Status::Ok();
}

Status ValidateCrashes(const ScenarioConfig& c) {
  const CrashPlan& crashes = c.crashes;
  if (!(crashes.rate >= 0 && crashes.rate <= 1))
    return InvalidArgumentError("--crashes " + std::to_string(crashes.rate) +
                                ": must be in [0, 1]");
  if (crashes.mean_downtime < Duration::zero())
    return InvalidArgumentError("--restart-after: a mean downtime cannot be negative");
  if (crashes.rate > 0 && c.mode != SimulationMode::kInProcess) {
    return InvalidArgumentError(
        "crashes are injected in process only: add --mode inproc (or leave --mode auto)");
  }
  return Status::Ok();
}

Status ValidateStrategy(const ScenarioConfig& c) {
  const ByzantinePlan& b = c.byzantine;
  if (!(b.fraction >= 0 && b.fraction <= 1))
    return InvalidArgumentError("--byzantine " + std::to_string(b.fraction) +
                                ": must be in [0, 1]");
  if (b.fraction > 0 && c.mode != SimulationMode::kInProcess) {
    return InvalidArgumentError(
        "Byzantine schools are simulated in process only: add --mode inproc (or leave --mode "
        "auto)");
  }
  if (b.fraction > 0 && c.secagg.enabled) {
    return InvalidArgumentError(
        "Byzantine schools tamper with plain updates, for the strategies that rank them one by "
        "one: add --secagg off");
  }
  if (aggregation::NeedsIndividualUpdates(c.strategy) && c.secagg.enabled) {
    return InvalidArgumentError("strategy '" + c.strategy +
                                "' needs each school's own update, which secure aggregation "
                                "hides: add --secagg off");
  }
  return aggregation::CreateStrategy(
             aggregation::StrategyParameters{c.strategy, c.strategy_options})
      .status()
      .WithContext("--strategy");
}

Status ValidateDropout(const ScenarioConfig& c) {
  const DropoutPlan& d = c.dropout;
  if (!(d.rate >= 0 && d.rate <= 1))
    return InvalidArgumentError("--dropout " + std::to_string(d.rate) + ": must be in [0, 1]");
  if (d.rate == 0) return Status::Ok();
  if (c.mode != SimulationMode::kInProcess) {
    return InvalidArgumentError(
        "dropouts are injected in process only: add --mode inproc (or leave --mode auto)");
  }
  if (d.stage && c.secagg.enabled == (*d.stage == protocol::Stage::kTrain)) {
    return InvalidArgumentError(
        "no school sends a message of the dropout stage '" + DropoutStageName(d.stage) + "' " +
        (c.secagg.enabled ? "with secure aggregation (pick advertise, share, masked, consistency, "
                            "unmask or any)"
                          : "without secure aggregation (pick train or any)"));
  }
  return Status::Ok();
}

}  // namespace

Status Validate(const ScenarioConfig& c) {
  CARTABLE_RETURN_IF_ERROR(Validate(c.cohort));
  if (c.rounds < 1 || c.rounds > 100000)
    return InvalidArgumentError("rounds must be in [1, 100000]");
  if (c.local_epochs < 1) return InvalidArgumentError("local epochs must be at least 1");
  if (c.batch_size < 1) return InvalidArgumentError("batch size must be at least 1");
  if (!(c.learning_rate > 0)) return InvalidArgumentError("learning rate must be positive");
  if (!(c.test_fraction > 0 && c.test_fraction < 1)) {
    return InvalidArgumentError("test fraction must be strictly between 0 and 1");
  }
  CARTABLE_ASSIGN_OR_RETURN(models::ModelInput input, models::InputOf(c.model.name));
  if (c.data.empty()) {
    if (input != models::ModelInput::kAnswers) {
      return InvalidArgumentError("model '" + c.model.name +
                                  "' reads pupil records, and a synthetic cohort has answers only; "
                                  "pick an answers model (pfa, irt1pl, irt2pl, dkt, sakt), or "
                                  "give a dataset with --data (e.g. oulad:data/oulad)");
    }
    CARTABLE_RETURN_IF_ERROR(models::CreateModel(ScenarioModel(c)).status());  // its options
  } else if (c.mode != SimulationMode::kInProcess) {
    // Node processes read their share from a file of their own (ingest/csv_source.h for answers,
    // ingest/records_csv_source.h for pupil records).
    if (!c.test_data.empty()) {
      return InvalidArgumentError(
          "node processes hold out --test-fraction of their own pupils; a --test file is for "
          "--mode inproc");
    }
    if (!c.fairness.empty()) {
      return InvalidArgumentError(
          "fairness by subgroup in a split dataset is computed in process: add --mode inproc");
    }
  }
  if (c.mode == SimulationMode::kPools) {
    if (c.pools < 1) return InvalidArgumentError("pools must be at least 1");
    if (c.pools > static_cast<size_t>(c.cohort.schools)) {
      return InvalidArgumentError(std::to_string(c.pools) + " pools for " +
                                  std::to_string(c.cohort.schools) +
                                  " schools: a pool would host none");
    }
    if (c.executable.empty() && !c.external_pools)
      return InvalidArgumentError("the path of the cartable executable is unknown");
  }
  if (c.workers < 1) return InvalidArgumentError("workers must be at least 1");
  if (!c.test_data.empty() && c.data.empty()) {
    return InvalidArgumentError(
        "held-out pupils from a file (--test) go with a dataset to train "
        "on: give it with --data");
  }
  if (!c.test_data.empty() &&
      (c.test_data.rfind("xapi:", 0) == 0 || c.data.rfind("xapi:", 0) == 0)) {
    return InvalidArgumentError(
        "xapi numbers skills by their first appearance in each file, so a --test file's skills "
        "would not be the training file's: split one xapi file instead (--test-fraction)");
  }
  if (!c.fairness.empty() && c.data.empty()) {
    return InvalidArgumentError(
        "fairness by subgroup needs pupil attributes, and a synthetic cohort has none: give a "
        "dataset with --data (e.g. oulad:data/oulad --fairness gender,age_band)");
  }
  if (c.min_group_pupils < 1) return InvalidArgumentError("min group pupils must be at least 1");
  CARTABLE_RETURN_IF_ERROR(ValidateDropout(c));
  CARTABLE_RETURN_IF_ERROR(ValidateStragglers(c));
  CARTABLE_RETURN_IF_ERROR(ValidateCrashes(c));
  CARTABLE_RETURN_IF_ERROR(ValidateStrategy(c));
  if (c.mode == SimulationMode::kProcesses) {
    if (c.cohort.schools > kMaxProcessSchools) {
      return InvalidArgumentError(std::to_string(c.cohort.schools) +
                                  " schools are more than processes mode starts (" +
                                  std::to_string(kMaxProcessSchools) +
                                  ", one process each); run them in process (--mode inproc)");
    }
    if (c.executable.empty())
      return InvalidArgumentError("the path of the cartable executable is unknown");
  }
  return Status::Ok();
}

namespace {

// Calls work(i) for every i in [0, n) on `workers` threads; the first error, if any. `done`, when
// set, is told after each success how many have succeeded, under a lock.
Status ForEachOnThreads(size_t n, size_t workers, const std::function<Status(size_t)>& work,
                        const std::function<void(size_t)>& done = {}) {
  std::atomic<size_t> next{0};
  std::mutex mutex;
  Status first;
  size_t succeeded = 0;
  auto run = [&] {
    for (size_t i = next++; i < n; i = next++) {
      Status s = work(i);
      std::lock_guard lock(mutex);
      if (!s.ok()) {
        if (first.ok()) first = s;
        next = n;
      } else if (done) {
        done(++succeeded);
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t w = 1; w < std::min(workers, n); ++w) threads.emplace_back(run);
  run();
  for (std::thread& t : threads) t.join();
  return first;
}

}  // namespace

StatusOr<nlohmann::json> RunScenario(const ScenarioConfig& config,
                                     const ScenarioProgress& progress) {
  CARTABLE_RETURN_IF_ERROR(Validate(config));
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(config.out_dir));
  std::vector<SyntheticSchool> cohort;
  std::vector<VirtualSchool> schools;
  std::vector<models::Attribute> subgroups;
  models::ModelSpec spec = config.model;
  if (config.data.empty()) {
    cohort = GenerateCohort(config.cohort);
    CARTABLE_ASSIGN_OR_RETURN(schools, PrepareSchools(config, cohort));
    spec = ScenarioModel(config);
  } else {
    CARTABLE_ASSIGN_OR_RETURN(schools, PrepareDataSchools(config, spec, subgroups));
  }
  if (config.byzantine.fraction > 0 &&
      std::llround(config.byzantine.fraction * static_cast<double>(schools.size())) == 0) {
    return InvalidArgumentError("--byzantine " + NumberText(config.byzantine.fraction) + " of " +
                                std::to_string(schools.size()) +
                                " schools rounds to none: ask for a larger share");
  }
  // Every school is known before the run: a federation secure aggregation cannot serve is refused
  // now, not after a join deadline.
  if (config.secagg.enabled) {
    auto plan = coordinator::PlanSecureRound(config.secagg, static_cast<int>(schools.size()));
    if (!plan.ok()) {
      return FailedPreconditionError(std::to_string(schools.size()) + " schools: " +
                                     plan.status().message() + "; or add --secagg off");
    }
  }
  CARTABLE_ASSIGN_OR_RETURN(FederationResult federation,
                            RunFederation(config, spec, schools, subgroups, progress.round));
  if (!federation.status.ok()) {
    const Status failed = federation.status.WithContext("federated run");
    if (ShutdownRequested()) return failed;  // interrupted: no report
    // What happened up to the failure is written, without the models' comparison.
    nlohmann::json report = FederationReport(config, spec, schools.size(), federation);
    for (const char* model : {"federated", "centralized", "local_only", "oracle"})
      report[model] = nullptr;
    CARTABLE_RETURN_IF_ERROR(WriteOutputs(config, report, federation));
    return Status(failed.code(), failed.message() + " (the rounds up to then are in " +
                                     (config.out_dir / "report.json").string() + ")");
  }

  spdlog::info("computing baselines on the same held-out pupils");
  std::vector<const models::InteractionLog*> trains, tests;
  for (const VirtualSchool& s : schools) {
    trains.push_back(&s.split.train);
    tests.push_back(&s.split.test);
  }
  const models::InteractionLog pooled_train = models::Concatenate(trains);
  const models::InteractionLog pooled_test = models::Concatenate(tests);
  models::TrainOptions options;
  options.epochs =
      static_cast<int>(config.rounds * config.local_epochs);  // same passes over the data
  options.batch_size = static_cast<int>(config.batch_size);
  options.learning_rate = config.learning_rate;
  options.seed = config.cohort.seed;

  CARTABLE_ASSIGN_OR_RETURN(Scores federated,
                            EvaluateParameters(spec, federation.model, pooled_test));
  const size_t baselines = schools.size() + 1;
  const auto told = [&](size_t done) {
    if (progress.baselines) progress.baselines(done, baselines);
  };
  told(0);
  CARTABLE_ASSIGN_OR_RETURN(Scores centralized,
                            TrainAndEvaluate(spec, options, pooled_train, pooled_test));
  told(1);
  std::optional<Scores> oracle;
  if (!cohort.empty()) {
    CARTABLE_ASSIGN_OR_RETURN(oracle, OracleScores(cohort, schools));
  }
  std::vector<Scores> local(schools.size());
  CARTABLE_RETURN_IF_ERROR(ForEachOnThreads(
      schools.size(), config.workers,
      [&](size_t i) {
        auto scores =
            TrainAndEvaluate(spec, options, schools[i].split.train, schools[i].split.test);
        if (!scores.ok())
          return scores.status().WithContext("local-only baseline of " + schools[i].name);
        local[i] = *scores;
        return Status::Ok();
      },
      [&](size_t done) { told(done + 1); }));
  nlohmann::json per_school = nlohmann::json::array();
  double local_auc_sum = 0;
  for (size_t i = 0; i < schools.size(); ++i) {
    local_auc_sum += local[i].auc;
    nlohmann::json entry = ToJson(local[i]);
    entry["school"] = schools[i].name;
    entry["train_answers"] = schools[i].split.train.size();
    per_school.push_back(entry);
  }

  nlohmann::json report = FederationReport(config, spec, schools.size(), federation);
  report["federated"] = ToJson(federated);
  report["centralized"] = ToJson(centralized);
  report["local_only"] = {{"auc", local_auc_sum / static_cast<double>(schools.size())},
                          {"per_school", per_school}};
  report["oracle"] = oracle ? ToJson(*oracle) : nlohmann::json(nullptr);
  CARTABLE_RETURN_IF_ERROR(WriteOutputs(config, report, federation));
  return report;
}

}  // namespace cartable::simulations
