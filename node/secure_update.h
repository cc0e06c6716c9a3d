#pragma once

// SecureUpdate: how a node sends its contribution to one round under SecAgg+, as a sans-I/O step of
// its round handling. It turns the coordinator's messages into calls on the SecAgg+ client state
// machine and the client's answers into messages (exchange/secagg_wire.h maps them); it trains when
// the shares have arrived (the DESIGN's order: keys, shares, then local training, packing and
// masking). With establishment-level DP (exchange/establishment_dp_wire.h) it adds its own
// share of discrete Gaussian noise, drawn from the OS's randomness, to the quantised
// contribution before masking, and signs no survivor set smaller than the plan's
// min_contributors: the sum the coordinator unmasks always carries enough noise. What it masks is
// the node's packed contribution (exchange/contribution.h), so the coordinator unmasks Σ ωΔ, Σ ω
// and Σ ω·loss together, and never one node's numbers. Not thread safe; one per round.

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "aggregation/privacy/discrete_gaussian.h"
#include "aggregation/secagg/client.h"
#include "core/status.h"
#include "exchange/contribution.h"
#include "protocol/messages.h"

namespace cartable::node {

// Logs what packing did to the node's update: values clamped to the range, a norm scaled down to
// the run's bound.
void LogPackNotes(const exchange::PackNotes& notes, const exchange::ContributionLayout& layout);

class SecureUpdate {
 public:
  using Trainer = std::function<StatusOr<exchange::LocalUpdate>()>;

  // Checks the plan against the node's policy and returns the node's signed key advert.
  // `identity` must outlive this object.
  static StatusOr<std::unique_ptr<SecureUpdate>> Start(
      const protocol::TrainRequest& request, uint64_t run_id, uint32_t round,
      const std::string& name, const aggregation::secagg::SigningKey& identity,
      const aggregation::secagg::ClientPolicy& policy, Trainer trainer, protocol::Body* advert);

  // One SecAgg+ message from the coordinator → the reply. Any refusal ends this node's part in the
  // round; the error says why.
  StatusOr<protocol::Body> OnMessage(const protocol::Body& body);

  bool done() const { return done_; }

 private:
  SecureUpdate(std::unique_ptr<aggregation::secagg::SecAggClient> client,
               exchange::ContributionLayout layout, int modulus_bits,
               std::optional<aggregation::privacy::Variance> noise, Trainer trainer)
      : client_(std::move(client)),
        layout_(layout),
        modulus_bits_(modulus_bits),
        noise_(noise),
        trainer_(std::move(trainer)) {}
  StatusOr<protocol::Body> TrainAndMask(const protocol::ShareDelivery& delivery);

  std::unique_ptr<aggregation::secagg::SecAggClient> client_;
  exchange::ContributionLayout layout_;
  int modulus_bits_;
  // σ² of this node's share of distributed noise, for a run with establishment-level DP.
  std::optional<aggregation::privacy::Variance> noise_;
  Trainer trainer_;
  bool done_ = false;
};

}  // namespace cartable::node
