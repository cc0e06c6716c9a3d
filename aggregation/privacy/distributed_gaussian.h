#pragma once

// The distributed discrete Gaussian mechanism (Kairouz, Liu and Steinke, "The Distributed Discrete
// Gaussian Mechanism for Federated Learning with Secure Aggregation", ICML 2021), as the
// establishment-level DP of a secure round: each establishment's packed vector, of L2 norm at most
// Δ, is quantised to integers with step γ (randomised rounding), gets its share of discrete
// Gaussian noise N_Z(0, σ²) on every coordinate, and only then is masked. The coordinator unmasks
// the sum of at least n_min such vectors, which carries at least n_min shares of noise: the sum is
// differentially private even to the coordinator, with the establishment as the unit.
//
// Sizing (PlanDistributedGaussian): the researcher gives the noise multiplier z, the total noise
// the sum must carry in units of Δ when n_min establishments add theirs. σ (per establishment, in
// integer units) is fixed near 2^18, so that discrete steps are fine against the noise; the step
// γ follows from it, then the quantiser's levels L = ⌊2r/γ⌋ over the range ±r, and σ² is set again
// from the step the levels give. Noise never needs clamping: a coordinate of the summed noise is
// beyond B = 20·σ·√n_max with probability below 2·exp(−200) (a sum of discrete Gaussians is
// sub-Gaussian with variance proxy n·σ²), and the modulus must hold n_max·L + 2B.
//
// Accounting (DistributedGaussianRdp), Theorem 1 of the paper with unconditional randomised
// rounding (each coordinate moves by less than one step, so the integer sensitivity is
// Δ/γ + √d): with s = Δ_int/(√n·σ) and τ = 10·Σ_{k=1}^{n−1} exp(−2π²σ²·k/(k+1)), one round is
// (α, min(α·s²/2 + τ·d, α/2·(s + √d·τ)²))-RDP at every order α ≥ 1. s falls and τ grows with the
// number n of establishments that add noise, so a round is accounted with s at n_min and τ at
// n_max: whatever number between them survives, the bound holds. Rounds compose by addition; no
// amplification by sampling is claimed. Neighbouring: one establishment's contribution replaced
// by zeros (its data removed), the coordinator knowing who took part.
//
// Pure functions, thread safe. Invalid arguments are INVALID_ARGUMENT naming the value.

#include <cstddef>
#include <cstdint>

#include "aggregation/privacy/discrete_gaussian.h"
#include "aggregation/privacy/rdp_accountant.h"
#include "core/status.h"

namespace cartable::aggregation::privacy {

struct DistributedGaussianPlan {
  double noise_multiplier = 1;  // z: the summed noise of n_min establishments is z·Δ
  double l2_sensitivity = 1;    // Δ: the largest L2 norm of one establishment's vector
  double range = 1;             // r: every value lies in ±r, the quantiser's range
  int min_contributors = 3;     // n_min: fewer surviving establishments release nothing
  int max_contributors = 3;     // n_max: the cohort
  size_t dimension = 1;         // d: the vector's length
  int modulus_bits = 48;        // the secure sum is taken modulo 2^bits
};

struct DistributedGaussian {
  uint64_t levels = 0;       // L: the quantiser's levels over ±r
  double step = 0;           // γ = 2r/L
  Variance variance;         // σ² of each establishment's noise, per coordinate, integer units
  uint64_t noise_bound = 0;  // B: the most |summed noise| a coordinate may show
  int modulus_bits = 0;      // the fewest bits that hold n_max·L + 2B
};

// The integers of the mechanism for `plan`. InvalidArgument for z outside [0.01, 1000], Δ or r
// not positive and finite, n_min < 1 or above n_max, d = 0, a modulus outside [8, 62] bits;
// OutOfRange, saying how many bits would do, for a modulus that cannot hold the noisy sum (a
// caller free to choose the modulus asks with 62 bits and takes the mechanism's modulus_bits).
StatusOr<DistributedGaussian> PlanDistributedGaussian(const DistributedGaussianPlan& plan);

// RDP at `order` (≥ 1) of one round.
StatusOr<double> DistributedGaussianRdp(const DistributedGaussianPlan& plan,
                                        const DistributedGaussian& mechanism, double order);

// (ε, δ) per establishment after `rounds` rounds, over DefaultOrders().
StatusOr<Epsilon> DistributedGaussianEpsilon(const DistributedGaussianPlan& plan, uint32_t rounds,
                                             double delta);

}  // namespace cartable::aggregation::privacy
