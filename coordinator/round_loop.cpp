#include "coordinator/round_loop.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace cartable::coordinator {

StatusOr<std::unique_ptr<RoundLoop>> RoundLoop::Create(const RunConfig& config, const Clock& clock) {
  if (config.rounds < 1) return InvalidArgumentError("a run needs at least 1 round");
  if (config.min_nodes < 1) return InvalidArgumentError("min_nodes must be at least 1");
  if (config.expected_nodes != 0 && config.expected_nodes < config.min_nodes) {
    return InvalidArgumentError("expected_nodes (" + std::to_string(config.expected_nodes) +
                                ") is below min_nodes (" + std::to_string(config.min_nodes) + ")");
  }
  if (config.train.local_epochs < 1 || config.train.batch_size < 1 || !(config.train.learning_rate > 0)) {
    return InvalidArgumentError("local training needs epochs ≥ 1, batch size ≥ 1 and a positive rate");
  }
  const SecAggConfig& sa = config.secagg;
  if (sa.enabled) {
    if (sa.neighbours != -1 && sa.neighbours != 0 && (sa.neighbours < 2 || sa.neighbours % 2 != 0)) {
      return InvalidArgumentError("secure aggregation neighbours must be 'full', or an even number ≥ 2; got " +
                                  std::to_string(sa.neighbours));
    }
    if (sa.modulus_bits < 8 || sa.modulus_bits > 62) {
      return InvalidArgumentError("secure aggregation modulus bits must be in [8, 62]");
    }
    if (sa.max_attempts < 1) return InvalidArgumentError("secure aggregation needs at least 1 attempt per round");
    if (!(sa.clip > 0) || !(sa.weight_cap >= 1)) {
      return InvalidArgumentError("secure aggregation needs a positive clip and a weight cap of at least 1");
    }
  }
  if (config.heartbeat_interval <= Duration::zero()) {
    return InvalidArgumentError("the heartbeat interval must be positive");
  }
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<aggregation::Strategy> strategy,
                            aggregation::CreateStrategy(config.strategy));
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> model, models::CreateModel(config.model));
  return std::unique_ptr<RoundLoop>(
      new RoundLoop(config, clock, std::move(strategy), model->GetParameters()));
}

RoundLoop::RoundLoop(const RunConfig& config, const Clock& clock,
                     std::unique_ptr<aggregation::Strategy> strategy, std::vector<float> initial)
    : config_(config), clock_(clock), strategy_(std::move(strategy)), global_(std::move(initial)) {
  deadline_ = clock_.Now() + config_.join_timeout;
}

protocol::Envelope RoundLoop::MakeEnvelope(protocol::Body body) const {
  return protocol::Envelope{config_.run_id, round_, std::move(body)};
}

std::string RoundLoop::NameOf(const protocol::PeerId& peer) const {
  auto it = nodes_.find(peer);
  return it == nodes_.end() ? "an unknown peer" : it->second.name;
}

protocol::WireModelSpec RoundLoop::WireModel() const {
  protocol::WireModelSpec wire{config_.model.name, config_.model.num_skills, config_.model.num_items,
                               config_.model.num_features, {}};
  for (const auto& [key, value] : config_.model.options) wire.options.push_back({key, value});
  return wire;
}

std::vector<Outgoing> RoundLoop::OnMessage(const protocol::PeerId& peer,
                                           const protocol::Envelope& envelope, const std::string& identity) {
  return Sent(HandleMessage(peer, envelope, identity));
}

std::vector<Outgoing> RoundLoop::OnTick() {
  std::vector<Outgoing> out = CheckDeadlines();
  AddHeartbeats(out);
  return Sent(std::move(out));
}

std::vector<Outgoing> RoundLoop::OnUnreachable(const protocol::PeerId& peer, const std::string& why) {
  if (phase_ == Phase::kDone || !nodes_.contains(peer)) return {};
  if (phase_ == Phase::kTraining && secure_) {
    std::vector<Outgoing> out;
    secure_->OnUnreachable(peer, why, out);
    return Sent(AfterSecureStep(std::move(out)));
  }
  if (!pending_.contains(peer)) {
    cohort_.erase(peer);
    return {};
  }
  Drop(peer, why);
  if (!pending_.empty() || phase_ == Phase::kJoining) return {};
  return Sent(phase_ == Phase::kTraining ? FinishTraining() : FinishEvaluation());
}

