#include "aggregation/secagg/key_agreement.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

#include "aggregation/secagg/internal/openssl_status.h"

namespace cartable::aggregation::secagg {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyContextDeleter {
  void operator()(EVP_PKEY_CTX* context) const { EVP_PKEY_CTX_free(context); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyContextPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyContextDeleter>;

StatusOr<PkeyPtr> LoadPrivate(const SecretBytes& private_key) {
  PkeyPtr key(EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, private_key.span().data(),
                                              private_key.size()));
  if (key == nullptr) {
    return internal::OpenSslError(StatusCode::kInternal, "loading an X25519 private key");
  }
  return key;
}

}  // namespace

StatusOr<X25519PrivateKey> X25519PrivateKey::Generate() {
  return FromBytes(SecretBytes::Random(kX25519KeySize));
}

StatusOr<X25519PrivateKey> X25519PrivateKey::FromBytes(SecretBytes private_key) {
  if (private_key.size() != kX25519KeySize) {
    return InvalidArgumentError("an X25519 private key is 32 bytes, got " +
                                std::to_string(private_key.size()));
  }
  CARTABLE_ASSIGN_OR_RETURN(PkeyPtr key, LoadPrivate(private_key));
  X25519PublicKey public_key;
  size_t length = public_key.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), public_key.data(), &length) != 1 ||
      length != public_key.size()) {
    return internal::OpenSslError(StatusCode::kInternal, "computing an X25519 public key");
  }
  LoadedKey loaded(key.release(), [](void* k) { EVP_PKEY_free(static_cast<EVP_PKEY*>(k)); });
  return X25519PrivateKey(std::move(private_key), public_key, std::move(loaded));
}

StatusOr<SecretBytes> X25519PrivateKey::Agree(const X25519PublicKey& peer_public) const {
  auto* key = static_cast<EVP_PKEY*>(loaded_.get());
  PkeyPtr peer(EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer_public.data(),
                                              peer_public.size()));
  if (peer == nullptr) {
    return internal::OpenSslError(StatusCode::kInvalidArgument,
                                  "loading the peer's X25519 public key");
  }
  PkeyContextPtr context(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (context == nullptr || EVP_PKEY_derive_init(context.get()) != 1 ||
      EVP_PKEY_derive_set_peer(context.get(), peer.get()) != 1) {
    return internal::OpenSslError(StatusCode::kInternal, "setting up X25519 key agreement");
  }
  SecretBytes shared(kX25519KeySize);
  size_t length = shared.size();
  // OpenSSL already fails an all-zero derivation; the explicit check below does not rely on it.
  if (EVP_PKEY_derive(context.get(), shared.mutable_span().data(), &length) != 1) {
    return internal::OpenSslError(
        StatusCode::kInvalidArgument,
        "X25519 key agreement failed; the peer's public key is probably a low-order point");
  }
  static constexpr uint8_t kZeros[kX25519KeySize] = {};
  if (length != kX25519KeySize) {
    return InternalError("X25519 returned a secret of unexpected length");
  }
  if (CRYPTO_memcmp(shared.span().data(), kZeros, kX25519KeySize) == 0) {
    return InvalidArgumentError(
        "X25519 shared secret is all zeros: the peer's public key is a low-order point (RFC 7748 "
        "§6.1)");
  }
  return shared;
}

}  // namespace cartable::aggregation::secagg
