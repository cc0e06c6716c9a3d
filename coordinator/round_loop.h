#pragma once

// RoundLoop: the coordinator's run as a sans-I/O state machine — the one place where rounds happen.
// It is fed node messages and clock ticks and returns the messages to send; the ZeroMQ service,
// in-process simulations and tests drive this same code. Per round: pick the cohort (cohort.h), run
// the training stage (plain or secure, training_stage.h) that ends with the sum of the nodes'
// contributions, let the Strategy pick the next model (from that sum; a robust strategy of a plain
// run, from each contribution's delta), run the evaluation stage, and record federation metrics
// computed from summed statistics only. Nodes that miss a deadline are dropped from the round and
// named in the log and the round record. An attempt whose aggregation fails is retried, up to
// max_attempts, without the nodes that sent something unusable or misbehaved in it (nodes that were
// only late are asked again: lateness usually passes, cohort.h); a node whose misbehaviour the
// coordinator checked for itself, or whose establishment declined the run (its policy), is left
// out for the rest of the run. Membership is live: a node
// that joins (or restarts and rejoins under the same name) mid-run takes part from the next round;
// a node silent past node_timeout is forgotten; a stranger is told to say Hello. Every joined node
// that has been sent nothing for heartbeat_interval gets a Heartbeat at the next sweep (a tick at
// least kSweepInterval after the last one, which also forgets the silent). Not thread
// safe; the Clock must outlive the loop.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "aggregation/strategies/strategy.h"
#include "coordinator/checkpoint.h"
#include "coordinator/evaluation_stage.h"
#include "coordinator/node_registry.h"
#include "coordinator/outgoing.h"
#include "coordinator/run_config.h"
#include "coordinator/training_stage.h"
#include "core/clock.h"
#include "core/status.h"
#include "protocol/messages.h"
#include "protocol/transport.h"

namespace cartable::coordinator {

struct RoundRecord {
  uint32_t round = 0;
  size_t connected = 0;   // nodes joined (and not excluded) when the round's last attempt started
  size_t asked = 0;       // of them, those the last attempt asked to train (its cohort)
  size_t nodes = 0;       // nodes whose update entered the sum
  double train_loss = 0;  // weighted mean of the nodes' local training losses
  std::optional<double> auc, accuracy, log_loss,
      rmse;  // of the new global model on held-out pupils
  // How far `auc`, computed from score histograms, can be from the exact AUC of the same
  // predictions (models::SummableMetrics::AucBinningBound).
  std::optional<double> auc_bound;
  // Expected calibration error over ten score intervals (models::SummableMetrics).
  std::optional<double> calibration_error;
  uint64_t evaluated = 0;  // held-out answers behind those metrics
  double seconds = 0;
  std::vector<std::string> dropped;  // nodes that missed a deadline or failed this round
  // How many were dropped for each kind of reason: "late" (missed a deadline, unreachable),
  // "refused" (answered with an error), "unusable" (sent what could not be used), "declined".
  std::map<std::string, size_t> dropped_by_reason;
  // Nodes whose establishment declined the run this round (they are among `dropped`, and asked
  // nothing more), with the reason each gave.
  std::map<std::string, std::string> declined;
  // By subgroup of the run's fairness attributes, small subgroups suppressed: the last round's.
  std::optional<models::FairnessTable> fairness;
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
  uint32_t round = 0;  // the round in progress, from 1; 0 while joining and once the run is over
  std::string stage;   // "joining", "training", "evaluating", "retrying" or "done"
  std::vector<NodeView> nodes;  // joined nodes, by name
  std::optional<RoundRecord> last_round;
  // Nodes whose establishment declined the run, each with the reason it gave, by name.
  std::map<std::string, std::string> declined;
  std::optional<std::string> stop_requested_by;
  // Round attempts that failed (each retried, or failing the run) since the loop was created or
  // resumed: the metrics' count of aborted attempts.
  uint64_t attempts_failed = 0;
};

// What the loop did that an audit log records, as it happened: a node joined (on a new connection:
// a Hello repeated on the same one is not an event), an attempt at a round started with its
// cohort, or a node declined the run.
struct LoopEvent {
  enum class Kind { kNodeJoined, kAttemptStarted, kNodeDeclined };
  Kind kind = Kind::kNodeJoined;
  std::string node;                 // kNodeJoined, kNodeDeclined: its name
  std::string why;                  // kNodeDeclined: the reason it gave
  bool reconnected = false;         // kNodeJoined: it replaced an earlier connection
  uint32_t round = 0;               // kAttemptStarted
  uint32_t attempt = 0;             // kAttemptStarted: the attempt's number on the wire
  std::vector<std::string> cohort;  // kAttemptStarted: the members' names
};

class RoundLoop {
 public:
  static StatusOr<std::unique_ptr<RoundLoop>> Create(const RunConfig& config, const Clock& clock);
  // A run that stopped (its coordinator was killed, or shut down) going on after its last
  // completed round: `checkpoint` as MakeCheckpoint gave it then, and the records of the rounds it
  // covers. Nodes rejoin as to a new run. With the same nodes and seed, every later round is what
  // it would have been had the run never stopped; a checkpoint after the last round gives a loop
  // already done (OK). Fails when the checkpoint does not fit `config` (model size, strategy
  // state, number of records).
  static StatusOr<std::unique_ptr<RoundLoop>> Resume(const RunConfig& config, const Clock& clock,
                                                     const Checkpoint& checkpoint,
                                                     std::vector<RoundRecord> records);

