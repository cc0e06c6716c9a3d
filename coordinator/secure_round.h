#pragma once

// SecureRound: the coordinator's SecAgg+ workflow for the training stage of one round, sans-I/O. It
// announces the plan with the global model, relays keys and sealed shares between the cohort's nodes,
// collects masked updates, runs the consistency check and the unmasking, and hands back only the sum:
// Σ ωᵢΔᵢ, Σ ωᵢ and Σ ωᵢ·lossᵢ over the nodes whose update survived (node/secure_update.h says what a node
// masks). Each stage ends when every node asked has answered or at its deadline; nodes that miss a
// stage, or send something the server state machine refuses, are dropped from the round and named.
// One per round; not thread safe.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "aggregation/secagg/graph_plan.h"
#include "aggregation/secagg/server.h"
#include "aggregation/update_sum.h"
#include "coordinator/outgoing.h"
#include "coordinator/run_config.h"
#include "core/status.h"
#include "protocol/messages.h"
#include "protocol/transport.h"

namespace cartable::coordinator {

// The degree and threshold of a secure round among `cohort` nodes under `config`'s tolerances and
// neighbour setting (aggregation::secagg::PlanGraph); an error names what cannot be met.
StatusOr<aggregation::secagg::GraphPlan> PlanSecureRound(const SecAggConfig& config, int cohort);

struct SecureCohortMember {
  protocol::PeerId peer;
  std::string name;
  protocol::PublicKeyBytes signing_key{};
};

class SecureRound {
 public:
  // Fails if the plan cannot run with this cohort (too few nodes, a degree the cohort cannot hold).
  static StatusOr<std::unique_ptr<SecureRound>> Start(const RunConfig& config, uint32_t round,
                                                      std::vector<SecureCohortMember> cohort,
                                                      const std::vector<float>& global,
                                                      std::vector<Outgoing>& out);

  // A message from a peer of the cohort (anything else is ignored).
  void OnMessage(const protocol::PeerId& peer, const protocol::Envelope& envelope,
                 std::vector<Outgoing>& out);
  // The stage's deadline passed: close it with the nodes that answered.
  void OnDeadline(std::vector<Outgoing>& out);
  // The peer cannot be reached: it is dropped from the round now (the stage closes if it was the last
  // one awaited).
  void OnUnreachable(const protocol::PeerId& peer, const std::string& why, std::vector<Outgoing>& out);

  // Set once the round is over: the unmasked sum, or why it could not be had.
  bool finished() const { return outcome_.has_value(); }
  const StatusOr<aggregation::UpdateSum>& outcome() const { return *outcome_; }
  double loss_sum() const { return loss_sum_; }  // Σ ωᵢ·lossᵢ
  // Names of nodes dropped so far, with why.
  const std::vector<std::pair<std::string, std::string>>& dropped() const { return dropped_; }
  // True when the last call moved to a new stage (the caller restarts the stage deadline).
  bool TakeStageChanged() { return std::exchange(stage_changed_, false); }

 private:
  SecureRound(const RunConfig& config, uint32_t round, std::vector<SecureCohortMember> cohort,
              std::unique_ptr<aggregation::secagg::SecAggServer> server, size_t dimension);
  void Drop(uint32_t member, const std::string& why);
  void CloseStage(std::vector<Outgoing>& out);
  void Send(uint32_t member, protocol::Body body, std::vector<Outgoing>& out);
  void Finish(Status failure);
  Status Handle(uint32_t member, const protocol::Body& body);

  const RunConfig& config_;
  uint32_t round_;
  std::vector<SecureCohortMember> cohort_;
  std::map<protocol::PeerId, uint32_t> member_of_;
  std::unique_ptr<aggregation::secagg::SecAggServer> server_;
  size_t dimension_;  // the model's parameters; the masked vector has 2 more
  protocol::Stage stage_ = protocol::Stage::kAdvertiseKeys;
  std::set<uint32_t> pending_;  // asked in this stage, not answered yet
  std::set<uint32_t> gone_;     // dropped: ignored from now on
  std::optional<StatusOr<aggregation::UpdateSum>> outcome_;
  double loss_sum_ = 0;
  std::vector<std::pair<std::string, std::string>> dropped_;
  bool stage_changed_ = false;
};

}  // namespace cartable::coordinator
