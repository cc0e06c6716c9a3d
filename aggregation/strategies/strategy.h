#pragma once

// Strategy: decides the next global model from the current one and the round's UpdateSum (Flower's
// Strategy, reduced to what secure aggregation allows a server to see). Strategies may keep state
// across rounds (momentum, Adam moments), so one instance serves one run; not thread safe.

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "aggregation/update_sum.h"
#include "core/status.h"

namespace cartable::aggregation {

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // Fails when the sum is empty or its dimension differs from the model's.
  virtual StatusOr<std::vector<float>> NextModel(std::span<const float> global,
                                                 const UpdateSum& sum) = 0;
};

// "fedavg" (the only one so far). An unknown name is an error listing the known ones.
StatusOr<std::unique_ptr<Strategy>> CreateStrategy(const std::string& name);

}  // namespace cartable::aggregation
