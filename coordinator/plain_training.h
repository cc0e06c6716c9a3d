#pragma once

// PlainTraining: a training stage without secure aggregation, for comparison runs only. Each node
// sends its packed contribution in the clear; a vector that no well-formed Pack gives (wrong
// length, a value not finite or outside ±range, a weight below one example's) drops its sender,
// named, and never enters the sum. Contributions are kept until the stage closes and summed in
// cohort order, so the sum, to the last bit, does not depend on the order they arrived in (a
// resumed or replayed run gives the same models); the price is one model-sized vector per member.
// When the run's strategy ranks the updates one by one (aggregation::NeedsIndividualUpdates), the
// outcome also carries each contributor's own delta (model-sized, in doubles), in cohort order;
// each packed vector is let go as soon as its delta is made, so no member is held twice over in
// floats.

#include <memory>
#include <vector>

#include "coordinator/training_stage.h"

namespace cartable::coordinator {

class PlainTraining final : public TrainingStage {
 public:
  static StatusOr<std::unique_ptr<PlainTraining>> Start(const RunConfig& config, uint32_t round,
                                                        std::vector<CohortMember> cohort,
                                                        const std::vector<float>& global,
                                                        std::vector<Outgoing>& out);

 private:
  PlainTraining(const RunConfig& config, uint32_t round, std::vector<CohortMember> cohort,
                exchange::ContributionLayout layout);
  Status Accept(uint32_t member, const protocol::Envelope& envelope) override;
  bool AnswersStep(protocol::MessageType type) const override {
    return type == protocol::MessageType::kTrainResult;
  }
  void CloseStep(std::vector<Outgoing>& out) override;
  std::string StepName() const override { return "training"; }

  exchange::ContributionLayout layout_;
  bool keep_individual_;                           // the strategy needs each contributor's delta
  std::vector<std::vector<float>> contributions_;  // by member; empty until it arrives
};

}  // namespace cartable::coordinator
