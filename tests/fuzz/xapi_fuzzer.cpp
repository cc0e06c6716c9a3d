// Hostile xAPI statement exports into the xapi reader: no crash, no hang, an accepted log is valid,
// and every statement is either an answer or counted as skipped. The same bytes go to the pupil
// attribute reader: no crash, no hang, and every pupil it keeps has a value.

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
  for (const char* column : {"group", "school"}) {
    auto attribute = cartable::ingest::LoadXapiAttribute(file.path(), column);
    if (!attribute.ok()) continue;
    for (const auto& [pupil, value] : *attribute) {
      if (value.empty()) std::abort();
    }
  }
  return 0;
}
