#pragma once

// The Rényi differential privacy (RDP) accountant of the Poisson-subsampled Gaussian mechanism,
// the mechanism of DP-SGD: at each step every unit (a pupil) is included with probability q, the
// sum of the included units' clipped contributions gets Gaussian noise of standard deviation
// σ·(clip bound). RDP composes by addition over steps; the total converts to (ε, δ).
//
//   - RDP of one step at order α: Mironov, Talwar and Zhang, "Rényi Differential Privacy of the
//     Sampled Gaussian Mechanism" (2019), section 3.3: the exact sum for integer α; for fractional
//     α the two series of that section with their terms in absolute value, an upper bound (the
//     signed series alternate), as dp_accounting computes it. Every term is kept in logarithms, so
//     nothing overflows.
//   - RDP to (ε, δ): Balle, Barthe, Gaboardi, Hsu and Sato, "Hypothesis Testing Interpretations
//     and Rényi Differential Privacy" (AISTATS 2020), Proposition 12:
//       ε = RDP(α) + log((α − 1)/α) − (log δ + log α)/(α − 1),
//     minimised over the orders; and ε = 0 when δ² > 1 − exp(−RDP(α)) (a KL bound).
//
// Pure functions, thread safe. Invalid arguments (q outside [0, 1], σ < 0, an order ≤ 1, δ
// outside (0, 1), NaN anywhere) are INVALID_ARGUMENT naming the value.

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"

namespace cartable::aggregation::privacy {

// The orders tried by default: 1.1 to 10.9 by 0.1, 11 to 63, then 128, 256, 512, 1024.
std::vector<double> DefaultOrders();

// RDP at `order` of `steps` compositions of the Gaussian mechanism with noise multiplier
// `noise_multiplier` (σ, in units of the sensitivity) on a Poisson sample of rate
// `sampling_rate`. +inf for σ = 0 with q > 0; 0 for q = 0 or no steps.
StatusOr<double> SampledGaussianRdp(double sampling_rate, double noise_multiplier, uint64_t steps,
                                    double order);

struct Epsilon {
  double epsilon = 0;  // +inf when no order gives a finite bound
  double order = 0;    // the order that gave it
};

// The smallest ε over `orders` for total RDP values `rdp` (one per order) at `delta`.
StatusOr<Epsilon> EpsilonFromRdp(std::span<const double> orders, std::span<const double> rdp,
                                 double delta);

// ε of `steps` steps of DP-SGD with these parameters, at `delta`, over DefaultOrders().
StatusOr<Epsilon> DpSgdEpsilon(double sampling_rate, double noise_multiplier, uint64_t steps,
                               double delta);

struct NoiseForTarget {
  double noise_multiplier = 0;
  Epsilon reached;  // ε at that noise multiplier, ≤ the target
};

// The smallest noise multiplier (to a relative 1e-4) whose ε after `steps` steps is at most
// `target_epsilon` at `delta`. OUT_OF_RANGE when even σ = 1e4 does not reach it.
StatusOr<NoiseForTarget> NoiseMultiplierFor(double target_epsilon, double sampling_rate,
                                            uint64_t steps, double delta);

}  // namespace cartable::aggregation::privacy
