#pragma once

// Arithmetic in GF(p), p = 2^127 − 1, the field Shamir sharing works in. Elements are unsigned
// __int128 values in [0, p); every function expects reduced inputs and returns a reduced output. p
// is a Mersenne prime, so reduction is shifts and adds: 2^127 ≡ 1 (mod p). The code avoids branches
// on element values (conditional subtractions use masks) because the elements are secret shares.
// Pure functions.

#include <cstdint>

namespace cartable::aggregation::secagg::internal {

using FieldElement = unsigned __int128;

inline constexpr FieldElement kFieldPrime = (FieldElement{1} << 127) - 1;

FieldElement FieldAdd(FieldElement a, FieldElement b);
FieldElement FieldSubtract(FieldElement a, FieldElement b);
// Forms the 254-bit product from 64-bit limbs, then folds it twice modulo 2^127 − 1.
FieldElement FieldMultiply(FieldElement a, FieldElement b);
// a·s for a small factor s < 2^64 (Shamir's evaluation points and their differences): two 64-bit
// products instead of four. Same result as FieldMultiply(a, s).
FieldElement FieldMultiplySmall(FieldElement a, uint64_t s);
FieldElement FieldPower(FieldElement base, FieldElement exponent);
// a^(p−2) (Fermat). `a` must be non-zero: zero has no inverse, and callers only invert differences
// of distinct evaluation points.
FieldElement FieldInverse(FieldElement a);
// Uniform in [0, p): 127 bits from RAND_bytes, redrawn on the single value p (probability 2^−127).
FieldElement RandomFieldElement();

}  // namespace cartable::aggregation::secagg::internal
