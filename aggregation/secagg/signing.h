#pragma once

// SigningKey: a node's long-term Ed25519 (RFC 8032, pure, no context) identity key. SecAgg+ nodes
// sign their per-round key adverts with it, so a coordinator cannot substitute its own X25519 keys
// and sit in the middle of the pairwise agreements. The object owns the 32-byte seed (wiped on
// destruction, move-only) and caches its public key; it exists only if the seed was accepted, and
// const use is thread safe. Signatures are deterministic: signing the same message twice gives the
// same bytes.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "aggregation/secagg/secret_bytes.h"
#include "core/status.h"

namespace cartable::aggregation::secagg {

inline constexpr size_t kEd25519SeedSize = 32;
using Ed25519PublicKey = std::array<uint8_t, 32>;
using Ed25519Signature = std::array<uint8_t, 64>;

class SigningKey {
 public:
  static StatusOr<SigningKey> Generate();
  // `seed` is RFC 8032's 32-byte "secret key"; other lengths are refused.
  static StatusOr<SigningKey> FromSeed(SecretBytes seed);

  SigningKey(SigningKey&&) noexcept = default;
  SigningKey& operator=(SigningKey&&) noexcept = default;

  const Ed25519PublicKey& PublicKey() const { return public_key_; }

  // Fails only if OpenSSL itself fails (out of memory, a provider without Ed25519).
  StatusOr<Ed25519Signature> Sign(std::span<const uint8_t> message) const;

 private:
  SigningKey(SecretBytes seed, const Ed25519PublicKey& public_key)
      : seed_(std::move(seed)), public_key_(public_key) {}

  SecretBytes seed_;
  Ed25519PublicKey public_key_;
};

// OK if `signature` is a valid Ed25519 signature of `message` under `public_key`; kPermissionDenied
// otherwise (forged or altered, or signed by someone else), kInvalidArgument if the key cannot be
// loaded.
Status VerifySignature(const Ed25519PublicKey& public_key, std::span<const uint8_t> message,
                       const Ed25519Signature& signature);

// For a process that hosts many members of one round (a simulation, a node pool): they all check
// the same signatures (each advert by the member's k neighbours, each consistency signature by up
// to t members), so from now on the process remembers the signatures that verified and checks each
// one once. A failure is never remembered. Off by default: a deployed node, alone in its process,
// gains nothing from it, and `cartable bench secagg` measures what each member pays on its own.
// `false` turns it off again (for tests).
void RememberVerifiedSignatures(bool on = true);

}  // namespace cartable::aggregation::secagg
