// Hostile key files into the key readers (CURVE public key, identity key): no crash, an accepted
// CURVE key is a valid Z85 key, and an accepted identity key reads back as the hex it was written
// as.

#include <cstdlib>

#include "fuzz_file.h"
#include "protocol/curve_keys.h"
#include "protocol/key_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cartable::fuzz::MemoryFile file(data, size);
  auto key = cartable::protocol::LoadCurvePublicKey(file.path());
  if (key.ok() && !cartable::protocol::IsZ85Key(*key)) std::abort();
  auto identity = cartable::protocol::LoadIdentityKey(file.path());
  if (identity.ok() && cartable::protocol::ParseIdentityKeyHex(
                           cartable::protocol::IdentityKeyHex(*identity)) != *identity) {
    std::abort();
  }
  return 0;
}
