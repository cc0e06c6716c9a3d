#include "aggregation/secagg/quantizer.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "aggregation/secagg/mask_expander.h"

namespace cartable::aggregation::secagg {
namespace {

Status CheckSameLength(size_t accumulator, size_t operand) {
  if (accumulator != operand) {
    return InvalidArgumentError("modular vectors differ in length: " + std::to_string(accumulator) +
                                " and " + std::to_string(operand));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Quantizer> Quantizer::Create(double range, int max_contributors, int modulus_bits,
                                      uint64_t levels, uint64_t noise_bound) {
  if (!std::isfinite(range) || range <= 0) {
    return InvalidArgumentError("the quantizer's range must be positive and finite, got " +
                                std::to_string(range));
  }
  if (max_contributors < 1) {
    return InvalidArgumentError("quantizer needs at least 1 contributor, got " +
                                std::to_string(max_contributors));
  }
  if (modulus_bits < 8 || modulus_bits > 62) {
    return InvalidArgumentError("quantizer modulus must be 2^b with b in [8, 62], got b=" +
                                std::to_string(modulus_bits));
  }
  const uint64_t modulus_mask = (uint64_t{1} << modulus_bits) - 1;
  if (levels == 0) {
    if (noise_bound != 0)
      return InvalidArgumentError("a noise bound needs the levels of its mechanism");
    levels = modulus_mask / static_cast<uint64_t>(max_contributors);
  } else {
    const unsigned __int128 needed =
        static_cast<unsigned __int128>(levels) * static_cast<uint64_t>(max_contributors) +
        2 * static_cast<unsigned __int128>(noise_bound);
    if (needed > modulus_mask) {
      return InvalidArgumentError("modulus of 2^" + std::to_string(modulus_bits) +
                                  " cannot hold the noisy sum of " +
                                  std::to_string(max_contributors) + " contributions of " +
                                  std::to_string(levels) + " levels");
    }
  }
  if (levels < 2) {
    return InvalidArgumentError("modulus of 2^" + std::to_string(modulus_bits) +
                                " cannot hold the sum of " + std::to_string(max_contributors) +
                                " contributions; use more bits or fewer contributors");
  }
  return Quantizer(range, max_contributors, modulus_bits, levels, noise_bound);
}

StatusOr<std::vector<uint64_t>> Quantizer::Quantize(
    std::span<const float> values, std::span<const uint8_t> randomness_seed) const {
  CARTABLE_ASSIGN_OR_RETURN(std::vector<uint32_t> coins,
                            ExpandMask(randomness_seed, values.size()));
  const double levels = static_cast<double>(levels_);
  const double scale = levels / (2 * range_);
  constexpr double kCoinRange = 4294967296.0;  // 2^32
  std::vector<uint64_t> quantized(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double x = values[i];
    if (!std::isfinite(x)) {
      return InvalidArgumentError("value " + std::to_string(i) + " is NaN or infinite");
    }
    const double t = std::min((std::clamp(x, -range_, range_) + range_) * scale, levels);
    const double floor_t = std::floor(t);
    // P(coin < frac·2^32) = ceil(frac·2^32)/2^32: frac up to the coin's resolution. The comparison
    // is exact: both sides are integers or dyadic fractions a double holds exactly.
    const bool round_up = static_cast<double>(coins[i]) < (t - floor_t) * kCoinRange;
    // min() absorbs a t rounded a hair above L in double, so q never leaves [0, L].
    quantized[i] = std::min(static_cast<uint64_t>(floor_t) + (round_up ? 1 : 0), levels_);
  }
  return quantized;
}

Status Quantizer::AddNoise(std::span<uint64_t> quantized, std::span<const int64_t> noise) const {
  CARTABLE_RETURN_IF_ERROR(CheckSameLength(quantized.size(), noise.size()));
  for (size_t i = 0; i < quantized.size(); ++i) {
    const int64_t share = noise[i];
    if (share < -static_cast<int64_t>(noise_bound_) || share > static_cast<int64_t>(noise_bound_)) {
      return InvalidArgumentError("noise " + std::to_string(share) + " at value " +
                                  std::to_string(i) + " is beyond the bound ±" +
                                  std::to_string(noise_bound_));
    }
    quantized[i] = (quantized[i] + static_cast<uint64_t>(share)) & modulus_mask_;
  }
  return Status::Ok();
}

StatusOr<std::vector<double>> Quantizer::DequantizeSum(std::span<const uint64_t> sum_mod_2b,
                                                       int contributors) const {
  if (contributors < 1 || contributors > max_contributors_) {
    return InvalidArgumentError("dequantising a sum of " + std::to_string(contributors) +
                                " contributions; this quantizer allows 1 to " +
                                std::to_string(max_contributors_));
  }
  // Create made n·L + 2B < 2^b, so [0, k·L + B] and [2^b − B, 2^b) do not overlap.
  const uint64_t largest = static_cast<uint64_t>(contributors) * levels_ + noise_bound_;
  const uint64_t lowest_negative = modulus_mask_ - noise_bound_ + 1;
  const double step = 2 * range_ / static_cast<double>(levels_);
  const double offset = contributors * range_;
  std::vector<double> sum(sum_mod_2b.size());
  for (size_t i = 0; i < sum_mod_2b.size(); ++i) {
    const uint64_t word = sum_mod_2b[i];
    double lifted = static_cast<double>(word);
    if (noise_bound_ > 0 && word >= lowest_negative && word <= modulus_mask_) {
      lifted = -static_cast<double>(modulus_mask_ - word + 1);
    } else if (word > largest) {
      return DataLossError("coordinate " + std::to_string(i) + " sums to " + std::to_string(word) +
                           ", outside what " + std::to_string(contributors) +
                           " contributions can reach (at most " + std::to_string(largest) +
                           "): masks did not cancel, or a contributor quantised with other "
                           "parameters");
    }
    sum[i] = lifted * step - offset;
  }
  return sum;
}

Status Quantizer::AddModulo(std::span<uint64_t> accumulator,
                            std::span<const uint64_t> operand) const {
  CARTABLE_RETURN_IF_ERROR(CheckSameLength(accumulator.size(), operand.size()));
  // Unsigned arithmetic wraps modulo 2^64, and 2^b divides 2^64, so masking afterwards is exact.
  for (size_t i = 0; i < accumulator.size(); ++i) {
    accumulator[i] = (accumulator[i] + operand[i]) & modulus_mask_;
  }
  return Status::Ok();
}

Status Quantizer::SubtractModulo(std::span<uint64_t> accumulator,
                                 std::span<const uint64_t> operand) const {
  CARTABLE_RETURN_IF_ERROR(CheckSameLength(accumulator.size(), operand.size()));
  for (size_t i = 0; i < accumulator.size(); ++i) {
    accumulator[i] = (accumulator[i] - operand[i]) & modulus_mask_;
  }
  return Status::Ok();
}

}  // namespace cartable::aggregation::secagg
