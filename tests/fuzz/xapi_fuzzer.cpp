// Hostile xAPI statement exports into the xapi reader: no crash, no hang, an accepted log is valid,
// and every statement is either an answer or counted as skipped.

#include <spdlog/spdlog.h>

#include <cstdlib>

#include "fuzz_file.h"
#include "ingest/xapi_source.h"
#include "models/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {  // the reader logs skipped statements
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  cartable::fuzz::MemoryFile file(data, size);
  cartable::ingest::XapiCounts counts;
  auto log = cartable::ingest::LoadXapi(file.path(), nullptr, &counts);
  if (log.ok()) {
    if (!cartable::models::Validate(*log).ok()) std::abort();
    if (log->size() + counts.skipped_without_success != counts.statements) std::abort();
  }
  return 0;
}
