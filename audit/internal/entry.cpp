#include "audit/internal/entry.h"

#include <cstdio>
#include <ctime>

#include "aggregation/secagg/digest.h"

namespace cartable::audit::internal {

bool IsEventName(std::string_view event) {
  if (event.empty() || event.size() > 64) return false;
  for (char c : event) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

std::string FormatTime(int64_t unix_ms) {
  int64_t seconds = unix_ms / 1000;
  int64_t millis = unix_ms % 1000;
  if (millis < 0) {  // before 1970: round the seconds down, keep the milliseconds positive
    millis += 1000;
    --seconds;
  }
  const auto t = static_cast<std::time_t>(seconds);
  std::tm utc{};
  if (gmtime_r(&t, &utc) == nullptr) return "";
  char text[64];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  return text;
}

bool IsTime(std::string_view text) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() != kShape.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool ok = kShape[i] == 'd' ? (text[i] >= '0' && text[i] <= '9') : text[i] == kShape[i];
    if (!ok) return false;
  }
  return true;
}

bool IsHash(std::string_view text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

bool TextNestedDeeperThan(std::string_view json_text, size_t limit) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json_text.size(); ++i) {
    const char c = json_text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, which may be a quote
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

bool NestedDeeperThan(const nlohmann::ordered_json& value, size_t limit) {
  if (!value.is_structured()) return false;
  if (limit == 0) return true;
  for (const auto& element : value) {
    if (NestedDeeperThan(element, limit - 1)) return true;
  }
  return false;
}

std::string HashedBytes(const nlohmann::ordered_json& entry) {
  return entry.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

StatusOr<EntryLine> MakeEntryLine(uint64_t seq, std::string time, std::string_view event,
                                  std::string prev, nlohmann::ordered_json data) {
  try {
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["seq"] = seq;
    entry["time"] = std::move(time);
    entry["event"] = std::string(event);
    entry["prev"] = std::move(prev);
    entry["data"] = std::move(data);
    EntryLine line{HashedBytes(entry), ""};
    line.hash = aggregation::secagg::Sha256Hex(line.text);
    line.text.pop_back();  // the closing brace, which now follows the hash
    line.text.append(kHashKey).append(line.hash).append("\"}\n");
    return line;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("audit entry cannot be serialised: ") + e.what());
  }
}

}  // namespace cartable::audit::internal