  // `sender` is who the transport authenticated the sender as (nobody without authentication): a
  // node must call itself by that name and present its identity key, so no node can take another
  // establishment's place.
  std::vector<Outgoing> OnMessage(const protocol::PeerId& peer, const protocol::Envelope& envelope,
                                  const SenderIdentity& sender = {});
  // Checks deadlines; call at least every poll interval.
  std::vector<Outgoing> OnTick();
  // The transport could not hand `peer` a message: the peer is dropped from the round at once,
  // never waited on. `why` is the transport's status: kUnavailable (the connection is gone) also
  // forgets the peer, which says Hello again if it comes back; otherwise (it is not reading) it
  // stays joined.
  std::vector<Outgoing> OnUnreachable(const protocol::PeerId& peer, const Status& why);
  // Ends the run now (e.g. the operator pressed Ctrl-C): Shutdown to every node, outcome
  // kCancelled.
  std::vector<Outgoing> Stop(const std::string& reason);
  // Ends the run cleanly once the current round is recorded, or at once when no round has started:
  // every node gets Shutdown and the outcome is OK. `by` names who asked (an admin's allow-list
  // name).
  std::vector<Outgoing> StopAfterRound(const std::string& by);

  bool done() const { return phase_ == Phase::kDone; }
  // OK once every round completed; the reason the run failed otherwise.
  const Status& outcome() const { return outcome_; }
  const std::vector<RoundRecord>& records() const { return records_; }
  const std::vector<float>& global_model() const { return global_; }
  const RunConfig& config() const { return config_; }
  // Who ended the run with StopAfterRound; empty when the run ended any other way (or is still
  // going).
  const std::optional<std::string>& stopped_by() const { return stopped_by_; }
  // Nodes left out for the rest of the run, by name: the coordinator caught them misbehaving, or
  // they declined the run.
  const std::set<std::string>& excluded() const { return excluded_; }
  // Nodes that declined the run, with the reason each gave.
  const std::map<std::string, std::string>& declined() const { return declined_; }
  RunSnapshot Snapshot() const;
  // The state after the last completed round (or the start), for Resume. Taken as each round
  // completes, so it stays right while the next round is under way.
  const Checkpoint& checkpoint() const { return checkpoint_; }

