#include "aggregation/secagg/hkdf.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <array>
#include <memory>
#include <string>

#include "aggregation/secagg/internal/openssl_status.h"

namespace cartable::aggregation::secagg {
namespace {

struct KdfDeleter {
  void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
};
struct KdfContextDeleter {
  void operator()(EVP_KDF_CTX* context) const { EVP_KDF_CTX_free(context); }
};

// OSSL_PARAM takes non-const pointers but only reads input octet strings.
OSSL_PARAM OctetParam(const char* name, std::span<const uint8_t> bytes) {
  return OSSL_PARAM_construct_octet_string(name, const_cast<uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

StatusOr<SecretBytes> HkdfSha256(std::span<const uint8_t> input_key_material,
                                 std::span<const uint8_t> salt, std::span<const uint8_t> info,
                                 size_t length) {
  if (input_key_material.empty()) return InvalidArgumentError("HKDF input key material is empty");
  if (info.size() > kHkdfMaxInfoLength) {
    return InvalidArgumentError("HKDF info is " + std::to_string(info.size()) +
                                " bytes; at most 1024 are supported");
  }
  if (length == 0 || length > kHkdfSha256MaxLength) {
    return InvalidArgumentError("HKDF-SHA-256 output length must be in [1, 8160] bytes, got " +
                                std::to_string(length));
  }
  std::unique_ptr<EVP_KDF, KdfDeleter> kdf(EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr));
  if (kdf == nullptr) return internal::OpenSslError(StatusCode::kInternal, "fetching HKDF");
  std::unique_ptr<EVP_KDF_CTX, KdfContextDeleter> context(EVP_KDF_CTX_new(kdf.get()));
  if (context == nullptr) return internal::OpenSslError(StatusCode::kInternal, "creating HKDF");

  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  size_t count = 0;
  params[count++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[count++] = OctetParam(OSSL_KDF_PARAM_KEY, input_key_material);
  // Leaving salt and info unset is how OpenSSL spells RFC 5869's empty values.
  if (!salt.empty()) params[count++] = OctetParam(OSSL_KDF_PARAM_SALT, salt);
  if (!info.empty()) params[count++] = OctetParam(OSSL_KDF_PARAM_INFO, info);
  params[count] = OSSL_PARAM_construct_end();

  SecretBytes output(length);
  if (EVP_KDF_derive(context.get(), output.mutable_span().data(), output.size(), params) != 1) {
    return internal::OpenSslError(StatusCode::kInternal, "HKDF-SHA-256 derivation failed");
  }
  return output;
}

StatusOr<SecretBytes> InsecureHkdfSha256FromSeed(uint64_t seed, std::string_view info,
                                                 size_t length) {
  std::array<uint8_t, 8> material{};
  for (size_t i = 0; i < material.size(); ++i) material[i] = static_cast<uint8_t>(seed >> (8 * i));
  return HkdfSha256(material, {}, {reinterpret_cast<const uint8_t*>(info.data()), info.size()},
                    length);
}

}  // namespace cartable::aggregation::secagg
