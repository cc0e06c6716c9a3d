#pragma once

// ServeRunQueue: the coordinator daemon. It serves the runs of a RunStore one after another to the
// nodes of one transport, and answers researchers (RunDesk) on the admin transport throughout,
// between runs too. A run is a row of the store, not a process:
//   - the next run is the one a stopped or killed coordinator left running (resumed from its last
//     checkpoint: RoundLoop::Resume), else the oldest queued one;
//   - after each round, its checkpoint and record are committed (RunStore::SaveRound) before the
//     round is reported anywhere else, so a restart resumes from a round wholly recorded;
//   - when a run ends, its artefacts are written to runs_dir/<id>/ (run_artefacts.h) and then its
//     final state (ended, cancelled or failed, with the reason) is recorded;
//   - every transition is appended to the audit log (run_started, run_resumed, round_completed,
//     run_ended) before anything else is done about it.
// Stopping (should_stop, e.g. SIGTERM) ends the wait: the run in progress stays "running" in the
// store, its last completed round checkpointed, and is resumed by the next start. Between runs the
// nodes are answered (ServeIdle) so they keep waiting.

#include <filesystem>
#include <functional>
#include <string>

#include "coordinator/coordinator_service.h"
#include "coordinator/run_desk.h"
#include "coordinator/run_store.h"

namespace cartable::coordinator {

struct RunServiceOptions {
  // DIR/<run id>/ receives each run's artefacts.
  std::filesystem::path runs_dir;
  // Operational settings every run gets, whatever its plan (they concern the nodes' connections,
  // not the training).
  Duration heartbeat_interval = std::chrono::seconds(5);
  Duration node_timeout = std::chrono::seconds(30);
  // Polling, payload limits, the admin socket, should_stop; answer_admin is set by the service.
  ServeOptions serve;
  // Who may see and cancel every run, and how many runs one submitter may have unfinished
  // (RunDesk).
  std::set<std::string> operators;
  uint64_t max_unfinished_runs = kDefaultMaxUnfinishedRuns;
  // Appends an audit entry; an error stops the service (nothing happens that the log misses).
  std::function<Status(const std::string& event, const nlohmann::ordered_json& data)> audit;
  // The audit log's head hash, for the model cards. Empty function: none.
  std::function<std::string()> audit_head;
  // Called for every round completed (progress lines, metrics), after it is committed.
  std::function<void(uint64_t run_id, const RoundRecord&)> on_round;
  // Called when a run starts or resumes, and when it ends (with its final state).
  std::function<void(const StoredRun&)> on_run;
};

// Serves until options.serve.should_stop() returns true (OK), or the store, the audit log or the
// nodes' transport fails (that error).
Status ServeRunQueue(RunStore& store, protocol::ServerTransport& nodes,
                     const RunServiceOptions& options);

}  // namespace cartable::coordinator
