#pragma once

// X25519PrivateKey: one party's X25519 (RFC 7748) key for Diffie-Hellman key agreement. SecAgg+
// gives each node two of them per round: one to derive the pairwise mask seeds, one to derive the
// keys that encrypt Shamir shares for each peer. The object owns its private scalar (wiped on
// destruction, move-only) and caches its public key; it exists only if the key was accepted, and
// const use is thread safe.
//
// The shared secret that Agree() returns is raw curve output, not a uniform key: derive keys from
// it with HkdfSha256 and an info string naming the purpose, never use it directly.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "aggregation/secagg/secret_bytes.h"
#include "core/status.h"

namespace cartable::aggregation::secagg {

inline constexpr size_t kX25519KeySize = 32;
using X25519PublicKey = std::array<uint8_t, kX25519KeySize>;

class X25519PrivateKey {
 public:
  static StatusOr<X25519PrivateKey> Generate();
  // Any 32 bytes are a valid X25519 private key (the scalar is clamped on use); other lengths fail.
  static StatusOr<X25519PrivateKey> FromBytes(SecretBytes private_key);

  X25519PrivateKey(X25519PrivateKey&&) noexcept = default;
  X25519PrivateKey& operator=(X25519PrivateKey&&) noexcept = default;

  const X25519PublicKey& PublicKey() const { return public_key_; }

  // The 32-byte shared secret with the owner of `peer_public`. Refuses (kInvalidArgument) a peer
  // key that yields the all-zero secret: a low-order point (RFC 7748 §6.1) lets whoever chose it
  // fix the secret.
  StatusOr<SecretBytes> Agree(const X25519PublicKey& peer_public) const;

  // The private scalar, for Shamir-sharing it so that survivors can rebuild a dropped node's
  // pairwise masks.
  SecretBytes ExportPrivateBytes() const { return private_key_.Clone(); }

 private:
  // The key as OpenSSL holds it, loaded once: loading recomputes the public key, which would
  // otherwise double the cost of every agreement. Opaque here, so no OpenSSL type reaches this
  // header.
  using LoadedKey = std::unique_ptr<void, void (*)(void*)>;

  X25519PrivateKey(SecretBytes private_key, const X25519PublicKey& public_key, LoadedKey loaded)
      : private_key_(std::move(private_key)), public_key_(public_key), loaded_(std::move(loaded)) {}

  SecretBytes private_key_;
  X25519PublicKey public_key_;
  LoadedKey loaded_;
};

}  // namespace cartable::aggregation::secagg
