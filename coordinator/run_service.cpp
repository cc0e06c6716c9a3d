#include "coordinator/run_service.h"

#include <spdlog/spdlog.h>

#include <set>

#include "coordinator/plan.h"
#include "coordinator/round_record_json.h"
#include "coordinator/run_artefacts.h"
#include "exchange/model_wire.h"

namespace cartable::coordinator {
namespace {

// How long ServeIdle waits before the store is asked again for a run to serve.
constexpr Duration kIdleSlice = std::chrono::seconds(1);

class QueueServer {
 public:
  QueueServer(RunStore& store, protocol::ServerTransport& nodes, const RunServiceOptions& options)
      : store_(store),
        nodes_(nodes),
        options_(options),
        desk_(store, {.operators = options.operators,
                      .runs_dir = options.runs_dir,
                      .audit = options.audit,
                      .max_unfinished_runs = options.max_unfinished_runs}) {
    serve_ = options.serve;
    serve_.answer_admin = [this](const protocol::Envelope& request, const std::string& identity,
                                 const RunSnapshot* run) {
      return desk_.Answer(request, identity, run);
    };
    serve_.should_stop = [this] { return options_.serve.should_stop() || !trouble_.ok(); };
  }

  Status Serve() {
    while (!serve_.should_stop()) {
      CARTABLE_ASSIGN_OR_RETURN(std::optional<StoredRun> next, store_.Next());
      if (!next) {
        CARTABLE_RETURN_IF_ERROR(ServeIdle(nodes_, serve_, kIdleSlice));
        continue;
      }
      CARTABLE_RETURN_IF_ERROR(ServeOne(*next));
    }
    return trouble_;
  }

 private:
  Status Audit(const std::string& event, const nlohmann::ordered_json& data) {
    return options_.audit ? options_.audit(event, data) : Status::Ok();
  }

  // Ends a run that cannot be served (its plan no longer parses, its checkpoint does not fit).
  Status Refuse(const StoredRun& run, const Status& why) {
    spdlog::error("run {} cannot be served and fails: {}", run.id, why.message());
    CARTABLE_RETURN_IF_ERROR(
        Audit("run_ended", {{"run_id", run.id}, {"state", "failed"}, {"reason", why.message()}}));
    return store_.SetState(run.id, RunState::kFailed, why.message(), UnixMillis());
  }

  StatusOr<std::unique_ptr<RoundLoop>> Prepare(const StoredRun& run, const RunConfig& config) {
    CARTABLE_ASSIGN_OR_RETURN(std::optional<Checkpoint> checkpoint, store_.LoadCheckpoint(run.id));
    if (!checkpoint) return RoundLoop::Create(config, SystemClock::Get());
    CARTABLE_ASSIGN_OR_RETURN(std::vector<std::string> stored, store_.RoundRecords(run.id));
    std::vector<RoundRecord> records;
    for (const std::string& text : stored) {
      auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      CARTABLE_ASSIGN_OR_RETURN(RoundRecord record, RoundRecordFromJson(json));
      records.push_back(std::move(record));
    }
    return RoundLoop::Resume(config, SystemClock::Get(), *checkpoint, std::move(records));
  }

  Status ServeOne(const StoredRun& run) {
    auto plan = ParsePlan(run.plan, "the plan of run " + std::to_string(run.id));
    if (!plan.ok()) return Refuse(run, plan.status());
    RunConfig config = plan->run;
    config.run_id = run.id;
    config.plan_hash = PlanDigest(*plan);
    config.heartbeat_interval = options_.heartbeat_interval;
    config.node_timeout = options_.node_timeout;
    auto prepared = Prepare(run, config);
    if (!prepared.ok()) return Refuse(run, prepared.status().WithContext("resuming"));
    RoundLoop& loop = **prepared;
    const bool resumed = run.state == RunState::kRunning;
    CARTABLE_RETURN_IF_ERROR(Audit(resumed ? "run_resumed" : "run_started",
                                   {{"run_id", run.id},
                                    {"plan_hash", run.plan_hash},
                                    {"rounds_completed", loop.records().size()}}));
    CARTABLE_RETURN_IF_ERROR(store_.SetState(run.id, RunState::kRunning, "", UnixMillis()));
    spdlog::info("run {} ('{}', plan {}) {} after round {}", run.id, run.name,
                 run.plan_hash.substr(0, 12), resumed ? "resumes" : "starts",
                 loop.records().size());
    if (options_.on_run) {
      StoredRun started = run;
      started.state = RunState::kRunning;
      options_.on_run(started);
    }
    loop.set_round_listener([&](const RoundRecord& record) { Record(run, loop, record); });
    std::set<std::string> joined;  // nodes whose joining this run is in the audit log
    loop.set_event_listener([&](const LoopEvent& event) { Note(run, event, joined); });
    const Status outcome = ServeRun(loop, nodes_, serve_);
    if (!trouble_.ok()) return trouble_;
    if (options_.serve.should_stop()) {
      spdlog::info("run {} stays running in the store; it resumes after round {} at the next start",
                   run.id, loop.records().size());
      return Status::Ok();
    }
    return Finish(run, loop, outcome);
  }

