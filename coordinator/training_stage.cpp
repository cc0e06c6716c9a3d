#include "coordinator/training_stage.h"

#include "aggregation/strategies/strategy.h"
#include "coordinator/plain_training.h"
#include "coordinator/secure_training.h"
#include "exchange/model_wire.h"

namespace cartable::coordinator {

StatusOr<protocol::TrainRequest> TrainRequestOf(const RunConfig& config,
                                                const std::vector<float>& global,
                                                protocol::SecAggPlan secagg) {
  CARTABLE_ASSIGN_OR_RETURN(const double mu,
                            aggregation::ProximalMuOf({config.strategy, config.strategy_options}));
  protocol::TrainRequest request{exchange::ToWire(config.model), config.train, global,
                                 config.contribution, std::move(secagg)};
  request.plan_hash = config.plan_hash;
  request.proximal_mu = static_cast<float>(mu);
  request.dp = config.dp;
  request.establishment_dp = config.establishment_dp;
  return request;
}

StatusOr<std::unique_ptr<TrainingStage>> StartTraining(const RunConfig& config, uint32_t round,
                                                       std::vector<CohortMember> cohort,
                                                       const std::vector<float>& global,
                                                       std::vector<Outgoing>& out) {
  if (config.secagg.enabled) {
    CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<SecureTraining> stage,
                              SecureTraining::Start(config, round, std::move(cohort), global, out));
    return std::unique_ptr<TrainingStage>(std::move(stage));
  }
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<PlainTraining> stage,
                            PlainTraining::Start(config, round, std::move(cohort), global, out));
  return std::unique_ptr<TrainingStage>(std::move(stage));
}

}  // namespace cartable::coordinator
