#pragma once

// Authenticated encryption of the Shamir shares one node sends another through the coordinator,
// with AES-256-GCM. The caller never chooses a nonce: Seal draws a fresh 96-bit nonce from the
// CSPRNG and prepends it, so a nonce can never be reused by mistake. Random 96-bit nonces stay safe
// for 2^32 messages under one key; each key here is derived for one pair of nodes in one round and
// seals a handful.
//
// The associated data MUST bind run id, round, stage, sender and recipient (callers build it from
// those five fields, in a fixed encoding). Open fails unless it is byte-for-byte the same, which is
// what stops a coordinator from replaying a share from another round, or re-addressing a share to
// another node.
//
// Sealed layout: 12-byte nonce ‖ ciphertext (same length as the plaintext) ‖ 16-byte tag.
// Pure functions, thread safe.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "aggregation/secagg/secret_bytes.h"
#include "core/status.h"

namespace cartable::aggregation::secagg {

inline constexpr size_t kShareCipherKeySize = 32;
inline constexpr size_t kShareCipherNonceSize = 12;
inline constexpr size_t kShareCipherTagSize = 16;
inline constexpr size_t kShareCipherOverhead = kShareCipherNonceSize + kShareCipherTagSize;
// Shares are tens of bytes; the cap keeps every length within OpenSSL's int arguments.
inline constexpr size_t kShareCipherMaxPlaintext = size_t{1} << 30;

// Refuses (kInvalidArgument) a key that is not 32 bytes, or inputs over 1 GiB.
StatusOr<std::vector<uint8_t>> Seal(const SecretBytes& key, std::span<const uint8_t> plaintext,
                                    std::span<const uint8_t> associated_data);

// The plaintext, or kPermissionDenied if the tag does not verify (wrong key, different associated
// data, any altered byte), or kDataLoss if `sealed` is shorter than nonce + tag (28 bytes).
StatusOr<SecretBytes> Open(const SecretBytes& key, std::span<const uint8_t> sealed,
                           std::span<const uint8_t> associated_data);

}  // namespace cartable::aggregation::secagg
