#include "aggregation/secagg/signing.h"

#include <openssl/evp.h>

#include <memory>
#include <string>

#include "aggregation/secagg/internal/openssl_status.h"

namespace cartable::aggregation::secagg {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using DigestContextPtr = std::unique_ptr<EVP_MD_CTX, DigestContextDeleter>;

// OpenSSL wants a non-null pointer even for an empty message.
const uint8_t* MessageData(std::span<const uint8_t> message) {
  static constexpr uint8_t kEmpty = 0;
  return message.empty() ? &kEmpty : message.data();
}

StatusOr<PkeyPtr> LoadPrivate(const SecretBytes& seed) {
  PkeyPtr key(EVP_PKEY_new_raw_private_key_ex(nullptr, "ED25519", nullptr, seed.span().data(),
                                              seed.size()));
  if (key == nullptr) {
    return internal::OpenSslError(StatusCode::kInternal, "loading an Ed25519 signing key");
  }
  return key;
}

}  // namespace

StatusOr<SigningKey> SigningKey::Generate() {
  return FromSeed(SecretBytes::Random(kEd25519SeedSize));
}

StatusOr<SigningKey> SigningKey::FromSeed(SecretBytes seed) {
  if (seed.size() != kEd25519SeedSize) {
    return InvalidArgumentError("an Ed25519 seed is 32 bytes, got " + std::to_string(seed.size()));
  }
  CARTABLE_ASSIGN_OR_RETURN(PkeyPtr key, LoadPrivate(seed));
  Ed25519PublicKey public_key;
  size_t length = public_key.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), public_key.data(), &length) != 1 ||
      length != public_key.size()) {
    return internal::OpenSslError(StatusCode::kInternal, "computing an Ed25519 public key");
  }
  return SigningKey(std::move(seed), public_key);
}

StatusOr<Ed25519Signature> SigningKey::Sign(std::span<const uint8_t> message) const {
  CARTABLE_ASSIGN_OR_RETURN(PkeyPtr key, LoadPrivate(seed_));
  DigestContextPtr context(EVP_MD_CTX_new());
  Ed25519Signature signature;
  size_t length = signature.size();
  // Ed25519 hashes internally: no digest name, one-shot EVP_DigestSign.
  if (context == nullptr ||
      EVP_DigestSignInit_ex(context.get(), nullptr, nullptr, nullptr, nullptr, key.get(),
                            nullptr) != 1 ||
      EVP_DigestSign(context.get(), signature.data(), &length, MessageData(message),
                     message.size()) != 1 ||
      length != signature.size()) {
    return internal::OpenSslError(StatusCode::kInternal, "Ed25519 signing failed");
  }
  return signature;
}

Status VerifySignature(const Ed25519PublicKey& public_key, std::span<const uint8_t> message,
                       const Ed25519Signature& signature) {
  PkeyPtr key(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, public_key.data(),
                                             public_key.size()));
  if (key == nullptr) {
    return internal::OpenSslError(StatusCode::kInvalidArgument, "loading an Ed25519 public key");
  }
  DigestContextPtr context(EVP_MD_CTX_new());
  if (context == nullptr || EVP_DigestVerifyInit_ex(context.get(), nullptr, nullptr, nullptr,
                                                    nullptr, key.get(), nullptr) != 1) {
    return internal::OpenSslError(StatusCode::kInternal, "setting up Ed25519 verification");
  }
  if (EVP_DigestVerify(context.get(), signature.data(), signature.size(), MessageData(message),
                       message.size()) != 1) {
    internal::ClearOpenSslErrors();
    return PermissionDeniedError(
        "Ed25519 signature does not verify: the message was altered, the signature forged, or it "
        "was "
        "signed by another key");
  }
  return Status::Ok();
}

}  // namespace cartable::aggregation::secagg
