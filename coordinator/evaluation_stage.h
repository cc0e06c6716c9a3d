#pragma once

// EvaluationStage: the cohort evaluates the round's new global model on its held-out pupils and
// the stage ends with the sum of their summable statistics (models::EvaluationStatistics: of all
// held-out answers, and of each subgroup asked for), from which the federation's metrics and
// fairness table are computed, or why there is none. Two kinds behind one interface:
//
//   - SecureEvaluation (secure aggregation on, every real run): the statistics go through a SecAgg+
//     round of their own (SecureSum, exchange/evaluation_vector.h); the coordinator unmasks their
//     sum and never receives one school's figures.
//   - PlainEvaluation (comparison runs without secure aggregation): each node answers with its
//     EvaluateResult, checked and added up; statistics no honest evaluation gives drop their sender
//     and never enter the total.
//
// An evaluation that fails (too few nodes left for a secure sum, a sum no honest evaluation gives)
// costs the round its metrics, never the run: the model was already trained and aggregated.

#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "coordinator/round_stage.h"
#include "coordinator/run_config.h"
#include "coordinator/secure_sum.h"
#include "models/fairness.h"

namespace cartable::coordinator {

class EvaluationStage : public RoundStage {
 public:
  using RoundStage::RoundStage;

  // Set once finished(): the federation's statistics, or why there are none.
  const StatusOr<models::EvaluationStatistics>& outcome() const { return *outcome_; }

 protected:
  void Conclude(StatusOr<models::EvaluationStatistics> outcome) {
    outcome_.emplace(std::move(outcome));
    Finish();
  }

 private:
  std::optional<StatusOr<models::EvaluationStatistics>> outcome_;
};

// Starts the evaluation of `parameters` by `cohort` (sorted by name) in attempt `round`, by the
// subgroups of `subgroups` too (none: all answers only): secure or plain as `config` says. A
// secure evaluation the cohort cannot hold is returned finished, with why.
std::unique_ptr<EvaluationStage> StartEvaluation(const RunConfig& config, uint32_t round,
                                                 std::vector<CohortMember> cohort,
                                                 const std::vector<float>& parameters,
                                                 std::vector<models::Attribute> subgroups,
                                                 std::vector<Outgoing>& out);

class PlainEvaluation final : public EvaluationStage {
 public:
  static std::unique_ptr<PlainEvaluation> Start(const RunConfig& config, uint32_t round,
                                                std::vector<CohortMember> cohort,
                                                const std::vector<float>& parameters,
                                                std::vector<models::Attribute> subgroups,
                                                std::vector<Outgoing>& out);

 private:
  using EvaluationStage::EvaluationStage;
  Status Accept(uint32_t member, const protocol::Envelope& envelope) override;
  bool AnswersStep(protocol::MessageType type) const override {
    return type == protocol::MessageType::kEvaluateResult;
  }
  void CloseStep(std::vector<Outgoing>& out) override;
  std::string StepName() const override { return "evaluation"; }

  std::vector<models::Attribute> subgroups_;
  // Each member's statistics, added up in member order once the step closes, so the round's
  // figures do not depend on which node answered first.
  std::map<uint32_t, models::EvaluationStatistics> results_;
};

class SecureEvaluation final : public EvaluationStage {
 public:
  static std::unique_ptr<SecureEvaluation> Start(const RunConfig& config, uint32_t round,
                                                 std::vector<CohortMember> cohort,
                                                 const std::vector<float>& parameters,
                                                 std::vector<models::Attribute> subgroups,
                                                 std::vector<Outgoing>& out);

 private:
  SecureEvaluation(uint64_t run_id, uint32_t round, std::vector<CohortMember> cohort,
                   std::optional<SecureSum> sum, std::vector<models::Attribute> subgroups)
      : EvaluationStage(run_id, round, std::move(cohort)),
        sum_(std::move(sum)),
        subgroups_(std::move(subgroups)) {}
  Status Accept(uint32_t member, const protocol::Envelope& envelope) override {
    return sum_->Accept(member, envelope.body);
  }
  bool AnswersStep(protocol::MessageType type) const override {
    return sum_ && sum_->Answers(type);
  }
  void CloseStep(std::vector<Outgoing>& out) override;
  std::string StepName() const override { return "secure evaluation: " + sum_->StepName(); }

  std::optional<SecureSum> sum_;  // none when the evaluation could not start
  std::vector<models::Attribute> subgroups_;
};

}  // namespace cartable::coordinator
