#include "core/printable.h"

#include <algorithm>
#include <cstdint>

namespace cartable {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void AppendEscaped(std::string& out, uint8_t byte) {
  out += "\\x";
  out.push_back(kHexDigits[byte >> 4]);
  out.push_back(kHexDigits[byte & 15]);
}

std::string Marker(size_t left_out) { return "...[+" + std::to_string(left_out) + " bytes]"; }

// Length of the well-formed UTF-8 sequence starting at text[i] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 when the byte there does not start one.
size_t Utf8Length(std::string_view text, size_t i, uint32_t* code_point) {
  const auto at = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t lead = at(i);
  size_t length = 0;
  uint32_t value = 0, minimum = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, value = lead & 0x1F, minimum = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, value = lead & 0x0F, minimum = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, value = lead & 0x07, minimum = 0x10000;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((at(i + k) & 0xC0) != 0x80) return 0;
    value = (value << 6) | (at(i + k) & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *code_point = value;
  return length;
}

// Characters that are valid but change how a terminal shows the rest of the line.
bool Disruptive(uint32_t c) {
  return (c >= 0x80 && c <= 0x9F) ||                 // C1 controls (0x9B is a terminal's CSI)
         (c >= 0x202A && c <= 0x202E) ||             // bidirectional embeddings and overrides
         (c >= 0x2066 && c <= 0x2069) ||             // bidirectional isolates
         c == 0x2028 || c == 0x2029 ||               // line and paragraph separators
         c == 0x200E || c == 0x200F || c == 0x061C;  // direction marks
}

bool PlainAscii(uint8_t byte) {
  return byte >= 0x20 && byte < 0x7F && byte != '\\' && byte != '"' && byte != '\'';
}

}  // namespace

std::string Printable(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 16);
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t byte = static_cast<uint8_t>(text[i]);
    std::string piece;
    size_t consumed = 1;
    uint32_t code_point = 0;
    if (PlainAscii(byte)) {
      piece.push_back(static_cast<char>(byte));
    } else if (size_t length = byte >= 0x80 ? Utf8Length(text, i, &code_point) : 0; length > 0) {
      consumed = length;
      if (Disruptive(code_point)) {
        for (size_t k = 0; k < length; ++k) AppendEscaped(piece, static_cast<uint8_t>(text[i + k]));
      } else {
        piece.assign(text.substr(i, length));
      }
    } else {
      AppendEscaped(piece, byte);
    }
    if (out.size() + piece.size() > max_bytes) break;
    out += piece;
    i += consumed;
  }
  if (i < text.size()) out += Marker(text.size() - i);
  return out;
}

std::string HexId(std::string_view bytes, size_t max_bytes) {
  const size_t shown = std::min(bytes.size(), max_bytes);
  std::string out;
  out.reserve(2 * shown + 16);
  for (size_t i = 0; i < shown; ++i) {
    const auto byte = static_cast<uint8_t>(bytes[i]);
    out.push_back(kHexDigits[byte >> 4]);
    out.push_back(kHexDigits[byte & 15]);
  }
  if (shown < bytes.size()) out += Marker(bytes.size() - shown);
  return out;
}

}  // namespace cartable
