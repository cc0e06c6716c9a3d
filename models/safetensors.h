#pragma once

// Safetensors: model parameters on disk in the published format that PyTorch, JAX and the Hugging
// Face tools read, so a school's or the federation's model can leave cartable (or come in) without
// a pickle. A file is an 8-byte little-endian u64 N, N bytes of UTF-8 JSON header, then one byte
// buffer:
//
//   {"__metadata__": {"k": "v"},
//    "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...}
//
// data_offsets are relative to the start of the buffer; tensors cover it exactly, without gaps or
// overlaps. Only little-endian F32 is supported, which is all a cartable model holds. These are
// plain functions on values: thread safe, and torch-free so that the CLI and the coordinator can
// use them.

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/model.h"

namespace cartable::models {

// One tensor: row-major values, shape [] for a scalar. values.size() is the product of the shape.
struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

struct SafetensorsFile {
  std::vector<NamedTensor> tensors;             // in the order of their data in the file
  std::map<std::string, std::string> metadata;  // the header's "__metadata__", empty if absent
};

// Writes `tensors`, laid out in the given order, and `metadata` to `path` through
// WriteFileAtomically, so a crash leaves the old file or the new one. Refuses (InvalidArgument,
// naming the tensor) an empty or duplicate name, a name beginning with "__" (reserved by the
// format), a negative dimension, and a shape whose product is not values.size(). The header is
// padded with spaces so the buffer starts 8-byte aligned, as the reference writer does, which lets
// readers map the floats in place.
Status WriteSafetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                        const std::map<std::string, std::string>& metadata = {});

// Reads a safetensors file of F32 tensors. The bytes are treated as hostile: the header is capped
// at kMaxSafetensorsHeaderBytes and checked against the file size before it is parsed, and every
// field is validated (dtype, shape, offsets in bounds, sizes consistent, tensors covering the
// buffer exactly). An error names the file and the tensor or field at fault; no exception escapes.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;
StatusOr<SafetensorsFile> ReadSafetensors(const std::filesystem::path& path);

// Bridges a file and a model's flat parameter vector (Model::GetParameters / SetParameters).
// FlattenInLayout looks each block of `layout` up by name and returns the values in layout order; a
// missing or extra tensor, or a shape that differs from the layout, is an InvalidArgument error
// naming the tensor. SplitByLayout cuts `flat` into one tensor per block; a length that does not
// match the layout is a programmer error and aborts.
StatusOr<std::vector<float>> FlattenInLayout(const SafetensorsFile& file,
                                             const std::vector<ParameterBlock>& layout);
std::vector<NamedTensor> SplitByLayout(std::span<const float> flat,
                                       const std::vector<ParameterBlock>& layout);

}  // namespace cartable::models
