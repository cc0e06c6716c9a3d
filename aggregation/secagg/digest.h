#pragma once

// SHA-256 of a byte string. SecAgg+ nodes sign the hash of the global model they received, so a
// coordinator that sends different models to different nodes is caught when the nodes check each
// other's signatures. A pure function, thread safe.

#include <array>
#include <cstdint>
#include <span>

namespace cartable::aggregation::secagg {

using Sha256Digest = std::array<uint8_t, 32>;

// Aborts if OpenSSL cannot hash (no SHA-256 provider): nothing can go on without it.
Sha256Digest Sha256(std::span<const uint8_t> bytes);

}  // namespace cartable::aggregation::secagg
