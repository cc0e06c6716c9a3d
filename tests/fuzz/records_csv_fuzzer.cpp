// Hostile record files into the records CSV reader: no crash, no hang, and an accepted log is
// valid.

#include <cstdlib>

#include "fuzz_file.h"
#include "ingest/records_csv_source.h"
#include "models/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cartable::fuzz::MemoryFile file(data, size);
  auto log = cartable::ingest::LoadRecordsCsv(file.path());
  if (log.ok() && !cartable::models::Validate(*log).ok()) std::abort();
  return 0;
}
