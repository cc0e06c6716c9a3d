#pragma once

// The robust aggregators: instead of averaging, they rank or compare the nodes' own updates Δᵢ
// (unweighted, each coordinate within ±r by the contribution layout), so that a few nodes sending
// extreme updates cannot drag the model where they like:
//   median        coordinate-wise median (Yin et al., ICML 2018); for an even count, the mean of
//                 the two middle values
//   trimmed_mean  coordinate-wise β-trimmed mean (Yin et al. 2018): per coordinate, the ⌊β·n⌋
//                 largest and smallest values are dropped and the rest averaged
//   krum          Krum (Blanchard et al., NeurIPS 2017): score(i) is the sum of the squared
//                 distances from Δᵢ to its n − f − 2 nearest other updates; the update of lowest
//                 score is taken (ties: the lowest index). Multi-Krum averages the m best.
// The next model is global + η·(aggregated Δ). They need each node's update, which secure
// aggregation hides, so they run only in plain (comparison) runs. Every result depends on the
// updates and their order only, never on timing, and the kernels are pure functions (thread safe);
// a RobustAggregator is stateless (SaveState() is empty) and, as every Strategy, not thread safe.

#include <span>
#include <string>
#include <vector>

#include "aggregation/strategies/strategy.h"

namespace cartable::aggregation {

// Every kernel refuses, before computing anything: no update (kFailedPrecondition: the round has no
// contributor); updates of different lengths or a value that is not finite (kInvalidArgument,
// naming the update's index).

// The coordinate-wise median.
StatusOr<Eigen::VectorXd> CoordinateMedian(std::span<const Eigen::VectorXd> updates);

// The coordinate-wise mean without the ⌊β·n⌋ largest and ⌊β·n⌋ smallest values of each coordinate
// (β = `trim_fraction` in [0, 0.5), so at least one value is left; a β·n within 1e-9 below an
// integer counts as that integer, so 0.3 of 10 drops 3). kInvalidArgument for β out of range.
StatusOr<Eigen::VectorXd> TrimmedMean(std::span<const Eigen::VectorXd> updates,
                                      double trim_fraction);

// Ok when Krum with `byzantine` f ≥ 0 and `selected` m ≥ 1 can decide among `updates` n: n > 2f + 2
// (each score needs n − f − 2 ≥ 1 neighbours and honest updates must outnumber the rest) and
// m ≤ n − f. Otherwise kFailedPrecondition naming n, f and m.
Status CheckKrumCount(size_t updates, int byzantine, int selected);

// Krum's score of each update, in the updates' order: the sum, in increasing order, of its n − f −
// 2 smallest squared Euclidean distances to the others. Fails as CheckKrumCount with selected = 1.
StatusOr<std::vector<double>> KrumScores(std::span<const Eigen::VectorXd> updates, int byzantine);

// Multi-Krum: the mean of the `selected` updates of lowest score, added in index order (m = 1 is
// Krum: that update itself). Ties in score go to the lower index. Fails as CheckKrumCount.
StatusOr<Eigen::VectorXd> MultiKrum(std::span<const Eigen::VectorXd> updates, int byzantine,
                                    int selected);

struct RobustOptions {
  double server_learning_rate = 1.0;  // η > 0: the step taken along the aggregated Δ
  double trim_fraction = 0.1;         // β in [0, 0.5), trimmed_mean only
  int byzantine = 1;                  // f ≥ 0, krum only: updates that may be adversarial
  int selected = 1;                   // m ≥ 1, krum only: updates averaged (1 is plain Krum)
};

class RobustAggregator final : public Strategy {
 public:
  enum class Rule { kMedian, kTrimmedMean, kKrum };

  // Options in range: CreateStrategy checks them, the constructor aborts otherwise.
  explicit RobustAggregator(Rule rule, const RobustOptions& options = {});

  std::string name() const override;  // "median", "trimmed_mean" or "krum"
  // Always kFailedPrecondition: the sum of the updates is not enough to rank them.
  StatusOr<std::vector<float>> NextModel(std::span<const float> global,
                                         const UpdateSum& sum) override;
  // Fails as the rule's kernel, and with kInvalidArgument when the updates' length is not the
  // model's.
  StatusOr<std::vector<float>> NextModelFromUpdates(
      std::span<const float> global, std::span<const Eigen::VectorXd> updates) override;
  std::vector<double> SaveState() const override { return {}; }
  Status RestoreState(std::span<const double> state, size_t model_size) override;

 private:
  StatusOr<Eigen::VectorXd> Aggregate(std::span<const Eigen::VectorXd> updates) const;

  Rule rule_;
  RobustOptions options_;
};

}  // namespace cartable::aggregation
