#pragma once

// The pseudorandom generator that stretches a 32-byte seed into a mask as long as a model update.
// SecAgg+ masks each quantised update with one self mask (from a seed the node shares with Shamir)
// and one mask per neighbour (from a seed agreed by X25519); the coordinator re-expands the seeds
// it recovers to remove exactly those masks, so both sides must produce the same words from the
// same seed, on any platform.
//
// Construction: the AES-256-CTR keystream under key = seed, IV = 16 zero bytes, read as
// little-endian words. A zero IV is safe because every seed keys exactly one expansion: seeds are
// fresh per round and per purpose (derived with distinct HKDF info strings), so no keystream is
// ever reused. The corollary is the rule callers must keep: never expand one seed twice for two
// different purposes (ExpandMask and ExpandMask64 on the same seed return overlapping keystream).
//
// Output is streamed from OpenSSL in fixed chunks straight into the result; nothing else is
// allocated. The functions are pure and thread safe; a MaskExpander is not thread safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"

namespace cartable::aggregation::secagg {

inline constexpr size_t kMaskSeedSize = 32;
// 2^32 words: far above any model, and keeps the byte count well inside size_t on every platform.
inline constexpr size_t kMaxMaskWords = size_t{1} << 32;

// `count` uniformly random 32-bit words. Refuses a seed that is not 32 bytes or a count over 2^32.
StatusOr<std::vector<uint32_t>> ExpandMask(std::span<const uint8_t> seed, size_t count);

// `count` words uniform in [0, 2^bits), bits ∈ [1, 64]. The keystream is read in words just wide
// enough for the modulus: 32-bit words when bits ≤ 32 (so a 32-bit mask costs 4 bytes of AES
// output per word, not 8), 64-bit words above; each keeps its low `bits` bits. Masking keeps
// uniformity because 2^bits divides 2^32 (or 2^64), which is why the secure sum works modulo a
// power of two and not a prime.
StatusOr<std::vector<uint64_t>> ExpandMask64(std::span<const uint8_t> seed, size_t count, int bits);

// ExpandMask64's words, a block at a time: successive Next calls return consecutive words of the
// same stream, so a caller can fold a mask of any length into a vector through a small buffer
// instead of holding the whole mask (masking.cpp adds hundreds of masks to one vector this way).
// Owns one AES key schedule, freed and wiped by OpenSSL on destruction; move-only.
class MaskExpander {
 public:
  // Refuses a seed that is not 32 bytes and bits outside [1, 64].
  static StatusOr<MaskExpander> Create(std::span<const uint8_t> seed, int bits);
  MaskExpander(MaskExpander&&) noexcept;
  MaskExpander& operator=(MaskExpander&&) noexcept;
  ~MaskExpander();

  // Overwrites `words` with the next words.size() words. Refuses (kOutOfRange) to go past the
  // 2^32-word cap of one expansion.
  Status Next(std::span<uint64_t> words);
  // The same words, for an expander of at most 32 bits (a wider one is a programmer error): the
  // keystream lands straight in `words`, with no widening pass.
  Status Next(std::span<uint32_t> words);

 private:
  struct Context;
  MaskExpander(std::unique_ptr<Context> context, int bits);
  Status Keystream(std::span<uint8_t> bytes, size_t words);

  std::unique_ptr<Context> context_;
  int bits_;
  uint64_t keep_;  // 2^bits − 1
  size_t words_done_ = 0;
};

}  // namespace cartable::aggregation::secagg
