#pragma once

// VerifyAuditLog: checks an audit log (format: audit/format.h) from its first line to its last and
// names the first bad entry, by line number and the seq it should have: "audit.jsonl line 7
// (seq 6): hash does not match the entry (edited?)". Reads a line at a time, at most
// kMaxLineBytes of one, so any file can be checked in bounded memory. Pure functions of their
// input, thread safe.
//
// A chain cannot show that entries were cut from its end at a line boundary: the shorter log is a
// valid log. Whoever keeps a head hash or an entry count elsewhere (the coordinator's run store, a
// model card's audit_head) passes it as an expectation, and the cut is then reported. A torn last
// line (no final '\n': a crash during a write, or a cut mid-entry) is always reported.

#include <cstddef>
#include <filesystem>
#include <istream>
#include <optional>
#include <string>
#include <string_view>

#include "audit/format.h"
#include "core/status.h"

namespace cartable::audit {

struct VerifyResult {
  size_t entries = 0;              // lines, each a verified entry
  std::string head{kGenesisHash};  // the last entry's hash; kGenesisHash when empty
};

// Verifies the log at `path`. With `expected_head` (64 hex digits), some entry's hash must be it:
// the log may have grown since that head was recorded, but not lost it. With `expected_entries`,
// the log must hold at least that many entries. Errors: DATA_LOSS for a log that does not verify or
// falls short of an expectation, INVALID_ARGUMENT for a malformed expected head, NOT_FOUND or
// UNAVAILABLE (naming the path and the OS's reason) for a file that cannot be read.
StatusOr<VerifyResult> VerifyAuditLog(
    const std::filesystem::path& path,
    const std::optional<std::string>& expected_head = std::nullopt,
    std::optional<size_t> expected_entries = std::nullopt);

// The same over a stream (tests, a log held in memory); `name` stands for the file in errors.
StatusOr<VerifyResult> VerifyAuditLog(
    std::istream& in, std::string_view name,
    const std::optional<std::string>& expected_head = std::nullopt,
    std::optional<size_t> expected_entries = std::nullopt);

}  // namespace cartable::audit
