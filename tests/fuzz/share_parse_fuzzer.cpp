// Hostile bytes into the Shamir share parser: no crash, and an accepted share serialises back to
// the same bytes.

#include <cstdlib>
#include <cstring>

#include "aggregation/secagg/shamir.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto share = cartable::aggregation::secagg::ParseShare({data, size});
  if (!share.ok()) return 0;
  auto bytes = cartable::aggregation::secagg::SerializeShare(*share);
  if (bytes.span().size() != size || std::memcmp(bytes.span().data(), data, size) != 0)
    std::abort();
  return 0;
}
