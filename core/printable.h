#pragma once

// Text from elsewhere made safe to print. A peer's error text, a node's name or a file name may
// hold anything: a newline that forges a log line of its own ("round 5/5 ..."), terminal escape
// codes, bytes that are not UTF-8. Printable keeps ordinary text as it is, including accented
// letters ("lycée"), and writes every other byte as \xNN, so one log line stays one line and shows
// exactly what was received. HexId writes binary identifiers (ZeroMQ routing ids) as hexadecimal.
// Pure functions, thread safe.

#include <cstddef>
#include <string>
#include <string_view>

namespace cartable {

// `text` with control characters (C0, DEL and C1), backslash, both quotes, invalid UTF-8, and the
// Unicode characters that reorder or break lines (bidirectional overrides and isolates, U+2028,
// U+2029) escaped as \xNN per byte. At most `max_bytes` bytes of output, never cutting an escape or
// a character; what is left out is counted by a marker: "...[+123 bytes]".
std::string Printable(std::string_view text, size_t max_bytes = 200);

// Lowercase hexadecimal of `bytes` ("0080000001"), at most `max_bytes` of them, then the same
// marker.
std::string HexId(std::string_view bytes, size_t max_bytes = 32);

}  // namespace cartable
