// Hostile model files into the safetensors reader: no crash, and an accepted file's tensors are
// consistent with their shapes.

#include <cstdlib>

#include "fuzz_file.h"
#include "models/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cartable::fuzz::MemoryFile file(data, size);
  auto read = cartable::models::ReadSafetensors(file.path());
  if (!read.ok()) return 0;
  for (const auto& tensor : read->tensors) {
    size_t product = 1;
    for (int64_t d : tensor.shape) product *= static_cast<size_t>(d);
    if (product != tensor.values.size()) std::abort();
  }
  return 0;
}
