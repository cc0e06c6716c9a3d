#pragma once

// EvaluationStage: the cohort evaluates the round's new global model on its held-out pupils and
// answers with summable statistics (models::SummableMetrics), which this stage adds up; the
// federation's metrics are computed from the total. Statistics no honest evaluation gives
// (histograms that do not add up to the count, sums outside what the count allows, values not
// finite) drop their sender and never enter the total.

#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "coordinator/round_stage.h"
#include "models/metrics.h"
#include "models/model.h"

namespace cartable::coordinator {

class EvaluationStage final : public RoundStage {
 public:
  static std::unique_ptr<EvaluationStage> Start(uint64_t run_id, uint32_t round,
                                                std::vector<CohortMember> cohort,
                                                const models::ModelSpec& model,
                                                const std::vector<float>& parameters,
                                                std::vector<Outgoing>& out);

  // The sum of the statistics accepted so far (all of them once finished()).
  const models::SummableMetrics& total() const { return total_; }

 private:
  using RoundStage::RoundStage;
  Status Accept(uint32_t member, const protocol::Envelope& envelope) override;
  bool AnswersStep(protocol::MessageType type) const override {
    return type == protocol::MessageType::kEvaluateResult;
  }
  void CloseStep(std::vector<Outgoing>& out) override;
  std::string StepName() const override { return "evaluation"; }

  models::SummableMetrics total_ = models::SummableMetrics::Empty();
  std::map<uint32_t, std::pair<double, double>> float_sums_;  // log-loss, squared error by member
};

}  // namespace cartable::coordinator
