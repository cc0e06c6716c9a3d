#pragma once

// ModelOptions: reads a ModelSpec's hyperparameters (text by name) with checks, for the model
// factories. Each getter consumes one name and returns its default when the option is absent;
// Finish() refuses the names nobody consumed, so a typo ("hiden_size") is an error rather than a
// silently ignored setting. Errors name the model, the option and what was expected.

#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/model.h"

namespace cartable::models {

class ModelOptions {
 public:
  explicit ModelOptions(const ModelSpec& spec) : spec_(spec) {}

  // An integer in [min, max].
  StatusOr<int64_t> Integer(const std::string& key, int64_t fallback, int64_t min, int64_t max);
  // A finite real number in [min, max].
  StatusOr<double> Real(const std::string& key, double fallback, double min, double max);
  // One of `choices`.
  StatusOr<std::string> Choice(const std::string& key, const std::string& fallback,
                               const std::vector<std::string>& choices);
  // kInvalidArgument naming the options the model does not know, with the ones it does.
  Status Finish() const;

 private:
  const std::string* Take(const std::string& key);
  Status Bad(const std::string& key, const std::string& value, const std::string& expected) const;

  const ModelSpec& spec_;
  std::set<std::string> known_;
};

}  // namespace cartable::models
