#include "coordinator/evaluation_stage.h"

#include <numeric>

#include "exchange/model_wire.h"

namespace cartable::coordinator {

std::unique_ptr<EvaluationStage> EvaluationStage::Start(uint64_t run_id, uint32_t round,
                                                        std::vector<CohortMember> cohort,
                                                        const models::ModelSpec& model,
                                                        const std::vector<float>& parameters,
                                                        std::vector<Outgoing>& out) {
  auto stage =
      std::unique_ptr<EvaluationStage>(new EvaluationStage(run_id, round, std::move(cohort)));
  std::vector<uint32_t> everyone(stage->members().size());
  std::iota(everyone.begin(), everyone.end(), 0u);
  stage->Ask(everyone);
  stage->SendToAwaited(protocol::EvaluateRequest{exchange::ToWire(model), parameters}, out);
  stage->Settle(out);
  return stage;
}

Status EvaluationStage::Accept(uint32_t member, const protocol::Envelope& envelope) {
  const auto& r = std::get<protocol::EvaluateResult>(envelope.body);
  CARTABLE_RETURN_IF_ERROR(total_.Add({r.positive_histogram, r.negative_histogram, r.log_loss_sum,
                                       r.correct, r.count, r.squared_error_sum}));
  float_sums_[member] = {r.log_loss_sum, r.squared_error_sum};
  return Status::Ok();
}

void EvaluationStage::CloseStep(std::vector<Outgoing>&) {
  // The integer counts added up exactly as results arrived; the floating sums are added again in
  // member order, so the round's figures do not depend on which node answered first.
  total_.log_loss_sum = 0;
  total_.squared_error_sum = 0;
  for (const auto& [member, sums] : float_sums_) {
    total_.log_loss_sum += sums.first;
    total_.squared_error_sum += sums.second;
  }
  Finish();
}

}  // namespace cartable::coordinator
