#include "simulations/scenario.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "audit/audit_log.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/listen.h"
#include "core/files.h"
#include "core/subprocess.h"
#include "exchange/model_wire.h"
#include "ingest/csv_source.h"
#include "ingest/pseudonymizer.h"
#include "models/metrics.h"
#include "node/identity.h"
#include "simulations/report.h"

namespace cartable::simulations {
namespace {

struct SchoolData {
  std::string name;
  std::filesystem::path csv;
  std::filesystem::path pseudonym_key;  // the school's own; the simulation holds every school's
  std::optional<ingest::Pseudonymizer> pseudonymizer;
  models::PupilSplit split;
};

// The generator's true probabilities on the held-out answers: the best any model could do.
StatusOr<Scores> OracleScores(const std::vector<SyntheticSchool>& cohort,
                              const std::vector<SchoolData>& schools) {
  std::unordered_map<std::string, const SyntheticPupil*> by_id;  // by each school's pseudonym
  for (size_t s = 0; s < cohort.size(); ++s) {
    for (const SyntheticPupil& p : cohort[s].pupils)
      by_id[schools[s].pseudonymizer->Pseudonym(p.id)] = &p;
  }
  std::vector<float> p;
  std::vector<uint8_t> y;
  for (const SchoolData& school : schools) {
    for (const std::string& key : school.split.test.pupil_keys) {
      for (const SyntheticAnswer& a : by_id.at(key)->answers) {
        p.push_back(a.probability);
        y.push_back(a.correct);
      }
    }
  }
  return ScoresOf(p, y);
}

StatusOr<std::vector<SchoolData>> PrepareSchools(const ScenarioConfig& config,
                                                 const std::vector<SyntheticSchool>& cohort) {
  const auto data_dir = config.out_dir / "data";
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(data_dir));
  std::vector<SchoolData> schools;
  const auto key_dir = config.out_dir / "pseudonym-keys";
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(key_dir));
  for (const SyntheticSchool& s : cohort) {
    SchoolData school{s.name, data_dir / (s.name + ".csv"), key_dir / (s.name + ".key"), {}, {}};
    CARTABLE_RETURN_IF_ERROR(WriteLongCsv(s, school.csv));
    // Derived from the scenario's seed, so that a simulation (whose split by pupil depends on the
    // pseudonyms) is reproducible. Real nodes draw theirs at random.
    CARTABLE_RETURN_IF_ERROR(
        ingest::InsecureWriteSeededPseudonymKey(config.cohort.seed, s.name, school.pseudonym_key));
    CARTABLE_ASSIGN_OR_RETURN(school.pseudonymizer,
                              ingest::Pseudonymizer::LoadOrCreate(school.pseudonym_key));
    // Read back through the node's own adapter and key, so baselines see exactly what the nodes
    // see.
    CARTABLE_ASSIGN_OR_RETURN(models::InteractionLog log,
                              ingest::LoadLongCsv(school.csv, &*school.pseudonymizer));
    log.num_skills = static_cast<uint32_t>(config.cohort.skills);
    school.split = models::SplitByPupil(log, config.test_fraction, config.cohort.seed);
    if (school.split.train.size() == 0 || school.split.test.size() == 0) {
      return FailedPreconditionError(s.name +
                                     " has no pupil on one side of the split; raise "
                                     "min_pupils or change test_fraction");
    }
    schools.push_back(std::move(school));
  }
  return schools;
}

// Fresh keys for one simulation, as an academy would enrol its schools with `cartable keygen`: the
// coordinator's, one set per school, the allow-list of the schools' .pub files and the roster of
// their .sign.pub files.
struct ScenarioKeys {
  std::filesystem::path dir;
  std::filesystem::path coordinator_key() const { return dir / "coordinator.key"; }
  std::filesystem::path coordinator_pub() const { return dir / "coordinator.pub"; }
  std::filesystem::path allow_dir() const { return dir / "allowed"; }
  std::filesystem::path node_key(const std::string& name) const {
    return dir / "nodes" / (name + ".key");
  }
  std::filesystem::path roster_dir() const { return dir / "roster"; }
};

