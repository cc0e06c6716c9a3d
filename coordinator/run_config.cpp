#include "coordinator/run_config.h"

#include <charconv>
#include <cmath>
#include <string>

#include "exchange/establishment_dp_wire.h"

namespace cartable::coordinator {

Status CheckRunConfig(const RunConfig& config) {
  if (config.rounds < 1) return InvalidArgumentError("a run needs at least 1 round");
  if (config.min_nodes < 1) return InvalidArgumentError("min_nodes must be at least 1");
  if (Status groups = models::CheckAttributes(config.fairness); !groups.ok())
    return groups.WithContext("fairness");
  if (config.min_group_pupils < 1)
    return InvalidArgumentError("min_group_pupils must be at least 1");
  if (config.expected_nodes != 0 && config.expected_nodes < config.min_nodes) {
    return InvalidArgumentError("expected_nodes (" + std::to_string(config.expected_nodes) +
                                ") is below min_nodes (" + std::to_string(config.min_nodes) + ")");
  }
  if (config.train.local_epochs < 1 || config.train.batch_size < 1 ||
      !(config.train.learning_rate > 0)) {
    return InvalidArgumentError(
        "local training needs epochs ≥ 1, batch size ≥ 1 and a positive rate");
  }
  if (!(config.contribution.value_range >= 1) || !std::isfinite(config.contribution.value_range) ||
      !(config.contribution.weight_cap >= 1) || !std::isfinite(config.contribution.weight_cap)) {
    return InvalidArgumentError(
        "contributions need a value range of at least 1 and a weight cap of at least 1");
  }
  if (!(config.contribution.max_norm >= 0) || !std::isfinite(config.contribution.max_norm)) {
    return InvalidArgumentError("the norm bound of contributions must be finite and ≥ 0 (0: none)");
  }
  if (!(config.fraction > 0 && config.fraction <= 1)) {
    return InvalidArgumentError("the fraction of nodes sampled per round must be in (0, 1]");
  }
  if (config.max_attempts < 1) return InvalidArgumentError("a round needs at least 1 attempt");
  const SecAggConfig& sa = config.secagg;
  if (sa.enabled) {
    if (sa.neighbours != -1 && sa.neighbours != 0 &&
        (sa.neighbours < 2 || sa.neighbours % 2 != 0)) {
      return InvalidArgumentError(
          "secure aggregation neighbours must be 'full', or an even number ≥ 2; got " +
          std::to_string(sa.neighbours));
    }
    if (sa.modulus_bits < 8 || sa.modulus_bits > 62) {
      return InvalidArgumentError("secure aggregation modulus bits must be in [8, 62]");
    }
  }
  if (config.establishment_dp.enabled != 0) {
    CARTABLE_RETURN_IF_ERROR(exchange::CheckEstablishmentDp(config.establishment_dp));
    if (!sa.enabled) {
      return InvalidArgumentError(
          "establishment-level DP adds its noise under secure aggregation; turn it on");
    }
    CARTABLE_ASSIGN_OR_RETURN(exchange::ContributionLayout layout,
                              exchange::ContributionLayout::For(1, config.contribution));
    CARTABLE_RETURN_IF_ERROR(exchange::EstablishmentSensitivity(layout).status());
  }
  if (config.heartbeat_interval <= Duration::zero()) {
    return InvalidArgumentError("the heartbeat interval must be positive");
  }
  return Status::Ok();
}

double LearningRateAsSent(const RunConfig& config) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof(text), config.train.learning_rate).ptr;
  return std::stod(std::string(text, end));
}

}  // namespace cartable::coordinator
