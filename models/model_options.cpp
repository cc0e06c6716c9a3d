#include "models/model_options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace cartable::models {

const std::string* ModelOptions::Take(const std::string& key) {
  known_.insert(key);
  auto it = spec_.options.find(key);
  return it == spec_.options.end() ? nullptr : &it->second;
}

Status ModelOptions::Bad(const std::string& key, const std::string& value,
                         const std::string& expected) const {
  return InvalidArgumentError("model '" + spec_.name + "': option " + key + " = '" + value +
                              "' is not " + expected);
}

StatusOr<int64_t> ModelOptions::Integer(const std::string& key, int64_t fallback, int64_t min,
                                        int64_t max) {
  const std::string* text = Take(key);
  if (text == nullptr) return fallback;
  const std::string expected =
      "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (text->empty()) return Bad(key, *text, expected);
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text->c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || value < min || value > max) return Bad(key, *text, expected);
  return static_cast<int64_t>(value);
}

StatusOr<double> ModelOptions::Real(const std::string& key, double fallback, double min,
                                    double max) {
  const std::string* text = Take(key);
  if (text == nullptr) return fallback;
  const std::string expected =
      "a number in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (text->empty()) return Bad(key, *text, expected);
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text->c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(value) || value < min || value > max) {
    return Bad(key, *text, expected);
  }
  return value;
}

StatusOr<std::string> ModelOptions::Choice(const std::string& key, const std::string& fallback,
                                           const std::vector<std::string>& choices) {
  const std::string* text = Take(key);
  if (text == nullptr) return fallback;
  std::string expected = "one of";
  for (const std::string& choice : choices) {
    if (*text == choice) return choice;
    expected += " " + choice;
  }
  return Bad(key, *text, expected);
}

Status ModelOptions::Finish() const {
  std::string unknown;
  for (const auto& [key, value] : spec_.options) {
    if (!known_.contains(key)) unknown += (unknown.empty() ? "" : ", ") + key;
  }
  if (unknown.empty()) return Status::Ok();
  std::string known;
  for (const std::string& key : known_) known += (known.empty() ? "" : ", ") + key;
  return InvalidArgumentError("model '" + spec_.name + "' has no option " + unknown +
                              " (its options: " + (known.empty() ? "none" : known) + ")");
}

}  // namespace cartable::models
