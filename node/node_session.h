#pragma once

// NodeSession: the node agent's round handling as a sans-I/O state machine. It is fed the
// coordinator's messages and returns the replies to send; it never touches a socket or a clock, so
// the ZeroMQ agent, an in-process simulation and the tests all run this same code. It owns the
// node's data split and its local model. Training happens inside OnMessage (compute, not I/O). Not
// thread safe.

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "aggregation/secagg/client.h"
#include "aggregation/secagg/signing.h"
#include "models/dataset.h"
#include "models/fairness.h"
#include "models/model.h"
#include "node/audit_trail.h"
#include "node/plan_policy.h"
#include "node/privacy_ledger.h"
#include "node/secure_update.h"
#include "protocol/messages.h"

namespace cartable::node {

// The seed of a node's local training in one round: distinct per node and round, reproducible from
// the run's seed, so a run can be replayed and a test can recompute any node's update.
uint64_t LocalTrainingSeed(uint64_t run_seed, uint32_t round, const std::string& node_name);

// How a node protects what it sends.
struct NodeSecurity {
  // The node's Ed25519 identity key, which signs its SecAgg+ messages; its public key goes in
  // Hello. Null: a fresh key for this process (nobody can pin it in a roster).
  std::shared_ptr<const aggregation::secagg::SigningKey> identity;
  aggregation::secagg::ClientPolicy policy;  // cohort floor and roster
  // Answer rounds that ask for the update, or the evaluation statistics, in the clear (comparison
  // runs). Off: such requests are refused.
  bool allow_plain_updates = false;
  // What this establishment agrees to train (node/plan_policy.h): a request that breaks it is
  // refused with the reason before any training.
  PlanPolicy plan_policy;
  // What DP-SGD runs have cost this establishment's pupils (node/privacy_ledger.h): a run's ε is
  // charged to it before the run's first training, and the policy's yearly cap kept against it.
  // Null: no ledger (a yearly cap then refuses every DP run).
  std::shared_ptr<PrivacyLedger> ledger;
};

class NodeSession {
 public:
  // `data` is this establishment's split by pupil: train for local updates, test for evaluation.
  // `attributes` (may be null) are its pupils' attributes, by key, for evaluations by subgroup
  // (fairness): subgroups of an attribute it lacks hold none of its pupils.
  NodeSession(std::string name, models::PupilSplit data, NodeSecurity security = {},
              std::shared_ptr<const models::PupilAttributes> attributes = nullptr);

  // The first message on a connection, and again whenever the coordinator has lost track of this
  // node (it restarted). After a Hello the node follows whatever run the coordinator serves next: a
  // new run, or the same run started again from its first round by a coordinator that restarted.
  protocol::Envelope Hello();

  // Handles one message from the coordinator. A message for another run (unless the node has just
  // said Hello), or for a round already answered, gets no reply. Failures become an ErrorReply
  // naming what went wrong. A coordinator that does not know this node gets a Hello.
  std::vector<protocol::Envelope> OnMessage(const protocol::Envelope& in);

  // Hears what each evaluation found of this school's own pupils, its local report: an
  // "evaluated_here" note with the run, the round, its held-out answers and pupils, its AUC (and
  // bound), accuracy, log-loss, RMSE and calibration error, and, when the run asks for subgroups,
  // its fairness table with its own subgroups under the run's threshold suppressed. Nothing of it
  // leaves the node but inside the masked sum.
  void ReportEvaluationsTo(std::function<void(const AuditNote&)> report) {
    report_ = std::move(report);
  }

  bool finished() const { return finished_; }
  const std::string& finish_reason() const { return finish_reason_; }
  // OK when the coordinator ended the run; kPermissionDenied when it refused this node for good.
  const Status& finish_status() const { return finish_status_; }
  const std::string& name() const { return name_; }
  const models::PupilSplit& data() const { return data_; }

 private:
  // The cohort members this node's roster disowns, named in its refusal (never itself).
  std::vector<std::string> Disowned(const protocol::SecAggPlan& plan) const;
  // Why this establishment declines the round (its plan policy, or an update asked in the clear
  // of a node that sends only under secure aggregation); OK when it takes part.
  Status Declines(const protocol::TrainRequest& request) const;
  // Before a DP-SGD training: the run's ε charged to the ledger (its planned rounds at the first
  // training, more when `attempt` goes beyond them), or PERMISSION_DENIED when that would break
  // the policy's caps or the run's parameters changed since they were charged.
  Status ChargePrivacy(const protocol::TrainRequest& request, uint64_t run_id, uint32_t attempt);
  StatusOr<protocol::Body> Train(const protocol::TrainRequest& request, uint32_t round);
  StatusOr<exchange::LocalUpdate> TrainLocally(const protocol::TrainRequest& request,
                                               uint32_t round);
  std::vector<protocol::Envelope> OnSecAggMessage(const protocol::Envelope& in);
  StatusOr<protocol::Body> Evaluate(const protocol::EvaluateRequest& request, uint32_t round);
  // Ok, or why the subgroups `request` asks for cannot be evaluated (models::CheckAttributes).
  Status CheckGroups(const protocol::EvaluateRequest& request) const;
  // This school's statistics of `request`'s parameters on its held-out pupils (and each subgroup
  // it asks for); its own figures go to its log, and only to it, small subgroups suppressed.
  StatusOr<models::EvaluationStatistics> EvaluateLocally(const protocol::EvaluateRequest& request,
                                                         uint32_t round);
  Status EnsureModel(const protocol::WireModelSpec& spec);
  // Examples the current model would train on: answers or pupil records.
  size_t TrainingSize() const {
    return model_ && model_->input() == models::ModelInput::kPupilRecords
               ? data_.train.records.size()
               : data_.train.size();
  }

  std::string name_;
  models::PupilSplit data_;
  NodeSecurity security_;
  std::shared_ptr<const models::PupilAttributes> attributes_;
  std::function<void(const AuditNote&)> report_;
  // The fewest contributors the run's establishment-level DP needs (0: none), from its last
  // training request: an evaluation's sum keeps the same floor.
  uint32_t dp_min_contributors_ = 0;
  // The sum being securely aggregated (a round's training, then its evaluation): the training's
  // request (trained on once the shares arrive), the state machine, and the last SecAgg+ stage
  // answered (a repeated or earlier stage is a duplicate).
  std::optional<protocol::TrainRequest> secure_request_;
  std::unique_ptr<SecureUpdate> secure_;
  uint32_t secure_round_ = 0;
  protocol::Stage secure_stage_ = protocol::Stage::kAdvertiseKeys;
  std::unique_ptr<models::Model> model_;
  std::optional<uint64_t> run_id_;
  std::optional<uint32_t> last_train_round_;
  std::optional<uint32_t> last_evaluate_round_;
  // The parameters this node evaluated in the run it serves (their SHA-256): it evaluates each
  // once, because the sums of one model's statistics over two cohorts that differ by one school
  // would give that school's figures away.
  uint64_t evaluated_run_ = 0;
  std::set<aggregation::secagg::Sha256Digest> evaluated_;
  // The (run, attempt) of the last training this node took part in, and the model it trained: an
  // evaluation must follow a training of its own in the same attempt, of the same model, so that
  // the plan policy that let the training in covers the evaluation too.
  std::optional<std::pair<uint64_t, uint32_t>> trained_;
  protocol::WireModelSpec trained_model_;
  bool rejoining_ = true;  // said Hello and heard nothing of a run since
  bool finished_ = false;
  std::string finish_reason_;
  Status finish_status_;
};

}  // namespace cartable::node
