#include "exchange/establishment_dp_wire.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/number_text.h"

namespace cartable::exchange {
namespace privacy = aggregation::privacy;

namespace {

bool Within(double value, double min, double max) {
  return std::isfinite(value) && value >= min && value <= max;
}

}  // namespace

Status CheckEstablishmentDp(const protocol::WireEstablishmentDp& dp) {
  if (dp.enabled > 1) return InvalidArgumentError("establishment DP: enabled must be 0 or 1");
  if (dp.enabled == 0) return Status::Ok();
  if (!Within(dp.noise_multiplier, 0.1, 1000) || dp.min_contributors < 2 ||
      dp.min_contributors > 1000000 || !Within(dp.delta, 1e-12, 0.1) || dp.rounds == 0) {
    return InvalidArgumentError("establishment DP parameters out of range (noise multiplier " +
                                NumberText(dp.noise_multiplier) + ", min contributors " +
                                std::to_string(dp.min_contributors) + ", δ " +
                                NumberText(dp.delta) + ", rounds " + std::to_string(dp.rounds) +
                                ")");
  }
  return Status::Ok();
}

StatusOr<double> EstablishmentSensitivity(const ContributionLayout& layout) {
  if (!(layout.max_norm() > 0)) {
    return InvalidArgumentError(
        "establishment DP needs a norm bound on each establishment's update");
  }
  if (layout.weight_cap() != 1) {
    return InvalidArgumentError(
        "establishment DP weighs every establishment the same: the weight "
        "cap must be 1, not " +
        NumberText(layout.weight_cap()));
  }
  const double b = layout.max_norm();
  const double r = layout.value_range();
  return std::sqrt(b * b + 1 + r * r);
}

StatusOr<privacy::DistributedGaussianPlan> DistributedGaussianPlanOf(
    const protocol::WireEstablishmentDp& dp, const ContributionLayout& layout, size_t cohort,
    int modulus_bits) {
  CARTABLE_RETURN_IF_ERROR(CheckEstablishmentDp(dp));
  if (dp.enabled == 0) return InvalidArgumentError("the run has no establishment-level DP");
  CARTABLE_ASSIGN_OR_RETURN(double sensitivity, EstablishmentSensitivity(layout));
  if (cohort < dp.min_contributors) {
    return FailedPreconditionError(
        "a cohort of " + std::to_string(cohort) + " establishments cannot carry the noise of " +
        std::to_string(dp.min_contributors) + " (the plan's min_contributors)");
  }
  privacy::DistributedGaussianPlan plan;
  plan.noise_multiplier = dp.noise_multiplier;
  plan.l2_sensitivity = sensitivity;
  plan.range = layout.value_range();
  plan.min_contributors = static_cast<int>(dp.min_contributors);
  plan.max_contributors = static_cast<int>(std::min<size_t>(cohort, 1 << 30));
  plan.dimension = layout.size();
  plan.modulus_bits = modulus_bits;
  return plan;
}

StatusOr<int> EstablishmentModulusBits(const protocol::WireEstablishmentDp& dp,
                                       const ContributionLayout& layout, size_t cohort,
                                       int configured) {
  CARTABLE_ASSIGN_OR_RETURN(privacy::DistributedGaussianPlan plan,
                            DistributedGaussianPlanOf(dp, layout, cohort, 62));
  CARTABLE_ASSIGN_OR_RETURN(privacy::DistributedGaussian mechanism,
                            privacy::PlanDistributedGaussian(plan));
  return std::max(configured, mechanism.modulus_bits);
}

StatusOr<privacy::DistributedGaussian> ApplyEstablishmentDp(
    const protocol::WireEstablishmentDp& dp, const ContributionLayout& layout,
    aggregation::secagg::RoundParameters& params) {
  CARTABLE_ASSIGN_OR_RETURN(
      privacy::DistributedGaussianPlan plan,
      DistributedGaussianPlanOf(dp, layout, params.cohort.size(), params.modulus_bits));
  CARTABLE_ASSIGN_OR_RETURN(privacy::DistributedGaussian mechanism,
                            privacy::PlanDistributedGaussian(plan));
  params.levels = mechanism.levels;
  params.noise_bound = mechanism.noise_bound;
  return mechanism;
}

StatusOr<privacy::Epsilon> EstablishmentEpsilon(const protocol::WireEstablishmentDp& dp,
                                                const ContributionLayout& layout, size_t cohort,
                                                uint32_t rounds) {
  CARTABLE_ASSIGN_OR_RETURN(privacy::DistributedGaussianPlan plan,
                            DistributedGaussianPlanOf(dp, layout, cohort, 62));
  return privacy::DistributedGaussianEpsilon(plan, rounds == 0 ? dp.rounds : rounds, dp.delta);
}

nlohmann::json EstablishmentDpReport(const protocol::WireEstablishmentDp& dp, double sensitivity,
                                     const std::optional<privacy::Epsilon>& cost) {
  nlohmann::json report = {{"mechanism", "distributed discrete Gaussian per establishment"},
                           {"noise_multiplier", dp.noise_multiplier},
                           {"min_contributors", dp.min_contributors},
                           {"sensitivity", sensitivity},
                           {"delta", dp.delta},
                           {"rounds", dp.rounds}};
  if (cost) {
    report["epsilon"] = cost->epsilon;
    report["order"] = cost->order;
  }
  return report;
}

}  // namespace cartable::exchange
