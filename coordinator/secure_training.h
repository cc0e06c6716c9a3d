#pragma once

// SecureTraining: the training stage of one attempt under SecAgg+, sans-I/O. It announces the plan
// with the global model, runs the secure sum of the cohort's packed contributions (SecureSum) and
// ends with the unpacked sum of the survivors' contributions and never one of them.

#include <memory>
#include <vector>

#include "coordinator/secure_sum.h"
#include "coordinator/training_stage.h"

namespace cartable::coordinator {

class SecureTraining final : public TrainingStage {
 public:
  // Fails if the plan cannot run with this cohort (too few nodes, a degree the cohort cannot hold).
  static StatusOr<std::unique_ptr<SecureTraining>> Start(const RunConfig& config, uint32_t round,
                                                         std::vector<CohortMember> cohort,
                                                         const std::vector<float>& global,
                                                         std::vector<Outgoing>& out);

 private:
  SecureTraining(const RunConfig& config, uint32_t round, std::vector<CohortMember> cohort,
                 SecureSum sum, exchange::ContributionLayout layout);
  Status Accept(uint32_t member, const protocol::Envelope& envelope) override {
    return sum_.Accept(member, envelope.body);
  }
  bool AnswersStep(protocol::MessageType type) const override { return sum_.Answers(type); }
  void CloseStep(std::vector<Outgoing>& out) override;
  std::string StepName() const override { return sum_.StepName(); }
  void Unpack(const aggregation::secagg::UnmaskedSum& sum);
  // Passes on what the server proved against members (blame) and the reports it could not settle.
  void TakeBlame();

  SecureSum sum_;
  exchange::ContributionLayout layout_;
  // With establishment-level DP, every establishment weighs 1.
  bool establishment_dp_ = false;
};

}  // namespace cartable::coordinator