std::vector<Outgoing> RoundLoop::Sent(std::vector<Outgoing> out) {
  const TimePoint now = clock_.Now();
  for (const Outgoing& o : out) {
    if (auto it = nodes_.find(o.peer); it != nodes_.end()) it->second.last_sent = now;
  }
  return out;
}

void RoundLoop::AddHeartbeats(std::vector<Outgoing>& out) {
  if (phase_ == Phase::kDone) return;
  const TimePoint now = clock_.Now();
  std::set<protocol::PeerId> addressed;
  for (const Outgoing& o : out) addressed.insert(o.peer);
  std::shared_ptr<const protocol::Envelope> heartbeat;  // one envelope for all, encoded once
  for (const auto& [peer, node] : nodes_) {
    if (addressed.count(peer) || (node.last_sent && now - *node.last_sent < config_.heartbeat_interval)) continue;
    if (!heartbeat) heartbeat = std::make_shared<const protocol::Envelope>(MakeEnvelope(protocol::Heartbeat{}));
    out.push_back({peer, heartbeat});
  }
}

std::vector<Outgoing> RoundLoop::HandleMessage(const protocol::PeerId& peer,
                                               const protocol::Envelope& envelope, const std::string& identity) {
  if (phase_ == Phase::kDone) return {};
  if (const auto* hello = std::get_if<protocol::Hello>(&envelope.body)) {
    return OnHello(peer, *hello, identity);
  }
  auto node = nodes_.find(peer);
  if (node == nodes_.end()) {
    // A coordinator that restarted, or forgot a silent node, asks it to join again.
    spdlog::debug("a {} from a peer that has not joined; asking it to say hello",
                  protocol::MessageTypeName(protocol::TypeOf(envelope.body)));
    return {{peer, std::make_shared<const protocol::Envelope>(MakeEnvelope(protocol::ErrorReply{
                       protocol::kErrorNotJoined, "this coordinator does not know you: say hello"}))}};
  }
  node->second.last_heard = clock_.Now();
  if (std::holds_alternative<protocol::Heartbeat>(envelope.body)) {
    return {{peer, std::make_shared<const protocol::Envelope>(MakeEnvelope(protocol::Heartbeat{}))}};
  }
  if (phase_ == Phase::kTraining && secure_) {
    std::vector<Outgoing> out;
    secure_->OnMessage(peer, envelope, out);
    return AfterSecureStep(std::move(out));
  }
  if (const auto* error = std::get_if<protocol::ErrorReply>(&envelope.body);
      error && (envelope.run_id != config_.run_id || envelope.round != round_)) {
    spdlog::warn("node '{}' reports: {}", NameOf(peer), error->message);
    return {};
  }
  if (envelope.run_id != config_.run_id || envelope.round != round_ || !pending_.count(peer)) {
    spdlog::debug("ignoring a stale {} from {} (run {:016x}, round {})",
                  protocol::MessageTypeName(protocol::TypeOf(envelope.body)), NameOf(peer),
                  envelope.run_id, envelope.round);
    return {};
  }
  if (const auto* error = std::get_if<protocol::ErrorReply>(&envelope.body)) {
    Drop(peer, "failed: " + error->message);
  } else if (const auto* result = std::get_if<protocol::TrainResult>(&envelope.body);
             result && phase_ == Phase::kTraining) {
    Status added = updates_->Add(result->delta, result->weight);
    if (added.ok()) {
      loss_sum_ += result->train_loss * result->weight;
      pending_.erase(peer);
    } else {
      Drop(peer, "sent an unusable update: " + added.message());
    }
  } else if (const auto* result = std::get_if<protocol::EvaluateResult>(&envelope.body);
             result && phase_ == Phase::kEvaluating) {
    models::SummableMetrics m{result->positive_histogram, result->negative_histogram,
                              result->log_loss_sum, result->correct, result->count,
                              result->squared_error_sum};
    Status added = evaluation_.Add(m);
    if (added.ok()) {
      pending_.erase(peer);
    } else {
      Drop(peer, "sent unusable evaluation statistics: " + added.message());
    }
  } else {
    spdlog::warn("ignoring an unexpected {} from {}",
                 protocol::MessageTypeName(protocol::TypeOf(envelope.body)), NameOf(peer));
    return {};
  }
  if (!pending_.empty()) return {};
  return phase_ == Phase::kTraining ? FinishTraining() : FinishEvaluation();
}