  // A completed round: committed first, then audited, then reported. A failure stops the service
  // (trouble_), and with it the run, which resumes from its last committed round.
  void Record(const StoredRun& run, const RoundLoop& loop, const RoundRecord& record) {
    if (!trouble_.ok()) return;
    trouble_ = store_.SaveRound(run.id, loop.checkpoint(), RoundRecordJson(record).dump());
    if (trouble_.ok()) {
      trouble_ =
          Audit("round_completed", {{"run_id", run.id},
                                    {"round", record.round},
                                    {"nodes", record.nodes},
                                    {"model_sha256", exchange::ModelHashHex(loop.global_model())}});
    }
    if (!trouble_.ok()) {
      spdlog::error("run {}: round {} could not be recorded; stopping: {}", run.id, record.round,
                    trouble_.message());
      return;
    }
    if (options_.on_round) options_.on_round(run.id, record);
  }

  // A node joined (audited once per node and run, however often it reconnects) or an attempt at a
  // round started. A failure stops the service, as in Record.
  void Note(const StoredRun& run, const LoopEvent& event, std::set<std::string>& joined) {
    if (!trouble_.ok()) return;
    if (event.kind == LoopEvent::Kind::kNodeJoined) {
      if (!joined.insert(event.node).second) return;
      trouble_ = Audit("node_joined", {{"run_id", run.id}, {"node", event.node}});
    } else if (event.kind == LoopEvent::Kind::kNodeDeclined) {
      trouble_ =
          Audit("node_declined", {{"run_id", run.id}, {"node", event.node}, {"why", event.why}});
    } else {
      trouble_ = Audit("round_started", {{"run_id", run.id},
                                         {"round", event.round},
                                         {"attempt", event.attempt},
                                         {"cohort", event.cohort.size()},
                                         {"members", event.cohort}});
    }
    if (!trouble_.ok()) {
      spdlog::error("run {}: the audit log could not be written; stopping: {}", run.id,
                    trouble_.message());
    }
  }

  Status Finish(const StoredRun& run, const RoundLoop& loop, const Status& outcome) {
    RunState state = RunState::kEnded;
    if (outcome.code() == StatusCode::kCancelled) state = RunState::kCancelled;
    if (!outcome.ok() && state != RunState::kCancelled) state = RunState::kFailed;
    std::string reason = outcome.ok() ? "" : outcome.message();
    RunEnding ending{run.plan_hash, std::string(RunStateName(state)), reason,
                     options_.audit_head ? options_.audit_head() : ""};
    Status written = WriteRunArtefacts(options_.runs_dir / std::to_string(run.id), loop, ending);
    if (!written.ok()) {
      spdlog::error("run {}: its artefacts could not be written: {}", run.id, written.message());
      state = RunState::kFailed;
      reason = "artefacts not written: " + written.message();
    }
    CARTABLE_RETURN_IF_ERROR(
        Audit("run_ended", {{"run_id", run.id},
                            {"state", RunStateName(state)},
                            {"reason", reason},
                            {"rounds_completed", loop.records().size()},
                            {"model_sha256", exchange::ModelHashHex(loop.global_model())}}));
    CARTABLE_RETURN_IF_ERROR(store_.SetState(run.id, state, reason, UnixMillis()));
    spdlog::info("run {} {} after {} round(s){}{}", run.id, RunStateName(state),
                 loop.records().size(), reason.empty() ? "" : ": ", reason);
    if (options_.on_run) {
      CARTABLE_ASSIGN_OR_RETURN(std::optional<StoredRun> ended, store_.Find(run.id));
      if (ended) options_.on_run(*ended);
    }
    return Status::Ok();
  }

  RunStore& store_;
  protocol::ServerTransport& nodes_;
  const RunServiceOptions& options_;
  RunDesk desk_;
  ServeOptions serve_;
  Status trouble_;  // the store or the audit log failed: the service stops
};

}  // namespace

Status ServeRunQueue(RunStore& store, protocol::ServerTransport& nodes,
                     const RunServiceOptions& options) {
  return QueueServer(store, nodes, options).Serve();
}

}  // namespace cartable::coordinator