  // Called once per completed round (progress lines, metrics files).
  void set_round_listener(std::function<void(const RoundRecord&)> listener) {
    listener_ = std::move(listener);
  }
  // Called as a node joins and as each attempt at a round starts (the audit log).
  void set_event_listener(std::function<void(const LoopEvent&)> listener) {
    event_listener_ = std::move(listener);
  }

 private:
  // kPausing: between a failed attempt and the next, so that nodes that restarted or lost a
  // connection can rejoin before the cohort is picked again. kWaiting: a round short of connected
  // nodes waits for joins, up to the join timeout.
  enum class Phase { kJoining, kTraining, kEvaluating, kPausing, kWaiting, kDone };

  RoundLoop(const RunConfig& config, const Clock& clock,
            std::unique_ptr<aggregation::Strategy> strategy, std::vector<float> initial);
  std::vector<Outgoing> HandleMessage(const protocol::PeerId& peer,
                                      const protocol::Envelope& envelope,
                                      const SenderIdentity& sender);
  std::vector<Outgoing> OnHello(const protocol::PeerId& peer, const protocol::Hello& hello,
                                const SenderIdentity& sender);
  std::vector<Outgoing> CheckDeadlines();
  // Records what the current stage dropped since last asked, restarts the deadline of a new step,
  // and moves on when the stage is finished.
  std::vector<Outgoing> AfterStageStep(std::vector<Outgoing> out);
  std::vector<Outgoing> Sent(std::vector<Outgoing> out);
  void ForgetSilentNodes();
  std::vector<Outgoing> StartRound();
  std::vector<Outgoing> StartAttempt();
  // Ok when `cohort` has min_nodes members, and enough for secure aggregation if the run uses it.
  Status EnoughToRun(const std::vector<CohortMember>& cohort) const;
  std::vector<Outgoing> WaitForNodes(const Status& shortage);
  std::vector<Outgoing> FinishTraining();
  std::vector<Outgoing> RetryOrFail(const Status& why);
  std::vector<Outgoing> FinishEvaluation();
  // Members `stage` proved to misbehave take no further part in the run.
  void ExcludeProven(const RoundStage& stage);
  std::vector<Outgoing> Fail(const Status& why);
  std::vector<Outgoing> EndOnRequest();
  std::vector<Outgoing> ShutdownAll(const std::string& reason);
  RoundStage* stage() const;
  protocol::Envelope MakeEnvelope(protocol::Body body) const;

  RunConfig config_;
  const Clock& clock_;
  std::unique_ptr<aggregation::Strategy> strategy_;
  std::vector<float> global_;
  std::function<void(const RoundRecord&)> listener_;
  std::function<void(const LoopEvent&)> event_listener_;

  Phase phase_ = Phase::kJoining;
  Status outcome_;
  Status shortage_;  // why the round waits, in kWaiting
  NodeRegistry registry_;
  std::set<std::string> excluded_;
  std::map<std::string, std::string> declined_;
  std::set<std::string> sitting_out_;  // left out of the current round's remaining attempts
  std::unique_ptr<TrainingStage> training_;
  std::unique_ptr<EvaluationStage> evaluation_;
  size_t drops_recorded_ = 0;  // of the current stage
  TimePoint deadline_{};
  TimePoint round_started_{};
  // The sweeps over every joined node (the silent to forget, the heartbeats owed) run at most this
  // often: OnTick follows every message, and a sweep per message is quadratic in the nodes.
  static constexpr Duration kSweepInterval = std::chrono::milliseconds(100);
  TimePoint next_sweep_{};
  uint32_t attempt_ = 0;          // every attempt at a round has its own number on the wire
  int failed_attempts_ = 0;       // of the current round
  uint64_t attempts_failed_ = 0;  // of the run, for RunSnapshot::attempts_failed
  RoundRecord current_;
  std::vector<RoundRecord> records_;
  Checkpoint checkpoint_;
  std::optional<std::string> stop_requested_by_;
  std::optional<std::string> stopped_by_;
};

}  // namespace cartable::coordinator
