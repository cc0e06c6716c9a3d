#pragma once

// TrainingStage: the training stage of one attempt at a round, plain or secure behind one
// interface. It sends the global model to the cohort, collects the nodes' packed contributions
// (exchange/contribution.h) and ends with their unpacked sum, or why there is none. Both kinds
// weight nodes the same way and check the sum against the same bounds; they differ in what the
// coordinator sees on the way: every node's vector (PlainTraining, comparison runs), or only the
// sum (SecureTraining, SecAgg+).

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "coordinator/round_stage.h"
#include "coordinator/run_config.h"
#include "exchange/contribution.h"

namespace cartable::coordinator {

class TrainingStage : public RoundStage {
 public:
  using RoundStage::RoundStage;

  // Set once finished(): the sum, or why the attempt failed (kFailedPrecondition: worth another
  // attempt without the members it dropped or blamed).
  const StatusOr<exchange::SummedContributions>& outcome() const { return *outcome_; }

 protected:
  void Succeed(exchange::SummedContributions sum) {
    outcome_.emplace(std::move(sum));
    Finish();
  }
  void Fail(const Status& why) {
    outcome_.emplace(why);
    Finish();
  }

 private:
  std::optional<StatusOr<exchange::SummedContributions>> outcome_;
};

// What every member of a training stage is sent: the model, local training (with FedProx's μ
// when the strategy has one), the contribution's layout, `secagg` and the plan hash. Fails only on
// a strategy CheckPlan would have refused.
StatusOr<protocol::TrainRequest> TrainRequestOf(const RunConfig& config,
                                                const std::vector<float>& global,
                                                protocol::SecAggPlan secagg);

// Starts the training stage of attempt `round` among `cohort` (sorted by name) from `global`: plain
// or secure as `config` says. Fails when the attempt cannot start (a secure plan the cohort cannot
// hold).
StatusOr<std::unique_ptr<TrainingStage>> StartTraining(const RunConfig& config, uint32_t round,
                                                       std::vector<CohortMember> cohort,
                                                       const std::vector<float>& global,
                                                       std::vector<Outgoing>& out);

}  // namespace cartable::coordinator