std::vector<Outgoing> RoundLoop::OnHello(const protocol::PeerId& peer, const protocol::Hello& hello,
                                         const std::string& identity) {
  if (!identity.empty() && identity != hello.node_name) {
    spdlog::warn("refusing a node authenticated as '{}' that calls itself '{}'", identity, hello.node_name);
    return {{peer, std::make_shared<const protocol::Envelope>(MakeEnvelope(protocol::ErrorReply{
                       static_cast<uint32_t>(StatusCode::kPermissionDenied),
                       "your key is allowed as '" + identity + "', not as '" + hello.node_name +
                           "': use --name " + identity}))}};
  }
  if (auto known = nodes_.find(peer); known != nodes_.end()) {
    known->second.last_heard = clock_.Now();
    return {};  // a repeated hello is harmless
  }
  // The same establishment on a new connection: it restarted. Its old connection is dead.
  for (auto it = nodes_.begin(); it != nodes_.end(); ++it) {
    if (it->second.name != hello.node_name) continue;
    spdlog::info("node '{}' reconnected; it takes part from the next round", hello.node_name);
    if (pending_.count(it->first)) Drop(it->first, "reconnected mid-stage");
    cohort_.erase(it->first);
    nodes_.erase(it);
    break;
  }
  nodes_.emplace(peer, Node{hello.node_name, clock_.Now(), hello.signing_key});
  spdlog::debug("node '{}' joined ({} connected)", hello.node_name, nodes_.size());
  if (phase_ == Phase::kJoining && config_.expected_nodes != 0 &&
      nodes_.size() >= config_.expected_nodes) {
    return StartRound();
  }
  return {};  // nodes joining mid-run take part from the next round
}

