#pragma once

// SHA-256 of a byte string. SecAgg+ nodes sign the hash of the global model they received, so a
// coordinator that sends different models to different nodes is caught when the nodes check each
// other's signatures; they also commit to their secrets and shares with it
// (internal/round_crypto.h). Pure functions, thread safe.

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace cartable::aggregation::secagg {

using Sha256Digest = std::array<uint8_t, 32>;

// Aborts if OpenSSL cannot hash (no SHA-256 provider): nothing can go on without it.
Sha256Digest Sha256(std::span<const uint8_t> bytes);
// SHA-256 of the concatenation of `parts`, without copying them into one buffer (parts holding
// secrets leave no unwiped copy behind).
Sha256Digest Sha256OfParts(std::initializer_list<std::span<const uint8_t>> parts);
// SHA-256 of `bytes` as 64 lower-case hex digits: how plans, models, files and audit entries are
// named in what people read.
std::string Sha256Hex(std::span<const uint8_t> bytes);
inline std::string Sha256Hex(std::string_view text) {
  return Sha256Hex({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

}  // namespace cartable::aggregation::secagg
