#include "core/number_text.h"

#include <charconv>
#include <cmath>

namespace cartable {

std::string NumberText(double value) {
  if (std::isnan(value)) return "nan";
  char text[64];
  const auto result = std::to_chars(text, text + sizeof(text), value);
  return std::string(text, result.ptr);
}

std::string NumberText(double value, int figures) {
  if (std::isnan(value)) return "nan";
  char text[64];
  const auto result =
      std::to_chars(text, text + sizeof(text), value, std::chars_format::general, figures);
  return std::string(text, result.ptr);
}

std::optional<double> ParseNumber(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || stop != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace cartable
