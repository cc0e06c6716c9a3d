#include "aggregation/secagg/digest.h"

#include <openssl/evp.h>

#include "core/check.h"

namespace cartable::aggregation::secagg {

Sha256Digest Sha256(std::span<const uint8_t> bytes) {
  Sha256Digest digest{};
  unsigned int length = 0;
  CARTABLE_CHECK(EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) ==
                     1 &&
                 length == digest.size())
      << "SHA-256 failed";
  return digest;
}

}  // namespace cartable::aggregation::secagg
