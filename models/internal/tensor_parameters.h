#pragma once

// The flat parameter vector of a model whose parameters are a list of float tensors in layout
// order: what Model::num_parameters, GetParameters and SetParameters do for every such model. Used
// only inside models/ (.cpp files that include torch); declared without torch headers.

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace at {
class Tensor;
}  // namespace at

namespace cartable::models::internal {

size_t CountParameters(const std::vector<at::Tensor>& tensors);
std::vector<float> FlattenParameters(const std::vector<at::Tensor>& tensors);
// Copies `parameters` into the tensors in order. Refuses a vector of the wrong length ("`model` has
// N parameters, got M") or with a non-finite value; the tensors are then unchanged.
Status LoadParameters(std::vector<at::Tensor>& tensors, std::span<const float> parameters,
                      const std::string& model);

}  // namespace cartable::models::internal
