#include "coordinator/training_stage.h"

#include "coordinator/plain_training.h"
#include "coordinator/secure_training.h"

namespace cartable::coordinator {

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
