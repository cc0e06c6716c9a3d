#pragma once

// RunDesk: answers researchers on the coordinator daemon's admin socket, from the run store, the
// runs' artefact files and the run in progress. Who asks is the allow-list name the admin socket
// authenticated: a researcher sees and cancels only the runs they submitted; names listed as
// operators see and cancel every run. Commands (AdminRequest; arguments in run_id, offset,
// document; every answer but fetch's is a JSON document):
//   submit   document: a plan file's text (at most kMaxPlanBytes). Validated completely
//            (coordinator/plan.h) and queued, unless its submitter has max_unfinished_runs queued
//            or running already: {"run_id", "plan_hash", "queued_before"}
//   list     the caller's runs (an operator's: all), newest first
//   status   run_id: that run, with the live state of the round under way, and its round records
//            from index `offset` on, as many as one reply holds ("rounds_from" says where they
//            start; ask again from the next one for more); run_id 0: the daemon itself (the run
//            in progress, the queue)
//   cancel   run_id: a queued run is cancelled at once; the running one ends now, cancelled
//   stop     run_id (0: the running one): it ends cleanly after its current round, as ended
//   files    run_id: the artefacts of a run that ended, with sizes and SHA-256
//   fetch    run_id, document: a file's name, offset: up to kMaxAdminDocumentBytes of it
// The desk changes the store (submit, cancelling a queued run) but never the running run: it
// returns what to do to it (AdminAnswer's stop_by and cancel_by), for the service to apply. Not
// thread safe.

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "coordinator/admin_desk.h"
#include "coordinator/run_store.h"
#include "core/clock.h"

namespace cartable::coordinator {

inline constexpr uint64_t kDefaultMaxUnfinishedRuns = 20;
// The largest plan file accepted: plans are a few kilobytes, and every one is kept in the store.
inline constexpr size_t kMaxPlanBytes = size_t{64} << 10;

struct RunDeskOptions {
  // Allow-list names that may see and cancel every run.
  std::set<std::string> operators;
  // Where each run's artefacts are: DIR/<run id>/.
  std::filesystem::path runs_dir;
  // Called for each run submitted or cancelled, with the event's name and its details, for the
  // audit log. An error refuses the request: nothing happens that the log does not hold.
  std::function<Status(const std::string& event, const nlohmann::ordered_json& data)> audit;
  // Unix milliseconds, for the store's records.
  std::function<int64_t()> now_ms = UnixMillis;
  // Runs one submitter may have queued or running at once; a submission beyond is refused
  // (RESOURCE_EXHAUSTED), so one researcher's key cannot fill the queue or the store.
  uint64_t max_unfinished_runs = kDefaultMaxUnfinishedRuns;
};

class RunDesk {
 public:
  RunDesk(RunStore& store, RunDeskOptions options);

  // `running`: the run in progress (its id is the store's), or null between runs.
  AdminAnswer Answer(const protocol::Envelope& request, const std::string& identity,
                     const RunSnapshot* running);

 private:
  StatusOr<std::string> Submit(const protocol::AdminRequest& request, const std::string& who);
  StatusOr<std::string> List(const std::string& who);
  StatusOr<std::string> DaemonStatus(const RunSnapshot* running);
  StatusOr<std::string> RunStatus(const StoredRun& run, const RunSnapshot* running,
                                  uint64_t first_round);
  StatusOr<std::string> Files(const StoredRun& run);
  StatusOr<std::string> Fetch(const StoredRun& run, const protocol::AdminRequest& request);
  // The run named by `run_id` if `who` may see it; kNotFound otherwise (a run of someone else's
  // is not found rather than forbidden, so ids cannot be probed).
  StatusOr<StoredRun> Visible(uint64_t run_id, const std::string& who);
  bool IsOperator(const std::string& who) const { return options_.operators.contains(who); }

  RunStore& store_;
  RunDeskOptions options_;
  AdminDesk live_;
};

}  // namespace cartable::coordinator
