#pragma once

// Quantizer: maps float updates to integers modulo 2^b for secure summation, and the unmasked
// integer sum back to floats. Created once per run from the plan's value range c, the most
// contributors n a round can have, and the modulus width b; an object that exists has parameters
// that work together. Immutable after Create, so thread safe.
//
// Each value x is clamped to [−c, c] and mapped to t = (x + c)/(2c)·L ∈ [0, L] with L levels. It is
// then rounded to floor(t) or floor(t) + 1, up with probability equal to the fractional part, so
// E[q] = t and the sum of quantised values is an unbiased estimate of the scaled sum, up to the
// 2^−32 resolution of the rounding coins and the double rounding of t (relative 2^−53, far below
// the float input's own precision). Each contribution is off by less than one level, 2c/L.
//
// Headroom: every q is in [0, L] and L = floor((2^b − 1)/n), so the true sum of up to n
// contributions is at most n·L ≤ 2^b − 1 < 2^b. Masks cancel modulo 2^b, and because the true sum
// is below the modulus, the sum modulo 2^b the coordinator unmasks IS the true integer sum: no
// wrap-around can alias it. Create refuses parameters leaving fewer than 2 levels, where
// quantisation would destroy the update.
//
// With distributed noise (aggregation/privacy/distributed_gaussian.h), the levels L are the
// mechanism's and each contributor adds its integer noise to its quantised values (AddNoise)
// before masking. The summed noise of a coordinate lies within ±B (the noise bound), so the true
// noisy sum lies in [−B, n·L + B]; Create refuses a modulus that cannot hold n·L + 2B, and
// DequantizeSum reads a word above n·L + B as the negative sum word − 2^b.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"

namespace cartable::aggregation::secagg {

class Quantizer {
 public:
  // range > 0 and finite; max_contributors ≥ 1; modulus_bits ∈ [8, 62] (below 8 bits nothing useful
  // fits; up to 62, every sum also fits a signed 64-bit integer for callers that need one).
  // With `levels` 0, as many levels as the modulus allows (and `noise_bound` must be 0); otherwise
  // exactly `levels` (≥ 2), with room for summed noise within ±noise_bound.
  static StatusOr<Quantizer> Create(double range, int max_contributors, int modulus_bits,
                                    uint64_t levels = 0, uint64_t noise_bound = 0);

  // One word per value, each in [0, L]. The rounding coins come from ExpandMask(randomness_seed),
  // so the seed must be fresh per call in production (SecretBytes::Random(32)) and fixed only in
  // tests. Refuses a seed that is not 32 bytes and values that are NaN or infinite.
  StatusOr<std::vector<uint64_t>> Quantize(std::span<const float> values,
                                           std::span<const uint8_t> randomness_seed) const;

  // quantized ← (quantized + noise) mod 2^b. Refuses vectors of different lengths and a share of
  // noise beyond the noise bound (none at all without one).
  Status AddNoise(std::span<uint64_t> quantized, std::span<const int64_t> noise) const;

  // Σ xᵢ estimated from the unmasked sum of `contributors` quantised vectors: sum/L·2c − k·c.
  // Refuses k outside [1, n] and (kDataLoss) a coordinate outside [−B, k·L + B], which no k honest
  // contributions can reach: masks that did not cancel, or a contributor with other parameters.
  StatusOr<std::vector<double>> DequantizeSum(std::span<const uint64_t> sum_mod_2b,
                                              int contributors) const;

  // accumulator ← (accumulator ± operand) mod 2^b, element-wise; inputs are taken modulo 2^b, so
  // any uint64_t is accepted. Refuses vectors of different lengths.
  Status AddModulo(std::span<uint64_t> accumulator, std::span<const uint64_t> operand) const;
  Status SubtractModulo(std::span<uint64_t> accumulator, std::span<const uint64_t> operand) const;

  double range() const { return range_; }
  int max_contributors() const { return max_contributors_; }
  int modulus_bits() const { return modulus_bits_; }
  uint64_t levels() const { return levels_; }
  uint64_t noise_bound() const { return noise_bound_; }
  uint64_t modulus_mask() const { return modulus_mask_; }  // 2^b − 1

 private:
  Quantizer(double range, int max_contributors, int modulus_bits, uint64_t levels,
            uint64_t noise_bound)
      : range_(range),
        max_contributors_(max_contributors),
        modulus_bits_(modulus_bits),
        levels_(levels),
        noise_bound_(noise_bound),
        modulus_mask_((uint64_t{1} << modulus_bits) - 1) {}

  double range_;
  int max_contributors_;
  int modulus_bits_;
  uint64_t levels_;
  uint64_t noise_bound_;
  uint64_t modulus_mask_;
};

}  // namespace cartable::aggregation::secagg
