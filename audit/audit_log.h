#pragma once

// AuditLog: the append-only, hash-chained record of what a coordinator or a node agent did (run
// submitted, node joined, round completed; run offered, accepted, what was sent: sizes and hashes,
// never values), which anyone holding the file can check with VerifyAuditLog or `cartable audit
// verify`. The format, byte by byte, is in audit/format.h and docs/audit-log.md.
//
// Open verifies an existing log completely and continues its chain; it refuses a log that does
// not verify, naming the path and the first bad entry: nothing is ever appended to a broken
// chain. That includes a torn last line (no final '\n', left by a crash in the middle of a write):
// the log is evidence, so it is not truncated silently; the error says how to inspect and repair
// it. Open takes an exclusive flock(2) on the file, so a second writer (another process on the same
// state directory) is refused rather than forking the chain.
//
// Each Append is one line written by one write(2) on an O_APPEND descriptor, then fdatasync: an
// entry Append reported written survives a crash. After a failed write or sync the log refuses
// every later Append (the file may end with part of a line): reopen it to find out.
//
// The object owns its file descriptor. Not thread safe: callers serialise Appends.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "audit/format.h"
#include "audit/verify.h"  // VerifyAuditLog: what Open checks, and what readers of a log call
#include "core/clock.h"
#include "core/status.h"

namespace cartable::audit {

// The wall-clock time of an entry, Unix milliseconds. core's Clock is monotonic (for deadlines)
// and says nothing of the date, hence this; tests pass a fixed or stepping one.
using WallClock = std::function<int64_t()>;

class AuditLog {
 public:
  // Opens the log at `path`, creating it (mode 0644) and its directory if missing. Errors:
  // DATA_LOSS for an existing log that does not verify, FAILED_PRECONDITION when another
  // process holds it open, NOT_FOUND / UNAVAILABLE / INVALID_ARGUMENT for a path that cannot be
  // opened as a file (naming it and the OS's reason).
  static StatusOr<std::unique_ptr<AuditLog>> Open(const std::filesystem::path& path,
                                                  WallClock now_unix_ms = UnixMillis);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends entry size() with `event` (1 to 64 of a-z, 0-9 and _) and `data` (a JSON object, its
  // keys kept in the given order, nesting under kMaxNesting; invalid UTF-8 in it is written as
  // U+FFFD). INVALID_ARGUMENT for a bad event or data, or a line over kMaxLineBytes; UNAVAILABLE
  // when the OS fails, after which every Append fails.
  Status Append(std::string_view event, nlohmann::ordered_json data);

  // The last entry's hash (kGenesisHash when empty): what a run store or model card keeps, to
  // detect later that the log was cut (VerifyAuditLog's expected_head).
  const std::string& head() const { return head_; }
  size_t size() const { return size_; }  // entries
  const std::filesystem::path& path() const { return path_; }

 private:
  AuditLog(std::filesystem::path path, int fd, WallClock now_unix_ms, VerifyResult verified);
  Status WriteLine(std::string_view line);
  Status Break(const Status& cause);  // records `cause` in broken_ and returns it

  std::filesystem::path path_;
  int fd_;
  WallClock now_unix_ms_;
  std::string head_;
  size_t size_;
  Status broken_;  // set by a failed write or sync: later Appends return it
};

}  // namespace cartable::audit
