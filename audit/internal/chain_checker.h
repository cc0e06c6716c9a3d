#pragma once

// ChainChecker: the audit log verifier as a push parser. Bytes are fed in pieces of any size;
// each complete line is checked as it arrives and dropped, so memory stays under kMaxLineBytes
// plus one piece. VerifyAuditLog (audit/verify.h) and AuditLog::Open feed it from a stream or a
// file. Not thread safe.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "audit/verify.h"
#include "core/status.h"

namespace cartable::audit::internal {

struct Expectations {
  std::optional<std::string> head;  // some entry's hash must be this one
  std::optional<size_t> entries;    // at least this many entries
};

class ChainChecker {
 public:
  // `name` stands for the log in errors (its path).
  ChainChecker(std::string name, Expectations expected);

  // Checks the lines `bytes` completes. After an error, returns it again and checks nothing.
  Status Feed(std::string_view bytes);
  // After the last Feed: reports a torn last line and unmet expectations, or the result.
  StatusOr<VerifyResult> Finish() const;

 private:
  Status CheckLine(std::string_view line);
  std::string LineError(std::string_view what) const;  // "<name> line N (seq S): what"

  std::string name_;
  Expectations expected_;
  bool saw_expected_head_ = false;
  std::string pending_;    // the start of a line whose '\n' has not come yet
  size_t bytes_done_ = 0;  // bytes of the complete lines checked
  VerifyResult result_;    // result_.entries is also the number of lines checked
  Status error_;
};

// Verifies the file open on `fd` from offset 0 (pread: the fd's offset is left alone); `path` names
// it in errors.
StatusOr<VerifyResult> VerifyFileDescriptor(int fd, const std::filesystem::path& path,
                                            Expectations expected);

}  // namespace cartable::audit::internal
