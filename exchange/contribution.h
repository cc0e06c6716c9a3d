#pragma once

// ContributionLayout: what one node adds to a round's sum, as one vector of floats that every path
// carries the same way. A node packs it (NodeSession), the coordinator sums packed vectors (in the
// clear for comparison runs, under SecAgg+ otherwise) and unpacks the sum; only a comparison run
// whose strategy ranks the updates one by one also unpacks each vector. The layout, for a
// model of d parameters and a value range r:
//
//     index 0 .. d−1   ω·clamp(Δⱼ, −r, r)   the weighted model delta
//     index d          ω                    the weight
//     index d+1        ω·min(loss, r)       the weighted loss
//
// with ω = min(examples, weight_cap) / weight_cap, so ω ∈ [1/weight_cap, 1] for a node that trained
// on anything. Every packed value lies in [−r, r] (r ≥ 1, so the weight fits), the range SecAgg+
// quantises. With a norm bound b > 0, the clamped delta is then scaled down to ‖Δ‖₂ ≤ b (norm
// bounding, aggregation/strategies/norm_bound.h) before it is weighted: the bound is applied by
// each node to its own update, before masking, so it holds under secure aggregation too.
//
// A malicious node can put any value in its slots (under SecAgg+, nobody sees its vector), so
// Unpack checks what a sum of k well-formed contributions must satisfy, and refuses any other sum:
//     Σω ∈ [k / weight_cap, k]           (every contributor trained on at least one example)
//     |Σ ωΔⱼ| ≤ r·Σω for every j         (each Δⱼ was clamped to ±r)
//     Σ ω·loss ∈ [0, r·Σω]
//     ‖Σ ωΔ‖₂ ≤ b·Σω                      (with a norm bound b: the triangle inequality)
// So whatever one node sends, the averaged update Σ ωΔ / Σ ω has every coordinate within ±r and the
// weights cannot be driven towards zero to blow it up. Immutable after Create; thread safe.

#include <Eigen/Core>
#include <cstddef>
#include <span>
#include <vector>

#include "aggregation/update_sum.h"
#include "core/status.h"
#include "protocol/messages.h"

namespace cartable::exchange {

// What local training produced: the model delta (local − global), the examples it saw, its mean
// loss.
struct LocalUpdate {
  std::vector<float> delta;
  double examples = 0;
  double loss = 0;
};

// What Pack did to an update beyond weighting it.
struct PackNotes {
  size_t clamped = 0;         // delta values clamped to ±r
  double norm = 0;            // ‖Δ‖₂ after clamping, before the norm bound
  bool norm_bounded = false;  // the delta was scaled down to the norm bound
};

// The unpacked sum of a round's contributions.
struct SummedContributions {
  aggregation::UpdateSum update;  // Σ ωΔ, Σ ω, contributors
  double loss_sum = 0;            // Σ ω·loss
  // Each contributor's own Δ (UnpackDelta), in cohort order: filled only by a plain training stage
  // whose strategy NeedsIndividualUpdates, and empty otherwise. Unpack, the only way a secure
  // round's sum is unpacked, never fills it, and the round loop refuses to start a run whose
  // strategy needs it under secure aggregation.
  std::vector<Eigen::VectorXd> individual;
};

class ContributionLayout {
 public:
  // `dimension` ≥ 1 parameters; `value_range` r ≥ 1 and finite (the weight, up to 1, must fit the
  // range); `weight_cap` ≥ 1 example; `max_norm` b finite and ≥ 0 (0: no norm bound).
  static StatusOr<ContributionLayout> Create(size_t dimension, double value_range,
                                             double weight_cap, double max_norm = 0);
  // The layout a round's request describes (errors as Create's).
  static StatusOr<ContributionLayout> For(size_t dimension,
                                          const protocol::WireContribution& contribution);

  size_t dimension() const { return dimension_; }
  size_t size() const { return dimension_ + 2; }  // the packed vector's length
  double value_range() const { return value_range_; }
  double weight_cap() const { return weight_cap_; }
  double max_norm() const { return max_norm_; }  // 0: none

  // ω for a node that trained on `examples`: min(examples, cap) / cap.
  double WeightOf(double examples) const;

  // The packed vector of `update`: clamped, norm-bounded, weighted. Refuses a delta of the wrong
  // length, non-finite values, no example, and a negative or non-finite loss. `notes`, when
  // given, says what clamping and the norm bound did.
  StatusOr<std::vector<float>> Pack(const LocalUpdate& update, PackNotes* notes = nullptr) const;

  // Refuses a packed vector no well-formed Pack could produce: wrong length, non-finite values,
  // values outside [−r, r], a weight outside [1/weight_cap, 1], a weighted delta value outside
  // [−r·ω, r·ω], a weighted loss outside [0, r·ω], and with a norm bound b, a weighted delta
  // longer than ω·b.
  // For sums made in the clear, where each node's vector is seen, this names the offending index.
  Status CheckPacked(std::span<const float> packed) const;

  // The delta a packed vector that passed CheckPacked carries: packed[0..d−1] / ω, each value
  // clamped to ±r (dividing the float ω·Δ by ω may land a rounding beyond). For plain runs only:
  // under SecAgg+ no node's vector is ever seen. Aborts on a vector of the wrong length.
  Eigen::VectorXd UnpackDelta(std::span<const float> packed) const;

  // The sum of `contributors` packed vectors, unpacked and checked (see above). `tolerance` is how
  // far any one summed value may be from its exact value (rounding of floats, or quantisation: the
  // caller says which); the bounds are widened by it. kFailedPrecondition says which bound the sum
  // breaks: at least one contributor sent a vector Pack could not have produced.
  StatusOr<SummedContributions> Unpack(std::span<const double> sum, int contributors,
                                       double tolerance) const;

 private:
  ContributionLayout(size_t dimension, double value_range, double weight_cap, double max_norm)
      : dimension_(dimension),
        value_range_(value_range),
        weight_cap_(weight_cap),
        max_norm_(max_norm) {}

  size_t dimension_;
  double value_range_;
  double weight_cap_;
  double max_norm_;
};

}  // namespace cartable::exchange
