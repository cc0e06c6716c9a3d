#include "models/internal/tensor_parameters.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace cartable::models::internal {

size_t CountParameters(const std::vector<at::Tensor>& tensors) {
  size_t n = 0;
  for (const torch::Tensor& t : tensors) n += static_cast<size_t>(t.numel());
  return n;
}

std::vector<float> FlattenParameters(const std::vector<at::Tensor>& tensors) {
  std::vector<float> flat;
  flat.reserve(CountParameters(tensors));
  for (const torch::Tensor& t : tensors) {
    const float* data = t.data_ptr<float>();
    flat.insert(flat.end(), data, data + t.numel());
  }
  return flat;
}

Status LoadParameters(std::vector<at::Tensor>& tensors, std::span<const float> parameters,
                      const std::string& model) {
  const size_t expected = CountParameters(tensors);
  if (parameters.size() != expected) {
    return InvalidArgumentError(model + " has " + std::to_string(expected) + " parameters, got " +
                                std::to_string(parameters.size()));
  }
  if (!std::all_of(parameters.begin(), parameters.end(),
                   [](float v) { return std::isfinite(v); })) {
    return InvalidArgumentError("parameters contain NaN or infinite values");
  }
  torch::NoGradGuard no_grad;
  size_t offset = 0;
  for (torch::Tensor& t : tensors) {
    std::copy_n(parameters.data() + offset, t.numel(), t.data_ptr<float>());
    offset += static_cast<size_t>(t.numel());
  }
  return Status::Ok();
}

}  // namespace cartable::models::internal
