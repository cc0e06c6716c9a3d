// OpenSqliteRunStore: the RunStore in one SQLite database (schema version 1).

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "coordinator/run_store.h"

namespace cartable::coordinator {
namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  submitter TEXT NOT NULL, name TEXT NOT NULL, plan TEXT NOT NULL, plan_hash TEXT NOT NULL,
  state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
  submitted_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL DEFAULT 0,
  ended_ms INTEGER NOT NULL DEFAULT 0, rounds_planned INTEGER NOT NULL,
  rounds_completed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS rounds (
  run_id INTEGER NOT NULL REFERENCES runs(id), round INTEGER NOT NULL, record TEXT NOT NULL,
  PRIMARY KEY (run_id, round));
CREATE TABLE IF NOT EXISTS checkpoints (
  run_id INTEGER PRIMARY KEY REFERENCES runs(id), rounds_completed INTEGER NOT NULL,
  attempts INTEGER NOT NULL, global_model BLOB NOT NULL, strategy_state BLOB NOT NULL);
)sql";

constexpr RunState kStates[] = {RunState::kQueued, RunState::kRunning, RunState::kEnded,
                                RunState::kCancelled, RunState::kFailed};

// One prepared statement, finalised on destruction.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int i, int64_t v) { return Check(sqlite3_bind_int64(stmt_, i, v)); }
  Statement& Bind(int i, const std::string& v) {
    return Check(
        sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Statement& Blob(int i, const void* data, size_t bytes) {
    return Check(sqlite3_bind_blob64(stmt_, i, bytes ? data : "", bytes, SQLITE_TRANSIENT));
  }
  // True while a row is there; check status() once false.
  bool Step() {
    if (stmt_ == nullptr || !ok_) return false;
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) ok_ = false;
    return false;
  }
  Status status() const {
    if (stmt_ != nullptr && ok_) return Status::Ok();
    return InternalError(std::string("run store: ") + sqlite3_errmsg(db_));
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) const {
    const auto* text = sqlite3_column_text(stmt_, col);
    return text ? std::string(reinterpret_cast<const char*>(text),
                              static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
                : std::string();
  }
  template <typename T>
  std::vector<T> Vector(int col) const {
    const auto bytes = static_cast<size_t>(sqlite3_column_bytes(stmt_, col));
    std::vector<T> out(bytes / sizeof(T));
    if (!out.empty())
      std::memcpy(out.data(), sqlite3_column_blob(stmt_, col), out.size() * sizeof(T));
    return out;
  }

 private:
  Statement& Check(int rc) {
    if (rc != SQLITE_OK) ok_ = false;
    return *this;
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool ok_ = true;
};

constexpr const char* kRunColumns =
    "id, submitter, name, plan, plan_hash, state, reason, submitted_ms, started_ms, ended_ms, "
    "rounds_planned, rounds_completed";

StatusOr<StoredRun> ReadRun(const Statement& row) {
  StoredRun run{static_cast<uint64_t>(row.Int(0)), row.Text(1), row.Text(2), row.Text(3),
                row.Text(4)};
  const std::string state = row.Text(5);
  bool known = false;
  for (RunState s : kStates) {
    if (RunStateName(s) == state) run.state = s, known = true;
  }
  if (!known)
    return DataLossError("run store: run " + std::to_string(run.id) + " has state '" + state + "'");
  run.reason = row.Text(6);
  run.submitted_ms = row.Int(7);
  run.started_ms = row.Int(8);
  run.ended_ms = row.Int(9);
  run.rounds_planned = static_cast<uint32_t>(row.Int(10));
  run.rounds_completed = static_cast<uint32_t>(row.Int(11));
  return run;
}

class SqliteRunStore final : public RunStore {
 public:
  explicit SqliteRunStore(sqlite3* db) : db_(db) {}
  ~SqliteRunStore() override { sqlite3_close(db_); }

  Status Exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) == SQLITE_OK) return Status::Ok();
    const std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return InternalError("run store: " + message);
  }

  StatusOr<uint64_t> Submit(const StoredRun& run) override {
    Statement insert(db_,
                     "INSERT INTO runs (submitter, name, plan, plan_hash, state, submitted_ms, "
                     "rounds_planned) VALUES (?, ?, ?, ?, 'queued', ?, ?)");
    insert.Bind(1, run.submitter).Bind(2, run.name).Bind(3, run.plan).Bind(4, run.plan_hash);
    insert.Bind(5, run.submitted_ms).Bind(6, int64_t{run.rounds_planned});
    insert.Step();
    CARTABLE_RETURN_IF_ERROR(insert.status());
    return static_cast<uint64_t>(sqlite3_last_insert_rowid(db_));
  }

  StatusOr<std::optional<StoredRun>> Find(uint64_t id) override {
    Statement query(db_,
                    (std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?").c_str());
    query.Bind(1, static_cast<int64_t>(id));
    if (!query.Step()) {
      CARTABLE_RETURN_IF_ERROR(query.status());
      return std::optional<StoredRun>();
    }
    CARTABLE_ASSIGN_OR_RETURN(StoredRun run, ReadRun(query));
    return std::optional<StoredRun>(std::move(run));
  }

  StatusOr<std::vector<StoredRun>> List(size_t limit) override {
    Statement query(
        db_,
        (std::string("SELECT ") + kRunColumns + " FROM runs ORDER BY id DESC LIMIT ?").c_str());
    query.Bind(1, static_cast<int64_t>(limit));
    std::vector<StoredRun> runs;
    while (query.Step()) {
      CARTABLE_ASSIGN_OR_RETURN(StoredRun run, ReadRun(query));
      runs.push_back(std::move(run));
    }
    CARTABLE_RETURN_IF_ERROR(query.status());
    return runs;
  }

  StatusOr<std::optional<StoredRun>> Next() override {
    Statement query(db_, (std::string("SELECT ") + kRunColumns +
                          " FROM runs WHERE state IN ('running', 'queued') ORDER BY state = "
                          "'queued', id LIMIT 1")
                             .c_str());
    if (!query.Step()) {
      CARTABLE_RETURN_IF_ERROR(query.status());
      return std::optional<StoredRun>();
    }
    CARTABLE_ASSIGN_OR_RETURN(StoredRun run, ReadRun(query));
    return std::optional<StoredRun>(std::move(run));
  }

  Status SetState(uint64_t id, RunState state, const std::string& reason, int64_t now_ms) override {
    CARTABLE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status moved = MoveState(id, state, reason, now_ms);
    if (!moved.ok()) {
      Exec("ROLLBACK").IgnoreError();
      return moved;
    }
    return Exec("COMMIT");
  }

  Status MoveState(uint64_t id, RunState state, const std::string& reason, int64_t now_ms) {
    CARTABLE_ASSIGN_OR_RETURN(std::optional<StoredRun> run, Find(id));
    if (!run) return NotFoundError("run " + std::to_string(id) + " does not exist");
    if (IsFinal(run->state)) {
      return FailedPreconditionError("run " + std::to_string(id) + " has already " +
                                     std::string(RunStateName(run->state)));
    }
    if (state == RunState::kQueued ||
        (state == RunState::kEnded && run->state != RunState::kRunning)) {
      return FailedPreconditionError("run " + std::to_string(id) + " cannot go from " +
                                     std::string(RunStateName(run->state)) + " to " +
                                     std::string(RunStateName(state)));
    }
    Statement update(db_,
                     "UPDATE runs SET state = ?, reason = ?, started_ms = CASE WHEN ? = 'running' "
                     "AND started_ms = 0 THEN ? ELSE started_ms END, ended_ms = CASE WHEN ? THEN "
                     "? ELSE ended_ms END WHERE id = ?");
    const std::string name(RunStateName(state));
    update.Bind(1, name).Bind(2, reason).Bind(3, name).Bind(4, now_ms);
    update.Bind(5, int64_t{IsFinal(state)}).Bind(6, now_ms).Bind(7, static_cast<int64_t>(id));
    update.Step();
    return update.status();
  }

  Status SaveRound(uint64_t id, const Checkpoint& checkpoint,
                   const std::string& record_json) override {
    CARTABLE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status saved = WriteRound(id, checkpoint, record_json);
    if (!saved.ok()) {
      Exec("ROLLBACK").IgnoreError();
      return saved;
    }
    return Exec("COMMIT");
  }

  StatusOr<std::optional<Checkpoint>> LoadCheckpoint(uint64_t id) override {
    Statement query(
        db_,
        "SELECT rounds_completed, attempts, global_model, strategy_state FROM checkpoints "
        "WHERE run_id = ?");
    query.Bind(1, static_cast<int64_t>(id));
    if (!query.Step()) {
      CARTABLE_RETURN_IF_ERROR(query.status());
      return std::optional<Checkpoint>();
    }
    return std::optional<Checkpoint>(Checkpoint{static_cast<uint32_t>(query.Int(0)),
                                                static_cast<uint32_t>(query.Int(1)),
                                                query.Vector<float>(2), query.Vector<double>(3)});
  }

  StatusOr<std::vector<std::string>> RoundRecords(uint64_t id) override {
    Statement query(db_, "SELECT record FROM rounds WHERE run_id = ? ORDER BY round");
    query.Bind(1, static_cast<int64_t>(id));
    std::vector<std::string> records;
    while (query.Step()) records.push_back(query.Text(0));
    CARTABLE_RETURN_IF_ERROR(query.status());
    return records;
  }

  StatusOr<std::map<RunState, uint64_t>> CountByState() override {
    Statement query(db_, "SELECT state, COUNT(*) FROM runs GROUP BY state");
    std::map<RunState, uint64_t> counts;
    while (query.Step()) {
      const std::string state = query.Text(0);
      const auto* known = std::find_if(std::begin(kStates), std::end(kStates),
                                       [&](RunState s) { return RunStateName(s) == state; });
      if (known == std::end(kStates))
        return DataLossError("run store: a run has state '" + state + "'");
      counts[*known] = static_cast<uint64_t>(query.Int(1));
    }
    CARTABLE_RETURN_IF_ERROR(query.status());
    return counts;
  }

  StatusOr<uint64_t> CountUnfinished(const std::string& submitter) override {
    Statement query(db_, "SELECT COUNT(*) FROM runs WHERE submitter = ? AND state IN (?, ?)");
    query.Bind(1, submitter)
        .Bind(2, std::string(RunStateName(RunState::kQueued)))
        .Bind(3, std::string(RunStateName(RunState::kRunning)));
    uint64_t count = 0;
    if (query.Step()) count = static_cast<uint64_t>(query.Int(0));
    CARTABLE_RETURN_IF_ERROR(query.status());
    return count;
  }

 private:
  Status WriteRound(uint64_t id, const Checkpoint& c, const std::string& record_json) {
    const auto run_id = static_cast<int64_t>(id);
    Statement record(db_, "INSERT INTO rounds (run_id, round, record) VALUES (?, ?, ?)");
    record.Bind(1, run_id).Bind(2, int64_t{c.rounds_completed}).Bind(3, record_json).Step();
    CARTABLE_RETURN_IF_ERROR(record.status());
    Statement checkpoint(db_, "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?, ?)");
    checkpoint.Bind(1, run_id).Bind(2, int64_t{c.rounds_completed}).Bind(3, int64_t{c.attempts});
    checkpoint.Blob(4, c.global_model.data(), c.global_model.size() * sizeof(float));
    checkpoint.Blob(5, c.strategy_state.data(), c.strategy_state.size() * sizeof(double)).Step();
    CARTABLE_RETURN_IF_ERROR(checkpoint.status());
    Statement progress(db_, "UPDATE runs SET rounds_completed = ? WHERE id = ?");
    progress.Bind(1, int64_t{c.rounds_completed}).Bind(2, run_id).Step();
    return progress.status();
  }

  sqlite3* db_;
};

}  // namespace

