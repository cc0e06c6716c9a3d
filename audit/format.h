#pragma once

// The audit log's format, byte by byte (docs/audit-log.md says the same, with a reference verifier
// in Python). AuditLog (audit/audit_log.h) writes it; VerifyAuditLog (audit/verify.h) checks it.
//
// A log is a file of UTF-8 lines, each ended by one '\n' (0x0A), no '\r', no blank line, no BOM.
// An empty file is a valid log of 0 entries. Each line is one JSON object with exactly these keys,
// in this order, written without any whitespace (nlohmann::ordered_json::dump(), compact):
//
//   {"seq":N,"time":"2026-12-05T13:01:02.123Z","event":"round_completed","prev":"<64 hex>",
//    "data":{...},"hash":"<64 hex>"}            (one line in the file; wrapped here)
//
//   seq    the entry's number: 0 for the first line, then 1, 2, ... (decimal, no sign, no leading
//   0) time   when it was written, UTC, milliseconds, always 24 characters
//   "YYYY-MM-DDTHH:MM:SS.mmmZ" event  what happened: 1 to 64 of a-z, 0-9 and _ (run_submitted,
//   node_joined, round_completed) prev   the previous entry's hash; for seq 0 the genesis hash, 64
//   '0' (kGenesisHash) data   a JSON object of the event's details, its keys in the order the
//   caller gave them: ids,
//          counts, sizes and hashes, never pupil data or model values
//   hash   SHA-256, as 64 lower-case hex digits, of the entry's hashed bytes
//
// The hashed bytes are the line without its hash: the line's bytes up to, not including, the last
// occurrence of the 9 bytes ,"hash":" followed by one byte '}'. They are exactly the compact
// serialisation of the object {seq, time, event, prev, data} (keys in this order; strings escaped
// as JSON requires: \" \\ \b \f \n \r \t, other control characters as \u00XX lower-case; other
// characters, non-ASCII included, as their UTF-8 bytes; numbers as nlohmann writes them). Every
// line therefore ends with the 75 bytes ,"hash":"<64 hex>"} before its '\n'.
//
// Chaining each entry to its predecessor's hash makes an edited, removed, inserted, reordered or
// duplicated entry visible from the entry on. What the log alone cannot show is a log cut cleanly
// after a whole entry: compare with a head or count kept elsewhere (VerifyAuditLog's expectations).

#include <cstddef>
#include <string_view>

namespace cartable::audit {

// `prev` of the first entry, and the head of an empty log.
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// A line holds at most this many bytes before its '\n': the writer refuses a longer entry and the
// verifier reports one after reading at most this much of it (a hostile file cannot exhaust
// memory).
inline constexpr size_t kMaxLineBytes = size_t{1} << 20;

// Objects and arrays nest at most this deep in a line, the entry itself counting as 1 (data's
// values as 3): serialising JSON recurses, so a hostile line must not nest 500,000 deep.
inline constexpr size_t kMaxNesting = 32;

}  // namespace cartable::audit
