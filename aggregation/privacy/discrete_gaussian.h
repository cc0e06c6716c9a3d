#pragma once

// Exact sampling from the discrete Gaussian N_Z(0, σ²), P[x] ∝ exp(−x²/(2σ²)) over the integers,
// the noise of the distributed discrete Gaussian mechanism (Kairouz, Liu and Steinke, ICML 2021):
// each node adds its share to its integer update before masking, and the securely summed noise of
// the cohort protects the sum even from the coordinator. Floating-point noise has no such place:
// it cannot be summed modulo 2^b, and its low-order bits can leak the value it hides (Mironov,
// CCS 2012).
//
// The algorithms are those of Canonne, Kamath and Steinke ("The Discrete Gaussian for
// Differential Privacy", NeurIPS 2020): Bernoulli(exp(−γ)) for a rational γ by a series of
// Bernoulli(γ/k) coins, the discrete Laplace by rejection, and the discrete Gaussian by rejection
// from the discrete Laplace of scale t = ⌊σ⌋ + 1. Every coin is decided with integer arithmetic on
// σ² = numerator/denominator, so a sample follows the distribution exactly, but for draws beyond
// 2^26 from zero (for σ ≤ 2^20 a probability far below 2^−1000), which are rejected.
//
// Randomness comes from a 32-byte seed expanded with AES-256-CTR (secagg::MaskExpander): a fresh
// SecretBytes::Random(32) per use in production, a fixed one in tests, so a test's draws are
// reproducible and a node's are secret.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"

namespace cartable::aggregation::privacy {

// σ² as a fraction, so that the sampler decides every coin exactly.
struct Variance {
  uint64_t numerator = 0;
  uint64_t denominator = 1;
  double value() const { return static_cast<double>(numerator) / static_cast<double>(denominator); }
};

// The fraction with denominator 2^16 nearest above `sigma_squared` (never below: less noise than
// asked would weaken the guarantee). InvalidArgument outside [2^−16, 2^40] or not finite.
StatusOr<Variance> VarianceOf(double sigma_squared);

// A stream of uniformly random words from a seed; not thread safe.
class RandomWords {
 public:
  // Refuses a seed that is not 32 bytes.
  static StatusOr<RandomWords> Create(std::span<const uint8_t> seed);
  RandomWords(RandomWords&&) noexcept;
  RandomWords& operator=(RandomWords&&) noexcept;
  ~RandomWords();

  uint64_t Next();
  // Uniform in [0, bound), bound ≥ 1, by rejection (no modulo bias).
  unsigned __int128 Below(unsigned __int128 bound);
  // 1 with probability numerator/denominator, numerator ≤ denominator, denominator ≥ 1.
  bool Bernoulli(unsigned __int128 numerator, unsigned __int128 denominator);
  // 1 with probability exp(−numerator/denominator), denominator ≥ 1.
  bool BernoulliExp(unsigned __int128 numerator, unsigned __int128 denominator);

 private:
  struct Stream;
  explicit RandomWords(std::unique_ptr<Stream> stream);
  std::unique_ptr<Stream> stream_;
};

// One draw of the discrete Laplace of scale t ≥ 1: P[x] ∝ exp(−|x|/t).
int64_t SampleDiscreteLaplace(uint64_t scale, RandomWords& random);

// One draw of N_Z(0, σ²). σ² within VarianceOf's range (a programmer error otherwise).
int64_t SampleDiscreteGaussian(const Variance& variance, RandomWords& random);

// `count` independent draws of N_Z(0, σ²) from `seed` (32 bytes).
StatusOr<std::vector<int64_t>> DiscreteGaussianNoise(size_t count, const Variance& variance,
                                                     std::span<const uint8_t> seed);

}  // namespace cartable::aggregation::privacy
