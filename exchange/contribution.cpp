#include "exchange/contribution.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "aggregation/strategies/norm_bound.h"
#include "core/check.h"

namespace cartable::exchange {
namespace {

std::string Number(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", v);
  return text;
}

}  // namespace

StatusOr<ContributionLayout> ContributionLayout::For(
    size_t dimension, const protocol::WireContribution& contribution) {
  return Create(dimension, contribution.value_range, contribution.weight_cap,
                contribution.max_norm);
}

StatusOr<ContributionLayout> ContributionLayout::Create(size_t dimension, double value_range,
                                                        double weight_cap, double max_norm) {
  if (dimension == 0)
    return InvalidArgumentError("a contribution needs at least one model parameter");
  if (!(value_range >= 1) || !std::isfinite(value_range)) {
    return InvalidArgumentError(
        "the value range of a contribution must be at least 1 (a weight of 1 must fit) and finite, "
        "not " +
        Number(value_range));
  }
  if (!(weight_cap >= 1) || !std::isfinite(weight_cap)) {
    return InvalidArgumentError("the weight cap must be at least 1 example, not " +
                                Number(weight_cap));
  }
  if (!(max_norm >= 0) || !std::isfinite(max_norm)) {
    return InvalidArgumentError("the norm bound must be finite and at least 0 (0: none), not " +
                                Number(max_norm));
  }
  return ContributionLayout(dimension, value_range, weight_cap, max_norm);
}

double ContributionLayout::WeightOf(double examples) const {
  return std::min(examples, weight_cap_) / weight_cap_;
}

StatusOr<std::vector<float>> ContributionLayout::Pack(const LocalUpdate& update,
                                                      PackNotes* notes) const {
  if (update.delta.size() != dimension_) {
    return InvalidArgumentError("the update has " + std::to_string(update.delta.size()) +
                                " values; the model has " + std::to_string(dimension_));
  }
  if (!(update.examples >= 1) || !std::isfinite(update.examples)) {
    return FailedPreconditionError("an update needs at least one training example, not " +
                                   Number(update.examples));
  }
  if (!(update.loss >= 0) || !std::isfinite(update.loss)) {
    return InvalidArgumentError("the training loss must be finite and non-negative, not " +
                                Number(update.loss));
  }
  const double r = value_range_;
  PackNotes done;
  std::vector<float> packed;
  packed.reserve(size());
  for (float d : update.delta) {
    if (!std::isfinite(d))
      return InvalidArgumentError("the update holds a value that is not finite");
    if (std::abs(d) > r) ++done.clamped;
    packed.push_back(static_cast<float>(std::clamp<double>(d, -r, r)));
  }
  if (max_norm_ > 0) {
    CARTABLE_ASSIGN_OR_RETURN(done.norm, aggregation::BoundNorm(packed, max_norm_));
    done.norm_bounded = done.norm > max_norm_;
  } else {
    done.norm = aggregation::L2Norm(packed);
  }
  const double weight = WeightOf(update.examples);
  for (float& v : packed) v = static_cast<float>(weight * v);
  packed.push_back(static_cast<float>(weight));
  packed.push_back(static_cast<float>(weight * std::min(update.loss, r)));
  if (notes) *notes = done;
  return packed;
}

Status ContributionLayout::CheckPacked(std::span<const float> packed) const {
  if (packed.size() != size()) {
    return InvalidArgumentError("a contribution of " + std::to_string(packed.size()) +
                                " values, not " + std::to_string(size()));
  }
  const double r = value_range_;
  for (size_t i = 0; i < packed.size(); ++i) {
    if (!std::isfinite(packed[i]) || std::abs(packed[i]) > r) {
      return InvalidArgumentError("value " + std::to_string(i) + " of the contribution (" +
                                  Number(packed[i]) + ") is outside the range ±" + Number(r));
    }
  }
  // Floats of ω and ω·loss may sit a rounding away from their exact bounds.
  const double weight = packed[dimension_];
  if (weight < (1 / weight_cap_) * (1 - 1e-6) || weight > 1) {
    return InvalidArgumentError("the contribution's weight " + Number(weight) + " is outside [" +
                                Number(1 / weight_cap_) + ", 1]: no training gives it");
  }
  // Pack clamped each Δⱼ to ±r, so ω·Δⱼ lies within ±r·ω: a value beyond would unpack
  // (UnpackDelta) to a delta outside the range.
  for (size_t j = 0; j < dimension_; ++j) {
    if (std::abs(packed[j]) > r * weight * (1 + 1e-6)) {
      return InvalidArgumentError("value " + std::to_string(j) + " of the contribution (" +
                                  Number(packed[j]) + ") is outside ±" + Number(r) +
                                  " times its weight " + Number(weight));
    }
  }
  const double loss = packed[dimension_ + 1];
  if (loss < 0 || loss > r * weight * (1 + 1e-6)) {
    return InvalidArgumentError("the contribution's weighted loss " + Number(loss) +
                                " is outside [0, " + Number(r * weight) + "]");
  }
  if (max_norm_ > 0) {
    // Weighting each float by ω rounds it once more: a relative 1e-6 covers it.
    const double norm = aggregation::L2Norm(packed.first(dimension_));
    if (norm > max_norm_ * weight * (1 + 1e-6)) {
      return InvalidArgumentError("the contribution's weighted delta has norm " + Number(norm) +
                                  ", above the bound " + Number(max_norm_) + " times its weight " +
                                  Number(weight));
    }
  }
  return Status::Ok();
}

Eigen::VectorXd ContributionLayout::UnpackDelta(std::span<const float> packed) const {
  CARTABLE_CHECK(packed.size() == size()) << packed.size() << " " << size();
  const double weight = packed[dimension_];
  const double r = value_range_;
  Eigen::VectorXd delta(static_cast<Eigen::Index>(dimension_));
  for (size_t j = 0; j < dimension_; ++j) {
    delta[static_cast<Eigen::Index>(j)] = std::clamp(packed[j] / weight, -r, r);
  }
  return delta;
}

StatusOr<SummedContributions> ContributionLayout::Unpack(std::span<const double> sum,
                                                         int contributors, double tolerance) const {
  if (sum.size() != size()) {
    return InvalidArgumentError("a sum of " + std::to_string(sum.size()) + " values, not " +
                                std::to_string(size()));
  }
  if (contributors < 1) return FailedPreconditionError("no contribution to unpack");
  if (!(tolerance >= 0)) return InvalidArgumentError("a negative tolerance");
  const double r = value_range_;
  const double k = contributors;
  for (double v : sum) {
    if (!std::isfinite(v))
      return FailedPreconditionError("the summed contributions hold a value that is not finite");
  }
  SummedContributions out;
  const double total_weight = sum[dimension_];
  if (total_weight < k / weight_cap_ - tolerance || total_weight > k + tolerance) {
    return FailedPreconditionError("the weights of " + std::to_string(contributors) +
                                   " contributions sum to " + Number(total_weight) + ", outside [" +
                                   Number(k / weight_cap_) + ", " + Number(k) +
                                   "]: at least one node sent a weight no training gives");
  }
  const double delta_bound = r * std::max(total_weight, 0.0) + tolerance;
  for (size_t j = 0; j < dimension_; ++j) {
    if (std::abs(sum[j]) > delta_bound) {
      return FailedPreconditionError("summed update value " + std::to_string(j) + " (" +
                                     Number(sum[j]) + ") exceeds the range ±" + Number(r) +
                                     " times the total weight " + Number(total_weight) +
                                     ": at least one node sent values outside the range");
    }
  }
  if (max_norm_ > 0) {
    // Each coordinate may be `tolerance` off, so the norm of the sum √d·tolerance.
    const Eigen::Map<const Eigen::VectorXd> delta(sum.data(),
                                                  static_cast<Eigen::Index>(dimension_));
    const double norm = delta.norm();
    const double norm_bound = max_norm_ * std::max(total_weight, 0.0) +
                              tolerance * std::sqrt(static_cast<double>(dimension_));
    if (norm > norm_bound) {
      return FailedPreconditionError("the summed update has norm " + Number(norm) +
                                     ", above the bound " + Number(max_norm_) +
                                     " times the total weight " + Number(total_weight) +
                                     ": at least one node sent an update longer than the bound");
    }
  }
  const double loss_sum = sum[dimension_ + 1];
  if (loss_sum < -tolerance || loss_sum > r * std::max(total_weight, 0.0) + tolerance) {
    return FailedPreconditionError(
        "the summed training loss " + Number(loss_sum) +
        " is outside what the weights allow: at least one node sent a bad loss");
  }
  out.update.weighted_delta =
      Eigen::Map<const Eigen::VectorXd>(sum.data(), static_cast<Eigen::Index>(dimension_));
  out.update.total_weight = std::max(total_weight, k / weight_cap_);
  out.update.contributors = contributors;
  out.loss_sum = std::clamp(loss_sum, 0.0, r * out.update.total_weight);
  return out;
}

}  // namespace cartable::exchange
