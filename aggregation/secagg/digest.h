#pragma once

// SHA-256 of a byte string. SecAgg+ nodes sign the hash of the global model they received, so a
// coordinator that sends different models to different nodes is caught when the nodes check each
// other's signatures; they also commit to their secrets and shares with it
// (internal/round_crypto.h). Pure functions, thread safe.

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>

namespace cartable::aggregation::secagg {

using Sha256Digest = std::array<uint8_t, 32>;

// Aborts if OpenSSL cannot hash (no SHA-256 provider): nothing can go on without it.
Sha256Digest Sha256(std::span<const uint8_t> bytes);
// SHA-256 of the concatenation of `parts`, without copying them into one buffer (parts holding
// secrets leave no unwiped copy behind).
Sha256Digest Sha256OfParts(std::initializer_list<std::span<const uint8_t>> parts);

}  // namespace cartable::aggregation::secagg
