#include "aggregation/privacy/discrete_gaussian.h"

#include <array>
#include <cmath>
#include <cstdlib>

#include "aggregation/secagg/mask_expander.h"
#include "core/check.h"

namespace cartable::aggregation::privacy {
namespace {

using U128 = unsigned __int128;

constexpr uint64_t kDenominator = uint64_t{1} << 16;
constexpr double kMinVariance = 1.0 / static_cast<double>(kDenominator);
constexpr double kMaxVariance = static_cast<double>(uint64_t{1} << 40);
constexpr int64_t kMaxMagnitude = int64_t{1} << 26;  // draws beyond are rejected (header)
constexpr uint64_t kMaxSeries = 4096;  // Bernoulli(exp(−γ)) coins; P[more] < 1/4095!

bool Valid(const Variance& v) {
  return v.numerator >= 1 && v.denominator >= 1 && v.denominator <= kDenominator &&
         v.value() >= kMinVariance && v.value() <= kMaxVariance;
}

// ⌊σ⌋ for σ² = numerator/denominator, exactly.
uint64_t FloorSigma(const Variance& v) {
  auto k = static_cast<uint64_t>(std::sqrt(v.value()));
  while (static_cast<U128>(k + 1) * (k + 1) * v.denominator <= v.numerator) ++k;
  while (k > 0 && static_cast<U128>(k) * k * v.denominator > v.numerator) --k;
  return k;
}

}  // namespace

StatusOr<Variance> VarianceOf(double sigma_squared) {
  if (!std::isfinite(sigma_squared) || sigma_squared < kMinVariance ||
      sigma_squared > kMaxVariance) {
    return InvalidArgumentError("the discrete Gaussian's variance must be between 2^-16 and 2^40");
  }
  const double scaled = std::ceil(sigma_squared * static_cast<double>(kDenominator));
  return Variance{static_cast<uint64_t>(scaled), kDenominator};
}

struct RandomWords::Stream {
  explicit Stream(secagg::MaskExpander e) : expander(std::move(e)) {}
  secagg::MaskExpander expander;
  std::array<uint64_t, 256> buffer{};
  size_t next = buffer.size();
};

StatusOr<RandomWords> RandomWords::Create(std::span<const uint8_t> seed) {
  CARTABLE_ASSIGN_OR_RETURN(secagg::MaskExpander expander, secagg::MaskExpander::Create(seed, 64));
  return RandomWords(std::make_unique<Stream>(std::move(expander)));
}

RandomWords::RandomWords(std::unique_ptr<Stream> stream) : stream_(std::move(stream)) {}
RandomWords::RandomWords(RandomWords&&) noexcept = default;
RandomWords& RandomWords::operator=(RandomWords&&) noexcept = default;
RandomWords::~RandomWords() = default;

uint64_t RandomWords::Next() {
  Stream& s = *stream_;
  if (s.next == s.buffer.size()) {
    // 2^32 words (32 GiB of noise coins) per seed: far beyond any update.
    CARTABLE_CHECK(s.expander.Next(std::span<uint64_t>(s.buffer)).ok());
    s.next = 0;
  }
  return s.buffer[s.next++];
}

unsigned __int128 RandomWords::Below(unsigned __int128 bound) {
  CARTABLE_CHECK(bound >= 1);
  const U128 threshold = (U128{0} - bound) % bound;  // 2^128 mod bound: below it, a biased tail
  for (;;) {
    const U128 word = static_cast<U128>(Next()) << 64 | Next();
    if (word >= threshold) return word % bound;
  }
}

bool RandomWords::Bernoulli(unsigned __int128 numerator, unsigned __int128 denominator) {
  CARTABLE_CHECK(denominator >= 1 && numerator <= denominator);
  return Below(denominator) < numerator;
}

// Canonne, Kamath and Steinke, Algorithm 1: for γ ≤ 1, count K while Bernoulli(γ/K) coins come
// up 1; exp(−γ) is the probability that K ends odd. Above 1, one exp(−1) coin per whole unit.
bool RandomWords::BernoulliExp(unsigned __int128 numerator, unsigned __int128 denominator) {
  CARTABLE_CHECK(denominator >= 1);
  while (numerator > denominator) {
    if (!BernoulliExp(1, 1)) return false;
    numerator -= denominator;
  }
  uint64_t k = 1;
  while (k < kMaxSeries && denominator <= ~U128{0} / (k + 1) &&
         Bernoulli(numerator, denominator * k)) {
    ++k;
  }
  return k % 2 == 1;
}

// Algorithm 2 with s = 1: X = U + t·V, U uniform below t kept with probability exp(−U/t), V
// geometric with ratio exp(−1); a random sign, with −0 rejected so that 0 is not drawn twice.
int64_t SampleDiscreteLaplace(uint64_t scale, RandomWords& random) {
  CARTABLE_CHECK(scale >= 1);
  for (;;) {
    const auto u = static_cast<uint64_t>(random.Below(scale));
    if (!random.BernoulliExp(u, scale)) continue;
    uint64_t v = 0;
    while (random.BernoulliExp(1, 1)) ++v;
    const U128 x = static_cast<U128>(u) + static_cast<U128>(scale) * v;
    const bool negative = random.Bernoulli(1, 2);
    if (negative && x == 0) continue;
    if (x > static_cast<U128>(INT64_MAX)) continue;  // only a saturated geometric gets here
    return negative ? -static_cast<int64_t>(x) : static_cast<int64_t>(x);
  }
}

// Algorithm 3: Y from the discrete Laplace of scale t = ⌊σ⌋ + 1, kept with probability
// exp(−(|Y| − σ²/t)²/(2σ²)). With σ² = a/b: γ = (|Y|·b·t − a)² / (2·a·b·t²), integers below
// 2^127 for |Y| ≤ 2^26, b ≤ 2^16, t ≤ 2^20 + 1 and a ≤ 2^56.
int64_t SampleDiscreteGaussian(const Variance& variance, RandomWords& random) {
  CARTABLE_CHECK(Valid(variance));
  const uint64_t t = FloorSigma(variance) + 1;
  const U128 a = variance.numerator, b = variance.denominator;
  const U128 denominator = 2 * a * b * t * t;
  for (;;) {
    const int64_t y = SampleDiscreteLaplace(t, random);
    const int64_t magnitude = y < 0 ? -y : y;
    if (magnitude > kMaxMagnitude) continue;
    const U128 scaled = static_cast<U128>(magnitude) * b * t;
    const U128 difference = scaled >= a ? scaled - a : a - scaled;
    if (random.BernoulliExp(difference * difference, denominator)) return y;
  }
}

StatusOr<std::vector<int64_t>> DiscreteGaussianNoise(size_t count, const Variance& variance,
                                                     std::span<const uint8_t> seed) {
  if (!Valid(variance)) {
    return InvalidArgumentError(
        "the discrete Gaussian's variance must be a fraction with a denominator of at most 2^16, "
        "between 2^-16 and 2^40");
  }
  CARTABLE_ASSIGN_OR_RETURN(RandomWords random, RandomWords::Create(seed));
  std::vector<int64_t> noise(count);
  for (int64_t& x : noise) x = SampleDiscreteGaussian(variance, random);
  return noise;
}

}  // namespace cartable::aggregation::privacy
