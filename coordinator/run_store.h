#pragma once

// RunStore: the coordinator's durable record of runs — what was submitted, by whom, with which
// plan, where each run stands, each completed round's record and the latest checkpoint. Every
// method is one transaction: a call that returned OK survives the process being killed (and, with
// the SQLite store, the machine losing power). A checkpoint and its round's record are committed
// together (SaveRound), so a restarted coordinator resumes from a round that is wholly recorded or
// not at all. A small interface so that a server database can replace the embedded SQLite store
// (OpenSqliteRunStore); implementations are not thread safe.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/checkpoint.h"
#include "core/status.h"

namespace cartable::coordinator {

// A run's life: queued → running → ended | cancelled | failed. A queued run may be cancelled
// before it starts.
enum class RunState { kQueued, kRunning, kEnded, kCancelled, kFailed };
std::string_view RunStateName(RunState state);
bool IsFinal(RunState state);

struct StoredRun {
  uint64_t id = 0;
  std::string submitter;  // the allow-list name of the key that submitted it
  std::string name;       // the plan's name
  std::string plan;       // the plan file as submitted
  std::string plan_hash;  // SHA-256 of its canonical form (plan.h)
  RunState state = RunState::kQueued;
  std::string reason;        // why it failed, or who cancelled it
  int64_t submitted_ms = 0;  // Unix time in milliseconds; 0 for what has not happened yet
  int64_t started_ms = 0;
  int64_t ended_ms = 0;
  uint32_t rounds_planned = 0;
  uint32_t rounds_completed = 0;
};

class RunStore {
 public:
  virtual ~RunStore() = default;

  // Queues a run; returns its id, never given before (ids only grow, even across restarts).
  virtual StatusOr<uint64_t> Submit(const StoredRun& run) = 0;
  // nullopt for an unknown id.
  virtual StatusOr<std::optional<StoredRun>> Find(uint64_t id) = 0;
  // Every run, newest first, at most `limit`.
  virtual StatusOr<std::vector<StoredRun>> List(size_t limit) = 0;
  // The run to serve next: one left running by a coordinator that stopped (resumed first), else the
  // oldest queued one; nullopt when there is none.
  virtual StatusOr<std::optional<StoredRun>> Next() = 0;
  // Moves a run to `state` at `now_ms` (started_ms when it starts running, ended_ms when final).
  // Refuses to move a run out of a final state.
  virtual Status SetState(uint64_t id, RunState state, const std::string& reason,
                          int64_t now_ms) = 0;
  // Records round `checkpoint.rounds_completed` (its record, as JSON) and replaces the run's
  // checkpoint, in one transaction.
  virtual Status SaveRound(uint64_t id, const Checkpoint& checkpoint,
                           const std::string& record_json) = 0;
  virtual StatusOr<std::optional<Checkpoint>> LoadCheckpoint(uint64_t id) = 0;
  // The records of a run's completed rounds, in order, as SaveRound got them.
  virtual StatusOr<std::vector<std::string>> RoundRecords(uint64_t id) = 0;
  // How many runs are in each state; a state no run is in is absent.
  virtual StatusOr<std::map<RunState, uint64_t>> CountByState() = 0;
  // How many of `submitter`'s runs are queued or running.
  virtual StatusOr<uint64_t> CountUnfinished(const std::string& submitter) = 0;
};

// The embedded store: an SQLite database (WAL mode, full sync) at `path`, created with its schema
// if missing. Refuses a file that is not such a database, or one from a newer schema.
StatusOr<std::unique_ptr<RunStore>> OpenSqliteRunStore(const std::filesystem::path& path);

}  // namespace cartable::coordinator
