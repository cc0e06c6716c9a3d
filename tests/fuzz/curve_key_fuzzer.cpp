// Hostile key files into the CURVE key reader: no crash, and an accepted key is a valid Z85 key.

#include <cstdlib>

#include "fuzz_file.h"
#include "protocol/curve_keys.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cartable::fuzz::MemoryFile file(data, size);
  auto key = cartable::protocol::LoadCurvePublicKey(file.path());
  if (key.ok() && !cartable::protocol::IsZ85Key(*key)) std::abort();
  return 0;
}