std::string_view RunStateName(RunState state) {
  switch (state) {
    case RunState::kQueued:
      return "queued";
    case RunState::kRunning:
      return "running";
    case RunState::kEnded:
      return "ended";
    case RunState::kCancelled:
      return "cancelled";
    case RunState::kFailed:
      return "failed";
  }
  return "unknown";
}

bool IsFinal(RunState state) {
  return state == RunState::kEnded || state == RunState::kCancelled || state == RunState::kFailed;
}

StatusOr<std::unique_ptr<RunStore>> OpenSqliteRunStore(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    const std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return UnavailableError("run store " + path.string() + ": " + why);
  }
  sqlite3_busy_timeout(db, 5000);
  auto store = std::make_unique<SqliteRunStore>(db);
  Status ready = store->Exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;");
  Statement version(db, "PRAGMA user_version");
  const int64_t found = version.Step() ? version.Int(0) : -1;
  if (ready.ok() && found > kSchemaVersion) {
    ready = FailedPreconditionError("schema version " + std::to_string(found) +
                                    ", newer than this cartable's (" +
                                    std::to_string(kSchemaVersion) + "); upgrade cartable");
  }
  if (ready.ok()) ready = store->Exec(kSchema);
  if (ready.ok()) ready = store->Exec("PRAGMA user_version = 1");
  if (!ready.ok()) return ready.WithContext("run store " + path.string());
  return std::unique_ptr<RunStore>(std::move(store));
}

}  // namespace cartable::coordinator