StatusOr<ScenarioKeys> MakeKeys(const ScenarioConfig& config,
                                const std::vector<SchoolData>& schools) {
  ScenarioKeys keys{config.out_dir / "keys"};
  std::error_code ignored;
  std::filesystem::remove_all(keys.dir,
                              ignored);  // keys of an earlier simulation in the same place
  CARTABLE_RETURN_IF_ERROR(node::CreateKeySet(keys.dir, "coordinator").status());
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(keys.allow_dir()));
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(keys.roster_dir()));
  for (const SchoolData& school : schools) {
    CARTABLE_RETURN_IF_ERROR(node::CreateKeySet(keys.dir / "nodes", school.name).status());
    for (const auto& [file, to] : {std::pair{school.name + ".pub", keys.allow_dir()},
                                   std::pair{school.name + ".sign.pub", keys.roster_dir()}}) {
      std::error_code error;
      std::filesystem::copy_file(keys.dir / "nodes" / file, to / file, error);
      if (error)
        return InternalError("copying " + file + " to " + to.string() + ": " + error.message());
    }
  }
  return keys;
}

std::vector<std::string> NodeCommand(const ScenarioConfig& config, const SchoolData& school,
                                     const std::string& endpoint, const ScenarioKeys* keys) {
  std::vector<std::string> command = {config.executable.string(),
                                      "node",
                                      "--coordinator",
                                      endpoint,
                                      "--data",
                                      "csv:" + school.csv.string(),
                                      "--name",
                                      school.name,
                                      "--test-fraction",
                                      std::to_string(config.test_fraction),
                                      "--split-seed",
                                      std::to_string(config.cohort.seed),
                                      "--pseudonym-key",
                                      school.pseudonym_key.string(),
                                      "--log-level",
                                      config.log_level};
  if (keys) {
    command.insert(command.end(),
                   {"--key", keys->node_key(school.name).string(), "--coordinator-key",
                    keys->coordinator_pub().string(), "--roster", keys->roster_dir().string()});
  } else {
    command.push_back("--insecure");
  }
  if (!config.secagg.enabled) command.push_back("--allow-plain-updates");
  // The schools assume what the simulated coordinator plans for, so a scenario with another
  // tolerance than the default does not see every round refused.
  command.insert(command.end(),
                 {"--tolerate-corrupt", std::to_string(config.secagg.tolerate_corrupt)});
  return command;
}

// Runs the federation; returns the final global model.
StatusOr<std::vector<float>> RunFederation(
    const ScenarioConfig& config, const std::vector<SchoolData>& schools,
    const std::function<void(const coordinator::RoundRecord&)>& on_round,
    std::vector<coordinator::RoundRecord>& records) {
  coordinator::RunConfig run;
  run.run_id = 0x636172746162ULL ^ config.cohort.seed;
  run.rounds = config.rounds;
  run.expected_nodes = schools.size();
  run.min_nodes = std::min<size_t>(schools.size(), std::max<size_t>(2, (schools.size() + 1) / 2));
  run.model.num_skills = static_cast<uint32_t>(config.cohort.skills);
  run.train = {config.local_epochs, config.batch_size, config.learning_rate, config.cohort.seed};
  run.join_timeout = config.join_timeout;
  run.round_timeout = config.round_timeout;
  run.contribution = config.contribution;
  run.secagg = config.secagg;
  run.establishment_dp = config.establishment_dp;
  if (run.establishment_dp.enabled != 0) run.establishment_dp.rounds = config.rounds;
  run.dp = config.pupil_dp;
  if (run.dp.enabled != 0) run.dp.rounds = config.rounds;
  CARTABLE_ASSIGN_OR_RETURN(auto loop, coordinator::RoundLoop::Create(run, SystemClock::Get()));
  // The coordinator's audit log, as a daemon keeps it; a fresh one per simulation, like
  // report.json.
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
  loop->set_round_listener([&](const coordinator::RoundRecord& record) {
    if (audited.ok()) {
      audited = audit->Append("round_completed",
                              {{"run_id", run.run_id},
                               {"round", record.round},
                               {"nodes", record.nodes},
                               {"model_sha256", exchange::ModelHashHex(loop->global_model())}});
    }
    on_round(record);
  });
  std::optional<ScenarioKeys> keys;
  coordinator::ListenSpec listen{"tcp://127.0.0.1:*", {}, {}, /*insecure=*/!config.curve, {}};
  if (config.curve) {
    CARTABLE_ASSIGN_OR_RETURN(keys, MakeKeys(config, schools));
    listen.key_file = keys->coordinator_key();
    listen.allow_dir = keys->allow_dir();
  }
  CARTABLE_ASSIGN_OR_RETURN(auto transport, coordinator::Listen(listen));

  const auto log_dir = config.out_dir / "logs";
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(log_dir));
  std::vector<std::unique_ptr<ChildProcess>> nodes;  // reaped on every return path
  for (const SchoolData& school : schools) {
    const auto log_file = log_dir / (school.name + ".log");
    std::filesystem::remove(log_file);
    CARTABLE_ASSIGN_OR_RETURN(
        auto child,
        ChildProcess::Spawn(
            NodeCommand(config, school, transport->endpoint(), keys ? &*keys : nullptr), log_file));
    nodes.push_back(std::move(child));
  }
  spdlog::info("started {} node processes; their logs are in {}", nodes.size(), log_dir.string());

  coordinator::ServeOptions serve;
  serve.should_stop = [] { return ShutdownRequested(); };
  Status outcome = coordinator::ServeRun(*loop, *transport, serve);
  records = loop->records();
  CARTABLE_RETURN_IF_ERROR(audited);
  CARTABLE_RETURN_IF_ERROR(
      audit->Append("run_ended", {{"run_id", run.run_id},
                                  {"state", outcome.ok() ? "ended" : "failed"},
                                  {"reason", outcome.ok() ? "" : outcome.message()},
                                  {"rounds_completed", records.size()},
                                  {"model_sha256", exchange::ModelHashHex(loop->global_model())}}));
  for (auto& node : nodes) {
    if (!node->WaitFor(std::chrono::seconds(10))) node->Terminate();
  }
  if (!outcome.ok()) return outcome.WithContext("federated run");
  return loop->global_model();
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
  if (c.executable.empty())
    return InvalidArgumentError("the path of the cartable executable is unknown");
  return Status::Ok();
}

