#include "aggregation/secagg/signing.h"

#include <openssl/evp.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "aggregation/secagg/digest.h"
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

namespace {

// The signatures that verified (RememberVerifiedSignatures), by the SHA-256 of the key, the
// signature and the message's SHA-256: at most kRemembered of them, forgotten all at once when
// full.
class VerifiedSignatures {
 public:
  static VerifiedSignatures& Get() {
    static auto* verified = new VerifiedSignatures();  // never destroyed: used from any thread
    return *verified;
  }
  static Sha256Digest Key(const Ed25519PublicKey& public_key, std::span<const uint8_t> message,
                          const Ed25519Signature& signature) {
    const Sha256Digest message_hash = Sha256(message);
    return Sha256OfParts({public_key, signature, message_hash});
  }
  bool Contains(const Sha256Digest& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    return verified_.contains(key);
  }
  void Add(const Sha256Digest& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (verified_.size() >= kRemembered) verified_.clear();
    verified_.insert(key);
  }

 private:
  static constexpr size_t kRemembered = size_t{1} << 18;
  struct Hash {
    size_t operator()(const Sha256Digest& d) const {
      size_t h = 0;
      std::memcpy(&h, d.data(), sizeof(h));  // a SHA-256 is uniform already
      return h;
    }
  };
  std::mutex mutex_;
  std::unordered_set<Sha256Digest, Hash> verified_;
};

Status VerifyOnce(const Ed25519PublicKey& public_key, std::span<const uint8_t> message,
                  const Ed25519Signature& signature);

std::atomic<bool> remember_verified{false};

}  // namespace

void RememberVerifiedSignatures(bool on) { remember_verified.store(on, std::memory_order_relaxed); }

Status VerifySignature(const Ed25519PublicKey& public_key, std::span<const uint8_t> message,
                       const Ed25519Signature& signature) {
  if (!remember_verified.load(std::memory_order_relaxed)) {
    return VerifyOnce(public_key, message, signature);
  }
  VerifiedSignatures& verified = VerifiedSignatures::Get();
  const Sha256Digest key = VerifiedSignatures::Key(public_key, message, signature);
  if (verified.Contains(key)) return Status::Ok();
  CARTABLE_RETURN_IF_ERROR(VerifyOnce(public_key, message, signature));
  verified.Add(key);
  return Status::Ok();
}

namespace {

Status VerifyOnce(const Ed25519PublicKey& public_key, std::span<const uint8_t> message,
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

}  // namespace

}  // namespace cartable::aggregation::secagg
