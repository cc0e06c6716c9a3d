#pragma once

// The bytes of one audit entry, shared by the writer (AuditLog) and the verifier (ChainChecker) so
// the two cannot drift apart. The format is described in audit/audit_log.h and docs/audit-log.md.
// Pure functions, thread safe.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cartable::audit::internal {

// What separates an entry's hashed part from its hash: the last key of every line.
inline constexpr std::string_view kHashKey = ",\"hash\":\"";

// 1 to 64 of a-z, 0-9 and _.
bool IsEventName(std::string_view event);
// "YYYY-MM-DDTHH:MM:SS.mmmZ", UTC; years outside 0000-9999 do not fit (IsTime then refuses them).
std::string FormatTime(int64_t unix_ms);
bool IsTime(std::string_view text);
// 64 lower-case hex digits.
bool IsHash(std::string_view text);

// Whether `json_text` nests objects and arrays deeper than `limit` (counting brackets outside
// strings): checked before parsing, because serialising a deep value recurses.
bool TextNestedDeeperThan(std::string_view json_text, size_t limit);
// The same for a value (a scalar is depth 0, {} is 1); recursion stops at `limit`.
bool NestedDeeperThan(const nlohmann::ordered_json& value, size_t limit);

// The canonical bytes of an entry without its hash: `entry` (keys seq, time, event, prev, data in
// this order) serialised compactly, non-ASCII as UTF-8, invalid UTF-8 replaced by U+FFFD.
std::string HashedBytes(const nlohmann::ordered_json& entry);

struct EntryLine {
  std::string text;  // the whole line, '\n' included
  std::string hash;
};
StatusOr<EntryLine> MakeEntryLine(uint64_t seq, std::string time, std::string_view event,
                                  std::string prev, nlohmann::ordered_json data);

}  // namespace cartable::audit::internal
