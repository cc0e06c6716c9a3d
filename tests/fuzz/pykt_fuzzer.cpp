// Hostile pyKT sequence files into the pykt reader: no crash, no hang, and an accepted log is
// valid.

#include <cstdlib>

#include "fuzz_file.h"
#include "ingest/pykt_source.h"
#include "models/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cartable::fuzz::MemoryFile file(data, size);
  auto log = cartable::ingest::LoadPykt(file.path());
  if (log.ok() && !cartable::models::Validate(*log).ok()) std::abort();
  return 0;
}
