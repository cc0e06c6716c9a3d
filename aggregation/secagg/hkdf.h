#pragma once

// HKDF with HMAC-SHA-256 (RFC 5869), extract then expand: turns a raw secret (an X25519 shared
// secret, a seed) into keys for distinct purposes. Callers make keys independent by giving each
// purpose its own `info` (e.g. "cartable secagg v1 share-key" plus run, round and the two node
// ids); using one derived key for two purposes is the mistake this function exists to prevent. A
// pure function, thread safe.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "aggregation/secagg/secret_bytes.h"
#include "core/status.h"

namespace cartable::aggregation::secagg {

// RFC 5869 caps the output at 255 hash blocks.
inline constexpr size_t kHkdfSha256MaxLength = size_t{255} * 32;
// OpenSSL 3.0 keeps `info` in a 1024-byte buffer; refusing longer ones up front gives a clear
// error.
inline constexpr size_t kHkdfMaxInfoLength = 1024;

// `length` bytes of output key material, 1 ≤ length ≤ 8160. An empty `salt` means RFC 5869's
// default (32 zero bytes). Refuses empty input key material (always a caller bug here, never a
// real secret) and an `info` over 1024 bytes.
StatusOr<SecretBytes> HkdfSha256(std::span<const uint8_t> input_key_material,
                                 std::span<const uint8_t> salt, std::span<const uint8_t> info,
                                 size_t length);

// For simulations and tests only: `length` bytes derived from `seed` (its 8 little-endian bytes as
// input key material, no salt) for the purpose named by `info`, so that a run is reproducible from
// its seed. A 64-bit seed is no secret: whoever knows it can derive the same bytes.
StatusOr<SecretBytes> InsecureHkdfSha256FromSeed(uint64_t seed, std::string_view info,
                                                 size_t length);

}  // namespace cartable::aggregation::secagg
