#include "aggregation/secagg/hmac.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "aggregation/secagg/internal/openssl_status.h"

namespace cartable::aggregation::secagg {

StatusOr<HmacSha256Tag> HmacSha256(const SecretBytes& key, std::span<const uint8_t> message) {
  if (key.span().empty()) return InvalidArgumentError("HMAC needs a non-empty key");
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return internal::OpenSslError(StatusCode::kInternal, "HMAC unavailable");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  if (ctx == nullptr) return internal::OpenSslError(StatusCode::kInternal, "HMAC context");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  HmacSha256Tag tag{};
  size_t length = 0;
  const bool ok = EVP_MAC_init(ctx, key.span().data(), key.span().size(), params) == 1 &&
                  EVP_MAC_update(ctx, message.data(), message.size()) == 1 &&
                  EVP_MAC_final(ctx, tag.data(), &length, tag.size()) == 1 && length == tag.size();
  EVP_MAC_CTX_free(ctx);
  if (!ok) return internal::OpenSslError(StatusCode::kInternal, "HMAC-SHA-256 failed");
  return tag;
}

}  // namespace cartable::aggregation::secagg
