#pragma once

// SecureTraining: the training stage of one attempt under SecAgg+, sans-I/O. It announces the plan
// with the global model, relays keys and sealed shares between the cohort's nodes, collects masked
// contributions, runs the consistency check and the unmasking, and ends with the unpacked sum of
// the survivors' contributions and never one of them (the SecAgg+ server state machine,
// aggregation/secagg/server.h, holds the cryptography; this is its workflow). Its steps are the
// protocol's stages: AdvertiseKeys, ShareKeys, MaskedInput, ConsistencyCheck, Unmask.

#include <memory>
#include <vector>

#include "aggregation/secagg/graph_plan.h"
#include "aggregation/secagg/server.h"
#include "coordinator/training_stage.h"

namespace cartable::coordinator {

// The degree and threshold of a secure round among `cohort` nodes under `config`'s tolerances and
// neighbour setting (aggregation::secagg::PlanGraph); an error names what cannot be met.
StatusOr<aggregation::secagg::GraphPlan> PlanSecureRound(const SecAggConfig& config, int cohort);

class SecureTraining final : public TrainingStage {
 public:
  // Fails if the plan cannot run with this cohort (too few nodes, a degree the cohort cannot hold).
  static StatusOr<std::unique_ptr<SecureTraining>> Start(const RunConfig& config, uint32_t round,
                                                         std::vector<CohortMember> cohort,
                                                         const std::vector<float>& global,
                                                         std::vector<Outgoing>& out);

 private:
  SecureTraining(const RunConfig& config, uint32_t round, std::vector<CohortMember> cohort,
                 std::unique_ptr<aggregation::secagg::SecAggServer> server,
                 exchange::ContributionLayout layout);
  Status Accept(uint32_t member, const protocol::Envelope& envelope) override;
  bool AnswersStep(protocol::MessageType type) const override;
  void CloseStep(std::vector<Outgoing>& out) override;
  std::string StepName() const override;
  void AskServer();
  void Unpack(const aggregation::secagg::UnmaskedSum& sum);
  // Passes on what the server proved against members (blame) and the reports it could not settle.
  void TakeBlame();

  std::unique_ptr<aggregation::secagg::SecAggServer> server_;
  exchange::ContributionLayout layout_;
  protocol::Stage step_ = protocol::Stage::kAdvertiseKeys;
  // With establishment-level DP, the fewest inputs whose sum may be unmasked; 0 without.
  size_t min_survivors_ = 0;
};

}  // namespace cartable::coordinator
