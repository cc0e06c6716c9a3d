#pragma once

// SecureSum: the coordinator's SecAgg+ workflow for one sum, shared by the stages that sum securely
// (SecureTraining: the nodes' model updates; SecureEvaluation: their evaluation statistics). It
// relays keys and sealed shares, collects masked inputs, runs the consistency check and the
// unmasking, and ends with the survivors' sum and never one of their inputs; the SecAgg+ server
// state machine (aggregation/secagg/server.h) holds the cryptography. A stage forwards its members'
// answers to Accept and, when a step closes, acts on what Close returns. Its steps are the
// protocol's stages: AdvertiseKeys, ShareKeys, MaskedInput, ConsistencyCheck, Unmask. Not thread
// safe; one per stage.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aggregation/secagg/graph_plan.h"
#include "aggregation/secagg/server.h"
#include "coordinator/cohort.h"
#include "coordinator/run_config.h"
#include "protocol/messages.h"

namespace cartable::coordinator {

// The degree and threshold of a secure round among `cohort` nodes under `config`'s tolerances and
// neighbour setting (aggregation::secagg::PlanGraph); an error names what cannot be met.
StatusOr<aggregation::secagg::GraphPlan> PlanSecureRound(const SecAggConfig& config, int cohort);

// The SecAgg+ parameters of a sum among `cohort` (sorted by name) in round `round`, planned by
// `plan`, quantising values in ±`value_range` with the run's modulus.
aggregation::secagg::RoundParameters SecureSumParameters(const RunConfig& config, uint32_t round,
                                                         const aggregation::secagg::GraphPlan& plan,
                                                         const std::vector<CohortMember>& cohort,
                                                         double value_range);

class SecureSum {
 public:
  // `min_survivors`: the fewest masked inputs whose sum may be unmasked (0: the server's own
  // floor).
  SecureSum(std::unique_ptr<aggregation::secagg::SecAggServer> server, size_t min_survivors)
      : server_(std::move(server)), min_survivors_(min_survivors) {}

  // The members the current step awaits.
  const std::vector<uint32_t>& asked() const { return server_->asked(); }
  bool Answers(protocol::MessageType type) const { return protocol::StageOf(type) == step_; }
  std::string StepName() const;
  // A member's answer to the current step; an error is why the member is dropped.
  Status Accept(uint32_t member, const protocol::Body& body);

  // What closing a step leads to: the next step's message for every member asked (`broadcast`),
  // or one message for each (`each`, by member), or, after Unmask, the sum.
  struct Next {
    std::optional<protocol::Body> broadcast;
    std::vector<std::pair<uint32_t, protocol::Body>> each;
    std::optional<aggregation::secagg::UnmaskedSum> sum;
  };
  // Closes the current step. An error (kFailedPrecondition: too few members left, or shares) ends
  // the sum; blamed() and disputes() then say whom it can hold to account.
  StatusOr<Next> Close();

  // Members whose misbehaviour the server proved, and the unusable-share reports it could not
  // settle (aggregation::secagg::SecAggServer).
  const std::vector<aggregation::secagg::Blame>& blamed() const { return server_->blamed(); }
  const std::vector<aggregation::secagg::Dispute>& disputes() const { return server_->disputes(); }
  const aggregation::secagg::Quantizer& quantizer() const { return server_->quantizer(); }

 private:
  std::unique_ptr<aggregation::secagg::SecAggServer> server_;
  size_t min_survivors_;
  protocol::Stage step_ = protocol::Stage::kAdvertiseKeys;
};

}  // namespace cartable::coordinator
