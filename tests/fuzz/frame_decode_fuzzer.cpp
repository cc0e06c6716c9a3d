// Hostile frames into the wire decoder: it must never crash, and whatever it accepts must encode
// back to the very same bytes (nothing accepted is misread).

#include <cstdlib>
#include <string_view>

#include "protocol/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  auto envelope = cartable::protocol::Decode(frame, 1 << 20);
  if (!envelope.ok()) return 0;
  if (cartable::protocol::Encode(*envelope) != frame) std::abort();
  return 0;
}