StatusOr<nlohmann::json> RunMultiProcessScenario(
    const ScenarioConfig& config,
    const std::function<void(const coordinator::RoundRecord&)>& on_round) {
  CARTABLE_RETURN_IF_ERROR(Validate(config));
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(config.out_dir));
  const std::vector<SyntheticSchool> cohort = GenerateCohort(config.cohort);
  CARTABLE_ASSIGN_OR_RETURN(std::vector<SchoolData> schools, PrepareSchools(config, cohort));

  std::vector<coordinator::RoundRecord> records;
  CARTABLE_ASSIGN_OR_RETURN(std::vector<float> global,
                            RunFederation(config, schools, on_round, records));

  spdlog::info("computing baselines on the same held-out pupils");
  std::vector<const models::InteractionLog*> trains, tests;
  for (const SchoolData& s : schools) {
    trains.push_back(&s.split.train);
    tests.push_back(&s.split.test);
  }
  const models::InteractionLog pooled_train = models::Concatenate(trains);
  const models::InteractionLog pooled_test = models::Concatenate(tests);
  models::ModelSpec spec;
  spec.num_skills = static_cast<uint32_t>(config.cohort.skills);
  models::TrainOptions options;
  options.epochs =
      static_cast<int>(config.rounds * config.local_epochs);  // same passes over the data
  options.batch_size = static_cast<int>(config.batch_size);
  options.learning_rate = config.learning_rate;
  options.seed = config.cohort.seed;

  CARTABLE_ASSIGN_OR_RETURN(Scores federated, EvaluateParameters(spec, global, pooled_test));
  CARTABLE_ASSIGN_OR_RETURN(Scores centralized,
                            TrainAndEvaluate(spec, options, pooled_train, pooled_test));
  CARTABLE_ASSIGN_OR_RETURN(Scores oracle, OracleScores(cohort, schools));
  nlohmann::json per_school = nlohmann::json::array();
  double local_auc_sum = 0;
  for (const SchoolData& s : schools) {
    auto local = TrainAndEvaluate(spec, options, s.split.train, s.split.test);
    if (!local.ok()) return local.status().WithContext("local-only baseline of " + s.name);
    local_auc_sum += local->auc;
    nlohmann::json entry = ToJson(*local);
    entry["school"] = s.name;
    entry["train_answers"] = s.split.train.size();
    per_school.push_back(entry);
  }

  nlohmann::json report;
  report["federated"] = ToJson(federated);
  report["centralized"] = ToJson(centralized);
  report["local_only"] = {{"auc", local_auc_sum / static_cast<double>(schools.size())},
                          {"per_school", per_school}};
  report["oracle"] = ToJson(oracle);
  report["rounds"] = nlohmann::json::array();
  for (const auto& r : records) report["rounds"].push_back(ToJson(r));
  report["config"] = ToJson(config);
  CARTABLE_RETURN_IF_ERROR(WriteReport(report, config.out_dir / "report.json"));
  return report;
}

}  // namespace cartable::simulations
