#include "aggregation/secagg/internal/prime_field.h"

#include <openssl/rand.h>

#include "aggregation/secagg/secret_bytes.h"
#include "core/check.h"

namespace cartable::aggregation::secagg::internal {
namespace {

// x − p if x ≥ p, else x; for x < 2p. The comparison becomes an all-ones or all-zeros mask.
FieldElement SubtractPrimeIfNeeded(FieldElement x) {
  const FieldElement mask = FieldElement{0} - static_cast<FieldElement>(x >= kFieldPrime);
  return x - (kFieldPrime & mask);
}

// x mod p for any 128-bit x: x = hi·2^127 + lo ≡ hi + lo, and hi + lo ≤ 2^127 = p + 1.
FieldElement Fold(FieldElement x) { return SubtractPrimeIfNeeded((x & kFieldPrime) + (x >> 127)); }

}  // namespace

FieldElement FieldAdd(FieldElement a, FieldElement b) { return SubtractPrimeIfNeeded(a + b); }

FieldElement FieldSubtract(FieldElement a, FieldElement b) {
  const FieldElement borrow = FieldElement{0} - static_cast<FieldElement>(a < b);
  return a - b + (kFieldPrime & borrow);
}

FieldElement FieldMultiply(FieldElement a, FieldElement b) {
  const uint64_t a0 = static_cast<uint64_t>(a), a1 = static_cast<uint64_t>(a >> 64);
  const uint64_t b0 = static_cast<uint64_t>(b), b1 = static_cast<uint64_t>(b >> 64);
  const FieldElement low = FieldElement{a0} * b0;
  const FieldElement high = FieldElement{a1} * b1;
  // a1, b1 < 2^63 for reduced inputs: each cross product is < 2^127, so their sum fits.
  const FieldElement cross = FieldElement{a0} * b1 + FieldElement{a1} * b0;

  // product = product_high·2^128 + product_low, product < 2^254.
  const FieldElement product_low = low + (cross << 64);
  const FieldElement carry = product_low < low;
  const FieldElement product_high = high + (cross >> 64) + carry;  // < 2^126

  // With 2^127 ≡ 1: product ≡ (product >> 127) + (product mod 2^127).
  const FieldElement top = (product_high << 1) | (product_low >> 127);  // < 2^127
  return Fold((product_low & kFieldPrime) + top);
}

FieldElement FieldMultiplySmall(FieldElement a, uint64_t s) {
  const FieldElement low = FieldElement{static_cast<uint64_t>(a)} * s;  // < 2^128
  const FieldElement high =
      FieldElement{static_cast<uint64_t>(a >> 64)} * s;  // < 2^127 (a < 2^127)
  // a·s = high·2^64 + low. Split high·2^64 = high_top·2^128 + high_bottom·2^64, and 2^128 ≡ 2.
  const FieldElement high_bottom = high << 64;
  const FieldElement sum = low + high_bottom;
  const FieldElement carry = sum < low;                        // one more 2^128 ≡ 2
  const FieldElement small_part = 2 * ((high >> 64) + carry);  // < 2^65
  return FieldAdd(Fold(sum), small_part);
}

FieldElement FieldPower(FieldElement base, FieldElement exponent) {
  FieldElement result = 1;
  // Square-and-multiply over all 128 exponent bits; the exponents used here (p − 2) are public.
  for (int bit = 127; bit >= 0; --bit) {
    result = FieldMultiply(result, result);
    if ((exponent >> bit) & 1) result = FieldMultiply(result, base);
  }
  return result;
}

FieldElement FieldInverse(FieldElement a) {
  CARTABLE_CHECK(a != 0 && a < kFieldPrime)
      << "inverting zero or an unreduced value in GF(2^127 - 1)";
  return FieldPower(a, kFieldPrime - 2);
}

FieldElement RandomFieldElement() {
  uint8_t bytes[16];
  FieldElement value = kFieldPrime;
  while (value == kFieldPrime) {
    CARTABLE_CHECK(RAND_bytes(bytes, sizeof(bytes)) == 1)
        << "the OpenSSL CSPRNG failed; refusing to continue without randomness";
    value = 0;
    for (int i = 15; i >= 0; --i) value = (value << 8) | bytes[i];
    value &= kFieldPrime;
  }
  WipeBytes(bytes, sizeof(bytes));
  return value;
}

}  // namespace cartable::aggregation::secagg::internal
