// Hostile pool manifests into the reader node pools start from: no crash, and an accepted manifest
// names at least one school, each with its files, and a key for each school exactly when the
// coordinator has one.

#include <cstdlib>

#include "fuzz_file.h"
#include "simulations/pool_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cartable::fuzz::MemoryFile file(data, size);
  auto read = cartable::simulations::ReadPoolManifest(file.path());
  if (!read.ok()) return 0;
  if (read->schools.empty() || read->endpoint.empty()) std::abort();
  for (const auto& school : read->schools) {
    if (school.name.empty() || school.data.empty() || school.pseudonym_key.empty()) std::abort();
    if (school.key.empty() != read->coordinator_key.empty()) std::abort();
  }
  return 0;
}
