#pragma once

// Shamir t-of-n secret sharing of short byte strings (keys and seeds, up to 64 bytes) over the
// prime field GF(2^127 − 1). Any `threshold` shares rebuild the secret; fewer reveal nothing about
// it. SecAgg+ nodes share their self-mask seed and their mask-agreement private key this way, so
// that the coordinator can remove the masks of nodes that drop out, but only with the help of at
// least `threshold` survivors.
//
// The secret is cut into 15-byte chunks (little-endian, so each is < 2^120 < p) and every chunk is
// shared with its own random polynomial of degree threshold − 1, evaluated at the caller's distinct
// points x (SecAgg+ uses the holder's cohort index + 1, so a share's x names its holder). The 2^120
// bound doubles as a sanity check: shares mixed from different Splits, or overwritten with
// unrelated values, rebuild a uniformly random chunk, which is ≥ 2^120 (or beyond a short last
// chunk) with probability at least 1 − 2^−7, and Combine reports that as corruption. It is not a
// MAC: a deliberate small change to a share shifts the secret by a small amount and goes unnoticed.
// Authenticity of shares comes from elsewhere: in SecAgg+, the authenticated encryption they travel
// under (share_cipher.h) and the commitments to every share and every secret that the coordinator
// checks them against (internal/round_crypto.h).
//
// Share values are held in memory that is wiped when freed. Pure functions, thread safe.
//
// Serialised share (fixed layout, all integers little-endian), 6 + 16·c bytes:
//   offset 0      uint8    format version, 1
//   offset 1      uint32   x, the evaluation point, in [1, 65535]
//   offset 5      uint8    c, the number of chunks, in [1, 5]
//   offset 6+16i  uint128  y[i], in [0, 2^127 − 1), for i in [0, c)

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "aggregation/secagg/secret_bytes.h"
#include "core/status.h"

namespace cartable::aggregation::secagg {

inline constexpr size_t kShamirMaxSecretLength = 64;
inline constexpr size_t kShamirChunkBytes = 15;
inline constexpr size_t kShamirMaxChunks =
    (kShamirMaxSecretLength + kShamirChunkBytes - 1) / kShamirChunkBytes;
inline constexpr int kShamirMaxShares = 65535;
inline constexpr uint8_t kShamirShareFormatVersion = 1;
inline constexpr size_t kShamirShareHeaderSize = 6;
inline constexpr size_t kShamirMaxSerializedShareSize =
    kShamirShareHeaderSize + 16 * kShamirMaxChunks;

using ShareValues = std::vector<unsigned __int128, WipingAllocator<unsigned __int128>>;

struct Share {
  uint32_t x = 0;  // evaluation point, 1..65535
  ShareValues y;   // the polynomial of each chunk, evaluated at x
};

// One share of `secret` (1 to 64 bytes) per evaluation point, in the order given, any `threshold`
// of which rebuild it. The points must be distinct and in [1, 65535]; 1 ≤ threshold ≤ points.
// threshold = 1 gives every holder the secret itself.
StatusOr<std::vector<Share>> Split(std::span<const uint8_t> secret, int threshold,
                                   std::span<const uint32_t> points);
// The same at x = 1..num_shares.
StatusOr<std::vector<Share>> Split(std::span<const uint8_t> secret, int threshold, int num_shares);

// Rebuilds a secret of `secret_length` bytes by Lagrange interpolation at 0 from the first
// `threshold` shares; the others are only checked for form. Refuses (kInvalidArgument) too few
// shares, a repeated x, x or y out of range, or chunk counts that do not fit `secret_length`;
// reports kDataLoss when the shares are well-formed but do not rebuild a valid secret (corrupt,
// mixed from two secrets, or too few).
StatusOr<SecretBytes> Combine(std::span<const Share> shares, int threshold, size_t secret_length);

// Aborts on a share that Split could not have produced (no chunks, too many): a programmer error.
SecretBytes SerializeShare(const Share& share);
// Checks the version, the length against the chunk count, x and every y before building the share.
StatusOr<Share> ParseShare(std::span<const uint8_t> bytes);

}  // namespace cartable::aggregation::secagg
