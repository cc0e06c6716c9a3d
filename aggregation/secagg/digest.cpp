#include "aggregation/secagg/digest.h"

#include <openssl/evp.h>

#include <memory>

#include "core/check.h"

namespace cartable::aggregation::secagg {

Sha256Digest Sha256(std::span<const uint8_t> bytes) {
  Sha256Digest digest{};
  unsigned int length = 0;
  CARTABLE_CHECK(
      EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) == 1 &&
      length == digest.size())
      << "SHA-256 failed";
  return digest;
}

Sha256Digest Sha256OfParts(std::initializer_list<std::span<const uint8_t>> parts) {
  // Fetched once: an implicit fetch per hash would cost more than hashing the few bytes of a share.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  CARTABLE_CHECK(kSha256 != nullptr) << "no SHA-256 provider";
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                  &EVP_MD_CTX_free);
  bool ok = context != nullptr && EVP_DigestInit_ex(context.get(), kSha256, nullptr) == 1;
  for (std::span<const uint8_t> part : parts) {
    ok = ok && EVP_DigestUpdate(context.get(), part.data(), part.size()) == 1;
  }
  Sha256Digest digest{};
  unsigned int length = 0;
  ok = ok && EVP_DigestFinal_ex(context.get(), digest.data(), &length) == 1 &&
       length == digest.size();
  CARTABLE_CHECK(ok) << "SHA-256 failed";
  return digest;
}

std::string Sha256Hex(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(64);
  for (uint8_t b : Sha256(bytes)) {
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  return hex;
}

}  // namespace cartable::aggregation::secagg
