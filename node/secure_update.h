#pragma once

// SecureUpdate: how a node sends one input to a sum under SecAgg+ (its contribution to a training
// round, or its evaluation statistics), as a sans-I/O step of its round handling. It turns the
// coordinator's messages into calls on the SecAgg+ client state machine and the client's answers
// into messages (exchange/secagg_wire.h maps them); it produces its input (trains, or evaluates)
// only when the shares have arrived (the DESIGN's order: keys, shares, then local work, packing
// and masking). With establishment-level DP (exchange/establishment_dp_wire.h) a training input
// gets the node's own share of discrete Gaussian noise, drawn from the OS's randomness, after
// quantising and before masking, and the node signs no survivor set smaller than the plan's
// min_contributors: the sum the coordinator unmasks always carries enough noise. The coordinator
// unmasks the sum of the inputs (Σ ωΔ, Σ ω and Σ ω·loss together, or the summed statistics), and
// never one node's numbers. Not thread safe; one per sum.

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "aggregation/privacy/discrete_gaussian.h"
#include "aggregation/secagg/client.h"
#include "core/status.h"
#include "exchange/contribution.h"
#include "models/fairness.h"
#include "protocol/messages.h"

namespace cartable::node {

// Logs what packing did to the node's update: values clamped to the range, a norm scaled down to
// the run's bound.
void LogPackNotes(const exchange::PackNotes& notes, const exchange::ContributionLayout& layout);

class SecureUpdate {
 public:
  // What the node masks, produced once the shares have arrived.
  using Producer = std::function<StatusOr<std::vector<float>>()>;

  // Checks `params` against the node's policy and returns the node's signed key advert, signed
  // over `model_hash` (the SHA-256 of the parameters the coordinator sent). With `noise`, the node
  // adds its share of distributed noise of that variance to the quantised input. `identity` must
  // outlive this object.
  static StatusOr<std::unique_ptr<SecureUpdate>> Start(
      aggregation::secagg::RoundParameters params, const std::string& name,
      const aggregation::secagg::SigningKey& identity,
      const aggregation::secagg::ClientPolicy& policy,
      const aggregation::secagg::Sha256Digest& model_hash, Producer producer,
      std::optional<aggregation::privacy::Variance> noise, protocol::Body* advert);

  // One SecAgg+ message from the coordinator → the reply. Any refusal ends this node's part in the
  // round; the error says why.
  StatusOr<protocol::Body> OnMessage(const protocol::Body& body);

  bool done() const { return done_; }

 private:
  SecureUpdate(std::unique_ptr<aggregation::secagg::SecAggClient> client, int modulus_bits,
               std::optional<aggregation::privacy::Variance> noise, Producer producer)
      : client_(std::move(client)),
        modulus_bits_(modulus_bits),
        noise_(noise),
        producer_(std::move(producer)) {}
  StatusOr<protocol::Body> ProduceAndMask(const protocol::ShareDelivery& delivery);

  std::unique_ptr<aggregation::secagg::SecAggClient> client_;
  int modulus_bits_;
  // σ² of this node's share of distributed noise, for a run with establishment-level DP.
  std::optional<aggregation::privacy::Variance> noise_;
  Producer producer_;
  bool done_ = false;
};

// A node's part in a secure training round: checks the plan (with establishment-level DP, the
// noise it adds and the fewest contributors it accepts) and masks the packed contribution of what
// `trainer` returns.
using Trainer = std::function<StatusOr<exchange::LocalUpdate>()>;
StatusOr<std::unique_ptr<SecureUpdate>> StartSecureTraining(
    const protocol::TrainRequest& request, uint64_t run_id, uint32_t round, const std::string& name,
    const aggregation::secagg::SigningKey& identity,
    const aggregation::secagg::ClientPolicy& policy, Trainer trainer, protocol::Body* advert);

// A node's part in a secure evaluation: masks the statistics `evaluator` returns
// (exchange/evaluation_vector.h), quantised with unit levels.
using Evaluator = std::function<StatusOr<models::EvaluationStatistics>()>;
StatusOr<std::unique_ptr<SecureUpdate>> StartSecureEvaluation(
    const protocol::EvaluateRequest& request, uint64_t run_id, uint32_t round,
    const std::string& name, const aggregation::secagg::SigningKey& identity,
    const aggregation::secagg::ClientPolicy& policy, Evaluator evaluator, protocol::Body* advert);

}  // namespace cartable::node
