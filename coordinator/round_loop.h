#pragma once

// RoundLoop: the coordinator's run as a sans-I/O state machine — the one place where rounds happen. It is
// fed node messages and clock ticks and returns the messages to send; the ZeroMQ service, in-process
// simulations and tests drive this same code. Per round: send the global model to the cohort, sum the
// weighted updates that come back before the deadline, let the Strategy pick the next model, have the
// cohort evaluate it, and record federation metrics computed from summed statistics only.
// Nodes that miss a deadline are dropped from the round and named in the log and the round record.
// Membership is live: a node that joins (or restarts and rejoins under the same name) mid-run takes part
// from the next round; a node silent past node_timeout is forgotten; a stranger is told to say Hello.
// Every joined node that has been sent nothing for heartbeat_interval gets a Heartbeat at the next tick.
// Not thread safe; the Clock must outlive the loop.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "aggregation/strategies/strategy.h"
#include "aggregation/update_sum.h"
#include "coordinator/outgoing.h"
#include "coordinator/run_config.h"
#include "coordinator/secure_round.h"
#include "core/clock.h"
#include "core/status.h"
#include "models/metrics.h"
#include "protocol/messages.h"
#include "protocol/transport.h"

namespace cartable::coordinator {

struct RoundRecord {
  uint32_t round = 0;
  size_t nodes = 0;        // nodes whose update entered the sum
  double train_loss = 0;   // example-weighted mean of the nodes' local training losses
  std::optional<double> auc, accuracy, log_loss, rmse;  // of the new global model on held-out pupils
  uint64_t evaluated = 0;  // held-out answers behind those metrics
  double seconds = 0;
  std::vector<std::string> dropped;  // nodes that missed a deadline or failed this round
};

// The run as it stands, for the researchers' admin desk: a copy, so a reader cannot change the run.
struct RunSnapshot {
  struct NodeView {
    std::string name;
    double seconds_since_heard = 0;
  };
  uint64_t run_id = 0;
  std::string model;
  uint32_t rounds_planned = 0;
  size_t rounds_completed = 0;
  uint32_t round = 0;   // the round in progress, from 1; 0 while joining and once the run is over
  std::string stage;    // "joining", "training", "evaluating" or "done"
  std::vector<NodeView> nodes;  // joined nodes, by name
  std::optional<RoundRecord> last_round;
  std::optional<std::string> stop_requested_by;
};

class RoundLoop {
 public:
  static StatusOr<std::unique_ptr<RoundLoop>> Create(const RunConfig& config, const Clock& clock);

  // `identity` is the name the transport authenticated the sender as (empty without authentication): a
  // node must call itself by it, so no node can take another establishment's place.
  std::vector<Outgoing> OnMessage(const protocol::PeerId& peer, const protocol::Envelope& envelope,
                                  const std::string& identity = "");
  // Checks deadlines; call at least every poll interval.
  std::vector<Outgoing> OnTick();
  // The transport could not hand `peer` a message (it is gone, or not reading): the peer is dropped from
  // the round at once, never waited on. It stays joined; a peer that is truly gone falls silent and is
  // forgotten after node_timeout.
  std::vector<Outgoing> OnUnreachable(const protocol::PeerId& peer, const std::string& why);
  // Ends the run now (e.g. the operator pressed Ctrl-C): Shutdown to every node, outcome kCancelled.
  std::vector<Outgoing> Stop(const std::string& reason);
  // Ends the run cleanly once the current round is recorded, or at once when no round has started: every
  // node gets Shutdown and the outcome is OK. `by` names who asked (an admin's allow-list name).
  std::vector<Outgoing> StopAfterRound(const std::string& by);

  bool done() const { return phase_ == Phase::kDone; }
  // OK once every round completed; the reason the run failed otherwise.
  const Status& outcome() const { return outcome_; }
  const std::vector<RoundRecord>& records() const { return records_; }
  const std::vector<float>& global_model() const { return global_; }
  const RunConfig& config() const { return config_; }
  // Who ended the run with StopAfterRound; empty when the run ended any other way (or is still going).
  const std::optional<std::string>& stopped_by() const { return stopped_by_; }
  RunSnapshot Snapshot() const;

  // Called once per completed round (progress lines, metrics files).
  void set_round_listener(std::function<void(const RoundRecord&)> listener) {
    listener_ = std::move(listener);
  }

 private:
  enum class Phase { kJoining, kTraining, kEvaluating, kDone };

  RoundLoop(const RunConfig& config, const Clock& clock, std::unique_ptr<aggregation::Strategy> strategy,
            std::vector<float> initial);
  std::vector<Outgoing> HandleMessage(const protocol::PeerId& peer, const protocol::Envelope& envelope,
                                      const std::string& identity);
  std::vector<Outgoing> CheckDeadlines();
  void AddHeartbeats(std::vector<Outgoing>& out);
  // Notes, per node, when it was last sent something (what heartbeats are timed from).
  std::vector<Outgoing> Sent(std::vector<Outgoing> out);
  std::vector<Outgoing> OnHello(const protocol::PeerId& peer, const protocol::Hello& hello,
                                const std::string& identity);
  void ForgetSilentNodes();
  std::vector<Outgoing> StartRound();
  std::vector<Outgoing> FinishTraining();
  std::vector<Outgoing> FinishTraining(const aggregation::UpdateSum& sum, double loss_sum);
  std::vector<Outgoing> AfterSecureStep(std::vector<Outgoing> out);
  std::vector<Outgoing> FinishEvaluation();
  std::vector<Outgoing> Fail(Status why);
  std::vector<Outgoing> EndOnRequest();
  std::vector<Outgoing> ShutdownAll(const std::string& reason);
  void Drop(const protocol::PeerId& peer, const std::string& why);
  std::vector<Outgoing> Broadcast(protocol::Body body);
  std::string NameOf(const protocol::PeerId& peer) const;
  protocol::Envelope MakeEnvelope(protocol::Body body) const;
  protocol::WireModelSpec WireModel() const;

  RunConfig config_;
  const Clock& clock_;
  std::unique_ptr<aggregation::Strategy> strategy_;
  std::vector<float> global_;
  std::function<void(const RoundRecord&)> listener_;

  Phase phase_ = Phase::kJoining;
  Status outcome_;
  struct Node {
    std::string name;
    TimePoint last_heard;
    protocol::PublicKeyBytes signing_key{};
    std::optional<TimePoint> last_sent;  // none yet: a heartbeat at the next tick tells it it joined
  };
  std::map<protocol::PeerId, Node> nodes_;  // joined peers
  std::set<protocol::PeerId> cohort_;              // this round's participants still in the round
  std::set<protocol::PeerId> pending_;             // participants yet to answer the current stage
  TimePoint deadline_{};
  TimePoint round_started_{};
  uint32_t round_ = 0;
  std::optional<aggregation::UpdateAccumulator> updates_;
  std::unique_ptr<SecureRound> secure_;  // this round's SecAgg+ workflow, when enabled
  size_t secure_drops_seen_ = 0;
  int failed_attempts_ = 0;  // of the current round's secure aggregation
  double loss_sum_ = 0;
  models::SummableMetrics evaluation_;
  RoundRecord current_;
  std::vector<RoundRecord> records_;
  std::optional<std::string> stop_requested_by_;
  std::optional<std::string> stopped_by_;
};

}  // namespace cartable::coordinator