void RoundLoop::ForgetSilentNodes() {
  const TimePoint now = clock_.Now();
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (!pending_.count(it->first) && now - it->second.last_heard > config_.node_timeout) {
      spdlog::warn("forgetting node '{}': silent for {} s", it->second.name,
                   static_cast<int>(ToSeconds(now - it->second.last_heard)));
      cohort_.erase(it->first);
      it = nodes_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<Outgoing> RoundLoop::CheckDeadlines() {
  if (phase_ == Phase::kDone) return {};
  ForgetSilentNodes();
  if (clock_.Now() < deadline_) return {};
  if (phase_ == Phase::kJoining) {
    if (nodes_.size() < config_.min_nodes) {
      return Fail(DeadlineExceededError(
          "only " + std::to_string(nodes_.size()) + " node(s) joined within " +
          std::to_string(static_cast<int>(ToSeconds(config_.join_timeout))) + " s; the run needs " +
          std::to_string(config_.min_nodes)));
    }
    spdlog::info("join deadline reached with {} node(s); starting", nodes_.size());
    return StartRound();
  }
  if (phase_ == Phase::kTraining && secure_) {
    std::vector<Outgoing> out;
    secure_->OnDeadline(out);
    return AfterSecureStep(std::move(out));
  }
  const std::set<protocol::PeerId> late = pending_;
  for (const protocol::PeerId& peer : late) {
    Drop(peer, "missed the " + std::to_string(static_cast<int>(ToSeconds(config_.round_timeout))) +
                   " s deadline");
  }
  return phase_ == Phase::kTraining ? FinishTraining() : FinishEvaluation();
}

void RoundLoop::Drop(const protocol::PeerId& peer, const std::string& why) {
  spdlog::warn("round {}: dropping node '{}': {}", round_, NameOf(peer), why);
  current_.dropped.push_back(NameOf(peer));
  pending_.erase(peer);
  cohort_.erase(peer);
}

std::vector<Outgoing> RoundLoop::Broadcast(protocol::Body body) {
  std::vector<Outgoing> out;
  auto shared = std::make_shared<const protocol::Envelope>(MakeEnvelope(std::move(body)));
  for (const protocol::PeerId& peer : cohort_) out.push_back({peer, shared});
  pending_ = cohort_;
  deadline_ = clock_.Now() + config_.round_timeout;
  return out;
}

std::vector<Outgoing> RoundLoop::StartRound() {
  round_ += 1;  // every attempt gets a fresh number, so nothing of a failed attempt is taken for this one
  phase_ = Phase::kTraining;
  round_started_ = clock_.Now();
  current_ = RoundRecord{};
  current_.round = static_cast<uint32_t>(records_.size()) + 1;
  cohort_.clear();
  for (const auto& [peer, node] : nodes_) cohort_.insert(peer);
  updates_.emplace(global_.size());
  loss_sum_ = 0;
  secure_.reset();
  if (!config_.secagg.enabled) return Broadcast(protocol::TrainRequest{WireModel(), config_.train, global_});
  std::vector<SecureCohortMember> members;
  for (const protocol::PeerId& peer : cohort_) {
    const Node& node = nodes_.at(peer);
    members.push_back({peer, node.name, node.signing_key});
  }
  std::vector<Outgoing> out;
  auto secure = SecureRound::Start(config_, round_, std::move(members), global_, out);
  if (!secure.ok()) return Fail(secure.status().WithContext("round " + std::to_string(round_)));
  secure_ = std::move(secure).value();
  secure_drops_seen_ = 0;
  pending_ = cohort_;  // busy nodes are never forgotten as silent
  deadline_ = clock_.Now() + config_.round_timeout;
  return out;
}

std::vector<Outgoing> RoundLoop::AfterSecureStep(std::vector<Outgoing> out) {
  const auto& dropped = secure_->dropped();
  for (; secure_drops_seen_ < dropped.size(); ++secure_drops_seen_) {
    const auto& [name, why] = dropped[secure_drops_seen_];
    spdlog::warn("round {}: dropping node '{}': {}", round_, name, why);
    current_.dropped.push_back(name);
    for (auto it = cohort_.begin(); it != cohort_.end(); ++it) {
      if (NameOf(*it) == name) {
        cohort_.erase(it);  // not asked to evaluate either
        break;
      }
    }
  }
  if (secure_->TakeStageChanged()) deadline_ = clock_.Now() + config_.round_timeout;
  if (!secure_->finished()) return out;
  const StatusOr<aggregation::UpdateSum>& outcome = secure_->outcome();
  if (!outcome.ok()) {
    const Status why = outcome.status().WithContext("round " + std::to_string(current_.round) +
                                                    ": secure aggregation");
    secure_.reset();
    // Too few nodes left for this attempt: the plan allows a few more before the run fails.
    if (why.code() == StatusCode::kFailedPrecondition && ++failed_attempts_ < config_.secagg.max_attempts) {
      spdlog::warn("{}; trying again ({} of {} attempts)", why.message(), failed_attempts_ + 1,
                   config_.secagg.max_attempts);
      std::vector<std::string> dropped = std::move(current_.dropped);  // the record tells of every attempt
      std::vector<Outgoing> retry = StartRound();
      current_.dropped = std::move(dropped);
      out.insert(out.end(), retry.begin(), retry.end());
      return out;
    }
    return Fail(why);
  }
  failed_attempts_ = 0;
  const double loss_sum = secure_->loss_sum();
  const aggregation::UpdateSum sum = *outcome;
  secure_.reset();
  std::vector<Outgoing> next = FinishTraining(sum, loss_sum);
  out.insert(out.end(), next.begin(), next.end());
  return out;
}

std::vector<Outgoing> RoundLoop::FinishTraining() { return FinishTraining(updates_->sum(), loss_sum_); }

std::vector<Outgoing> RoundLoop::FinishTraining(const aggregation::UpdateSum& sum, double loss_sum) {
  if (static_cast<size_t>(sum.contributors) < config_.min_nodes) {
    return Fail(FailedPreconditionError("round " + std::to_string(round_) + ": only " +
                                        std::to_string(sum.contributors) + " update(s) arrived; the run needs " +
                                        std::to_string(config_.min_nodes)));
  }
  auto next = strategy_->NextModel(global_, sum);
  if (!next.ok()) return Fail(next.status().WithContext("round " + std::to_string(round_)));
  global_ = std::move(next).value();
  current_.nodes = static_cast<size_t>(sum.contributors);
  current_.train_loss = loss_sum / sum.total_weight;
  phase_ = Phase::kEvaluating;
  evaluation_ = models::SummableMetrics::Empty();
  return Broadcast(protocol::EvaluateRequest{WireModel(), global_});
}

std::vector<Outgoing> RoundLoop::FinishEvaluation() {
  if (auto auc = evaluation_.Auc(); auc.ok()) current_.auc = *auc;
  if (auto accuracy = evaluation_.Accuracy(); accuracy.ok()) current_.accuracy = *accuracy;
  if (auto log_loss = evaluation_.LogLoss(); log_loss.ok()) current_.log_loss = *log_loss;
  if (auto rmse = evaluation_.Rmse(); rmse.ok()) current_.rmse = *rmse;
  current_.evaluated = evaluation_.count;
  current_.seconds = ToSeconds(clock_.Now() - round_started_);
  records_.push_back(current_);
  if (listener_) listener_(current_);
  if (records_.size() >= config_.rounds) {
    phase_ = Phase::kDone;
    outcome_ = Status::Ok();
    return ShutdownAll("run complete after " + std::to_string(records_.size()) + " rounds");
  }
  if (stop_requested_by_) return EndOnRequest();
  return StartRound();
}

std::vector<Outgoing> RoundLoop::Fail(Status why) {
  spdlog::error("run failed: {}", why.message());
  phase_ = Phase::kDone;
  outcome_ = why;
  return ShutdownAll("run failed: " + why.message());
}

std::vector<Outgoing> RoundLoop::Stop(const std::string& reason) {
  if (phase_ == Phase::kDone) return {};
  phase_ = Phase::kDone;
  outcome_ = CancelledError(reason);
  return ShutdownAll(reason);
}

std::vector<Outgoing> RoundLoop::StopAfterRound(const std::string& by) {
  if (phase_ == Phase::kDone || stop_requested_by_) return {};
  stop_requested_by_ = by;
  spdlog::info("admin '{}' asked to stop the run; it ends after {}", by,
               phase_ == Phase::kJoining ? std::string("no round (none has started)")
                                         : "round " + std::to_string(current_.round));
  return phase_ == Phase::kJoining ? Sent(EndOnRequest()) : std::vector<Outgoing>{};
}

std::vector<Outgoing> RoundLoop::EndOnRequest() {
  phase_ = Phase::kDone;
  outcome_ = Status::Ok();
  stopped_by_ = stop_requested_by_;
  return ShutdownAll("run stopped by admin '" + *stopped_by_ + "' after " + std::to_string(records_.size()) + " of " +
                     std::to_string(config_.rounds) + " rounds");
}

RunSnapshot RoundLoop::Snapshot() const {
  RunSnapshot s;
  s.run_id = config_.run_id;
  s.model = config_.model.name;
  s.rounds_planned = config_.rounds;
  s.rounds_completed = records_.size();
  switch (phase_) {
    case Phase::kJoining: s.stage = "joining"; break;
    case Phase::kTraining: s.stage = "training"; break;
    case Phase::kEvaluating: s.stage = "evaluating"; break;
    case Phase::kDone: s.stage = "done"; break;
  }
  if (phase_ == Phase::kTraining || phase_ == Phase::kEvaluating) s.round = current_.round;
  const TimePoint now = clock_.Now();
  for (const auto& [peer, node] : nodes_) s.nodes.push_back({node.name, ToSeconds(now - node.last_heard)});
  std::sort(s.nodes.begin(), s.nodes.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  if (!records_.empty()) s.last_round = records_.back();
  s.stop_requested_by = stop_requested_by_;
  return s;
}

std::vector<Outgoing> RoundLoop::ShutdownAll(const std::string& reason) {
  std::vector<Outgoing> out;
  auto shared = std::make_shared<const protocol::Envelope>(MakeEnvelope(protocol::Shutdown{reason}));
  for (const auto& [peer, node] : nodes_) out.push_back({peer, shared});
  return out;
}

}  // namespace cartable::coordinator
