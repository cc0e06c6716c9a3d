#include "audit/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "audit/internal/chain_checker.h"
#include "audit/internal/entry.h"
#include "core/files.h"

namespace cartable::audit {
namespace {

std::string Quoted(std::string_view text) {
  return nlohmann::ordered_json(std::string(text.substr(0, 80)))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::filesystem::path& path,
                                                   WallClock now_unix_ms) {
  CARTABLE_CHECK(now_unix_ms) << "AuditLog::Open needs a clock";
  if (path.has_parent_path()) CARTABLE_RETURN_IF_ERROR(EnsureDirectory(path.parent_path()));
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return OsError("cannot open the audit log", path);
  auto fail = [fd](Status status) {
    ::close(fd);
    return status;
  };
  struct stat info {};
  if (::fstat(fd, &info) != 0) return fail(OsError("cannot stat the audit log", path));
  if (!S_ISREG(info.st_mode)) {
    return fail(InvalidArgumentError("the audit log " + path.string() + " is not a regular file"));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    return fail(errno == EWOULDBLOCK
                    ? FailedPreconditionError("the audit log " + path.string() +
                                              " is open in another process (a second daemon on "
                                              "the same state directory?)")
                    : OsError("cannot lock the audit log", path));
  }
  // Verified through the descriptor appended to, so it is the file checked that grows.
  StatusOr<VerifyResult> verified = internal::VerifyFileDescriptor(fd, path, {});
  if (!verified.ok()) {
    return fail(verified.status().WithContext(
        "refusing to append to the audit log " + path.string() +
        ", which does not verify (`cartable audit verify " + path.string() +
        "` shows the same); nothing is appended to a broken chain"));
  }
  if (info.st_size == 0) SyncParentDirectory(path);
  return std::unique_ptr<AuditLog>(
      new AuditLog(path, fd, std::move(now_unix_ms), std::move(verified).value()));
}

AuditLog::AuditLog(std::filesystem::path path, int fd, WallClock now_unix_ms, VerifyResult verified)
    : path_(std::move(path)),
      fd_(fd),
      now_unix_ms_(std::move(now_unix_ms)),
      head_(std::move(verified.head)),
      size_(verified.entries) {}

AuditLog::~AuditLog() { ::close(fd_); }

Status AuditLog::Append(std::string_view event, nlohmann::ordered_json data) {
  CARTABLE_RETURN_IF_ERROR(broken_);
  const std::string context = "audit entry " + Quoted(event) + ": ";
  if (!internal::IsEventName(event)) {
    return InvalidArgumentError(context + "an event name is 1 to 64 of a-z, 0-9 and _");
  }
  if (!data.is_object()) {
    return InvalidArgumentError(context + "data must be a JSON object, not " +
                                std::string(data.type_name()));
  }
  if (internal::NestedDeeperThan(data, kMaxNesting - 1)) {
    return InvalidArgumentError(context + "data nests deeper than the log allows (" +
                                std::to_string(kMaxNesting - 1) + " levels)");
  }
  std::string time = internal::FormatTime(now_unix_ms_());
  if (!internal::IsTime(time)) {
    return InvalidArgumentError(context + "the clock gave a time outside the years 0000-9999");
  }
  CARTABLE_ASSIGN_OR_RETURN(
      internal::EntryLine line,
      internal::MakeEntryLine(size_, std::move(time), event, head_, std::move(data)));
  if (line.text.size() - 1 > kMaxLineBytes) {
    return InvalidArgumentError(context + "its line of " + std::to_string(line.text.size() - 1) +
                                " bytes exceeds the " + std::to_string(kMaxLineBytes) +
                                " a line may hold (record sizes and hashes, not contents)");
  }
  CARTABLE_RETURN_IF_ERROR(WriteLine(line.text));
  head_ = std::move(line.hash);
  ++size_;
  return Status::Ok();
}

Status AuditLog::WriteLine(std::string_view line) {
  // One write(2) in practice; a short one (a signal, a full disk) is continued, since O_APPEND
  // puts the rest right after it and no one else writes to the file (flock).
  while (!line.empty()) {
    const ssize_t n = ::write(fd_, line.data(), line.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return Break(OsError("cannot write to the audit log", path_));
    }
    line.remove_prefix(static_cast<size_t>(n));
  }
  if (::fdatasync(fd_) != 0) {
    // Whether the line reached the disk is unknown, and a retried sync can lie: stop here.
    return Break(OsError("cannot sync the audit log", path_));
  }
  return Status::Ok();
}

Status AuditLog::Break(const Status& cause) {
  broken_ = Status(cause.code(), cause.message() +
                                     " (the log takes no more entries until reopened, which "
                                     "verifies what reached it)");
  return broken_;
}

}  // namespace cartable::audit
