#include "coordinator/round_loop.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "coordinator/secure_training.h"
#include "core/printable.h"

namespace cartable::coordinator {
namespace {

// The name a round record counts a drop under.
const char* ReasonName(DroppedMember::Kind kind) {
  switch (kind) {
    case DroppedMember::Kind::kLate:
      return "late";
    case DroppedMember::Kind::kRefused:
      return "refused";
    case DroppedMember::Kind::kUnusable:
      return "unusable";
    case DroppedMember::Kind::kDeclined:
      return "declined";
  }
  return "late";
}

std::string Names(const std::vector<CohortMember>& members) {
  std::string out;
  for (const CohortMember& m : members) out += (out.empty() ? "" : ", ") + m.name;
  return out;
}

}  // namespace

StatusOr<std::unique_ptr<RoundLoop>> RoundLoop::Create(const RunConfig& config,
                                                       const Clock& clock) {
  CARTABLE_RETURN_IF_ERROR(CheckRunConfig(config));
  if (aggregation::NeedsIndividualUpdates(config.strategy) && config.secagg.enabled) {
    return InvalidArgumentError("strategy '" + config.strategy +
                                "' needs each node's own update, which secure aggregation exists "
                                "to hide; it runs only with secure aggregation off");
  }
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<aggregation::Strategy> strategy,
                            aggregation::CreateStrategy(aggregation::StrategyParameters{
                                config.strategy, config.strategy_options}));
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> model,
                            models::CreateModel(config.model));
  return std::unique_ptr<RoundLoop>(
      new RoundLoop(config, clock, std::move(strategy), model->GetParameters()));
}

StatusOr<std::unique_ptr<RoundLoop>> RoundLoop::Resume(const RunConfig& config, const Clock& clock,
                                                       const Checkpoint& checkpoint,
                                                       std::vector<RoundRecord> records) {
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<RoundLoop> loop, Create(config, clock));
  if (checkpoint.global_model.size() != loop->global_.size()) {
    return InvalidArgumentError(
        "checkpoint holds a model of " + std::to_string(checkpoint.global_model.size()) +
        " values; the plan's model has " + std::to_string(loop->global_.size()));
  }
  if (records.size() != checkpoint.rounds_completed || records.size() > config.rounds) {
    return InvalidArgumentError("checkpoint after round " +
                                std::to_string(checkpoint.rounds_completed) + " comes with " +
                                std::to_string(records.size()) + " round records, of a run of " +
                                std::to_string(config.rounds) + " rounds");
  }
  CARTABLE_RETURN_IF_ERROR(
      loop->strategy_->RestoreState(checkpoint.strategy_state, checkpoint.global_model.size())
          .WithContext("checkpoint"));
  loop->global_ = checkpoint.global_model;
  loop->records_ = std::move(records);
  loop->attempt_ = checkpoint.attempts;
  loop->checkpoint_ = checkpoint;
  // Killed after its last round was recorded, before it was reported ended: nothing is left to do.
  if (loop->records_.size() == config.rounds) loop->phase_ = Phase::kDone;
  return loop;
}

RoundLoop::RoundLoop(const RunConfig& config, const Clock& clock,
                     std::unique_ptr<aggregation::Strategy> strategy, std::vector<float> initial)
    : config_(config), clock_(clock), strategy_(std::move(strategy)), global_(std::move(initial)) {
  deadline_ = clock_.Now() + config_.join_timeout;
  checkpoint_.global_model = global_;
}

protocol::Envelope RoundLoop::MakeEnvelope(protocol::Body body) const {
  return protocol::Envelope{config_.run_id, attempt_, std::move(body)};
}

RoundStage* RoundLoop::stage() const {
  if (phase_ == Phase::kTraining) return training_.get();
  if (phase_ == Phase::kEvaluating) return evaluation_.get();
  return nullptr;
}

std::vector<Outgoing> RoundLoop::OnMessage(const protocol::PeerId& peer,
                                           const protocol::Envelope& envelope,
                                           const SenderIdentity& sender) {
  return Sent(HandleMessage(peer, envelope, sender));
}

std::vector<Outgoing> RoundLoop::OnTick() {
  const TimePoint now = clock_.Now();
  const bool sweep = now >= next_sweep_;
  if (sweep) {
    next_sweep_ = now + kSweepInterval;
    if (phase_ != Phase::kDone) ForgetSilentNodes();
  }
  std::vector<Outgoing> out = CheckDeadlines();
  if (sweep && phase_ != Phase::kDone) {
    std::shared_ptr<const protocol::Envelope> heartbeat;  // one envelope for all, encoded once
    for (const protocol::PeerId& peer :
         registry_.OwedHeartbeat(out, clock_.Now(), config_.heartbeat_interval)) {
      if (!heartbeat)
        heartbeat = std::make_shared<const protocol::Envelope>(MakeEnvelope(protocol::Heartbeat{}));
      out.push_back({peer, heartbeat});
    }
  }
  return Sent(std::move(out));
}

std::vector<Outgoing> RoundLoop::OnUnreachable(const protocol::PeerId& peer, const Status& why) {
  if (phase_ == Phase::kDone || !registry_.Contains(peer)) return {};
  std::vector<Outgoing> out;
  if (stage() != nullptr)
    stage()->OnUnreachable(peer, "could not be sent a message: " + why.message(), out);
  // A connection that is gone stays gone: the node, if it comes back, says Hello on a new one. A
  // node that is only not reading stays joined, and is dropped from each round it cannot keep up
  // with.
  if (why.code() == StatusCode::kUnavailable) registry_.Forget(peer);
  return Sent(AfterStageStep(std::move(out)));
}

std::vector<Outgoing> RoundLoop::Sent(std::vector<Outgoing> out) {
  registry_.Sent(out, clock_.Now());
  return out;
}

std::vector<Outgoing> RoundLoop::HandleMessage(const protocol::PeerId& peer,
                                               const protocol::Envelope& envelope,
                                               const SenderIdentity& sender) {
  if (phase_ == Phase::kDone) return {};
  if (const auto* hello = std::get_if<protocol::Hello>(&envelope.body))
    return OnHello(peer, *hello, sender);
  if (!registry_.Contains(peer)) {
    // A coordinator that restarted, or forgot a silent node, asks it to join again.
    spdlog::debug("a {} from a peer that has not joined; asking it to say hello",
                  protocol::MessageTypeName(protocol::TypeOf(envelope.body)));
    return {
        {peer,
         std::make_shared<const protocol::Envelope>(MakeEnvelope(protocol::ErrorReply{
             protocol::kErrorNotJoined, "this coordinator does not know you: say hello", {}}))}};
  }
  registry_.Heard(peer, clock_.Now());
  if (std::holds_alternative<protocol::Heartbeat>(envelope.body)) {
    return {
        {peer, std::make_shared<const protocol::Envelope>(MakeEnvelope(protocol::Heartbeat{}))}};
  }
  const bool current = envelope.run_id == config_.run_id && envelope.round == attempt_;
  if (const auto* error = std::get_if<protocol::ErrorReply>(&envelope.body); error && !current) {
    spdlog::warn("node '{}' reports: {}", registry_.NameOf(peer), Printable(error->message, 400));
    return {};
  }
  if (stage() == nullptr || !current) {
    spdlog::debug("ignoring a {} from {} (run {:016x}, round {})",
                  protocol::MessageTypeName(protocol::TypeOf(envelope.body)),
                  registry_.NameOf(peer), envelope.run_id, envelope.round);
    return {};
  }
  std::vector<Outgoing> out;
  stage()->OnMessage(peer, envelope, out);
  return AfterStageStep(std::move(out));
}

std::vector<Outgoing> RoundLoop::OnHello(const protocol::PeerId& peer, const protocol::Hello& hello,
                                         const SenderIdentity& sender) {
  const bool known = registry_.Contains(peer);
  auto joined = registry_.Join(peer, hello, sender, clock_.Now());
  if (!joined.ok()) {
    spdlog::warn("refusing a Hello as '{}': {}", Printable(hello.node_name),
                 joined.status().message());
    return {{peer, std::make_shared<const protocol::Envelope>(MakeEnvelope(
                       protocol::ErrorReply{static_cast<uint32_t>(StatusCode::kPermissionDenied),
                                            joined.status().message(),
                                            {}}))}};
  }
  std::vector<Outgoing> out;
  if (const std::optional<protocol::PeerId>& old = *joined) {
    spdlog::info("node '{}' reconnected; it takes part from the next round", hello.node_name);
    if (stage() != nullptr) stage()->OnUnreachable(*old, "reconnected mid-round", out);
    out = AfterStageStep(std::move(out));
  } else {
    spdlog::debug("node '{}' joined ({} connected)", hello.node_name, registry_.size());
  }
  if (!known && event_listener_) {
    event_listener_({.node = hello.node_name, .reconnected = joined->has_value()});
  }
  if (declined_.contains(hello.node_name)) {
    spdlog::info("node '{}' joined; it declined this run earlier and is asked nothing more",
                 hello.node_name);
  } else if (excluded_.contains(hello.node_name)) {
    spdlog::warn(
        "node '{}' joined, but it misbehaved earlier in this run and takes no further part",
        hello.node_name);
  }
  std::vector<Outgoing> start;
  if (phase_ == Phase::kJoining && config_.expected_nodes != 0 &&
      registry_.size() >= config_.expected_nodes) {
    start = StartRound();
  } else if (phase_ == Phase::kWaiting) {
    start = StartAttempt();
  }
  out.insert(out.end(), start.begin(), start.end());
  return out;
}

void RoundLoop::ForgetSilentNodes() {
  const RoundStage* busy = stage();
  for (const JoinedNode& node :
       registry_.ForgetSilent(clock_.Now(), config_.node_timeout,
                              [&](const protocol::PeerId& p) { return busy && busy->Awaits(p); })) {
    spdlog::warn("forgetting node '{}': silent for {} s", node.name,
                 static_cast<int>(ToSeconds(clock_.Now() - node.last_heard)));
  }
}

std::vector<Outgoing> RoundLoop::CheckDeadlines() {
  if (phase_ == Phase::kDone) return {};
  if (clock_.Now() < deadline_) return {};
  if (phase_ == Phase::kPausing) return StartAttempt();
  if (phase_ == Phase::kWaiting) {
    return Fail(
        DeadlineExceededError(shortage_.message() + ", still after waiting " +
                              std::to_string(static_cast<int>(ToSeconds(config_.join_timeout))) +
                              " s for nodes to join"));
  }
  if (phase_ == Phase::kJoining) {
    if (registry_.size() < config_.min_nodes) {
      return Fail(DeadlineExceededError(
          "only " + std::to_string(registry_.size()) + " node(s) joined within " +
          std::to_string(static_cast<int>(ToSeconds(config_.join_timeout))) + " s; the run needs " +
          std::to_string(config_.min_nodes)));
    }
    spdlog::info("join deadline reached with {} node(s); starting", registry_.size());
    return StartRound();
  }
  std::vector<Outgoing> out;
  stage()->OnDeadline(out);
  return AfterStageStep(std::move(out));
}

std::vector<Outgoing> RoundLoop::AfterStageStep(std::vector<Outgoing> out) {
  RoundStage* s = stage();
  if (s == nullptr) return out;
  for (; drops_recorded_ < s->dropped().size(); ++drops_recorded_) {
    const DroppedMember& d = s->dropped()[drops_recorded_];
    spdlog::warn("round {}: dropping node '{}': {}", current_.round, d.name, d.why);
    current_.dropped.push_back(d.name);
    current_.dropped_by_reason[ReasonName(d.kind)] += 1;
    if (d.kind == DroppedMember::Kind::kDeclined && excluded_.insert(d.name).second) {
      declined_[d.name] = d.why;
      current_.declined[d.name] = d.why;
      spdlog::warn("round {}: node '{}' takes no further part in this run: its establishment {}",
                   current_.round, d.name, d.why);
      if (event_listener_) {
        event_listener_({.kind = LoopEvent::Kind::kNodeDeclined, .node = d.name, .why = d.why});
      }
    }
  }
  if (s->TakeStepChanged()) deadline_ = clock_.Now() + config_.round_timeout;
  if (!s->finished()) return out;
  std::vector<Outgoing> next = phase_ == Phase::kTraining ? FinishTraining() : FinishEvaluation();
  out.insert(out.end(), next.begin(), next.end());
  return out;
}

std::vector<Outgoing> RoundLoop::StartRound() {
  failed_attempts_ = 0;
  sitting_out_.clear();
  round_started_ = clock_.Now();
  current_ = RoundRecord{};
  current_.round = static_cast<uint32_t>(records_.size()) + 1;
  return StartAttempt();
}

Status RoundLoop::EnoughToRun(const std::vector<CohortMember>& cohort) const {
  if (cohort.size() < config_.min_nodes) {
    return FailedPreconditionError("only " + std::to_string(cohort.size()) +
                                   " node(s) can take part (" + Names(cohort) +
                                   "); the run needs " + std::to_string(config_.min_nodes));
  }
  if (config_.secagg.enabled) {
    // A cohort that shrank below what secure aggregation can serve is short of nodes, like one
    // below min_nodes: more may join, so it is never a reason to end the run by itself.
    auto plan = PlanSecureRound(config_.secagg, static_cast<int>(cohort.size()));
    if (!plan.ok()) return FailedPreconditionError(plan.status().message());
  }
  return Status::Ok();
}

std::vector<Outgoing> RoundLoop::StartAttempt() {
  attempt_ += 1;  // a fresh number, so nothing of a failed attempt is taken for this one
  evaluation_.reset();
  training_.reset();
  drops_recorded_ = 0;
  // Too few nodes connected: wait for some to (re)join, up to the join timeout.
  if (Status enough = EnoughToRun(SelectCohort(registry_.Members(), excluded_)); !enough.ok()) {
    return WaitForNodes(enough);
  }
  // Members that failed an earlier attempt of this round sit it out, unless that leaves too few:
  // then they are asked again, since failing the round is the only other way.
  std::set<std::string> left_out = excluded_;
  left_out.insert(sitting_out_.begin(), sitting_out_.end());
  const Sampling sampling{config_.fraction, config_.min_nodes, config_.train.seed, current_.round};
  std::vector<CohortMember> cohort = SelectCohort(registry_.Members(), left_out, sampling);
  if (!sitting_out_.empty() && !EnoughToRun(cohort).ok()) {
    spdlog::info("round {}: too few nodes without those that failed an attempt; asking them again",
                 current_.round);
    sitting_out_.clear();
    cohort = SelectCohort(registry_.Members(), excluded_, sampling);
  }
  phase_ = Phase::kTraining;
  current_.connected = SelectCohort(registry_.Members(), excluded_).size();
  current_.asked = cohort.size();
  if (event_listener_) {
    LoopEvent started{
        .kind = LoopEvent::Kind::kAttemptStarted, .round = current_.round, .attempt = attempt_};
    for (const CohortMember& member : cohort) started.cohort.push_back(member.name);
    event_listener_(started);
  }
  std::vector<Outgoing> out;
  auto training = StartTraining(config_, attempt_, std::move(cohort), global_, out);
  if (!training.ok()) return RetryOrFail(training.status());
  training_ = std::move(training).value();
  deadline_ = clock_.Now() + config_.round_timeout;
  return AfterStageStep(std::move(out));
}

std::vector<Outgoing> RoundLoop::WaitForNodes(const Status& shortage) {
  shortage_ = shortage.WithContext("round " + std::to_string(current_.round));
  if (phase_ == Phase::kWaiting) return {};  // still short after a join: the first deadline holds
  phase_ = Phase::kWaiting;
  deadline_ = clock_.Now() + config_.join_timeout;
  spdlog::warn("{}; waiting up to {} s for nodes to join", shortage_.message(),
               static_cast<int>(ToSeconds(config_.join_timeout)));
  return {};
}

void RoundLoop::ExcludeProven(const RoundStage& stage) {
  for (const auto& [name, why] : stage.proven()) {
    if (excluded_.insert(name).second) {
      spdlog::warn("round {}: node '{}' takes no further part in this run: {}", current_.round,
                   name, why);
    }
  }
}

std::vector<Outgoing> RoundLoop::FinishTraining() {
  ExcludeProven(*training_);
  if (!training_->outcome().ok()) return RetryOrFail(training_->outcome().status());
  const exchange::SummedContributions& sum = *training_->outcome();
  if (static_cast<size_t>(sum.update.contributors) < config_.min_nodes) {
    return RetryOrFail(FailedPreconditionError("only " + std::to_string(sum.update.contributors) +
                                               " update(s) arrived; the run needs " +
                                               std::to_string(config_.min_nodes)));
  }
  // Create refused a strategy that ranks updates one by one under secure aggregation, and no
  // secure stage has the individual updates to give.
  CARTABLE_CHECK(!config_.secagg.enabled || sum.individual.empty());
  auto next = aggregation::NeedsIndividualUpdates(strategy_->name())
                  ? strategy_->NextModelFromUpdates(global_, sum.individual)
                  : strategy_->NextModel(global_, sum.update);
  // kFailedPrecondition (too few updates for Krum) is worth another attempt, as a short sum is.
  if (!next.ok()) return RetryOrFail(next.status());
  global_ = std::move(next).value();
  current_.nodes = static_cast<size_t>(sum.update.contributors);
  current_.train_loss = sum.loss_sum / sum.update.total_weight;
  failed_attempts_ = 0;
  std::set<std::string> gone;
  for (const DroppedMember& d : training_->dropped()) gone.insert(d.name);
  std::vector<CohortMember> cohort;
  for (const CohortMember& m : training_->members()) {
    if (!gone.contains(m.name) && !excluded_.contains(m.name)) cohort.push_back(m);
  }
  phase_ = Phase::kEvaluating;
  drops_recorded_ = 0;
  std::vector<Outgoing> out;
  // Fairness by subgroup in the last round only: one sum by subgroup per run, so no two can be told
  // apart by a school that joined or left between them.
  const bool last = records_.size() + 1 >= config_.rounds;
  evaluation_ = StartEvaluation(config_, attempt_, std::move(cohort), global_,
                                last ? config_.fairness : std::vector<models::Attribute>{}, out);
  deadline_ = clock_.Now() + config_.round_timeout;
  return AfterStageStep(std::move(out));
}

std::vector<Outgoing> RoundLoop::RetryOrFail(const Status& failure) {
  const Status why = failure.WithContext("round " + std::to_string(current_.round));
  attempts_failed_ += 1;
  if (why.code() != StatusCode::kFailedPrecondition || ++failed_attempts_ >= config_.max_attempts)
    return Fail(why);
  std::string without;
  if (training_ != nullptr) {
    AttemptFaults faults;
    for (const DroppedMember& d : training_->dropped()) {
      if (d.kind == DroppedMember::Kind::kUnusable) faults.dropped.insert(d.name);
    }
    for (const auto& [name, reason] : training_->proven()) faults.proven.insert(name);
    faults.disputes = training_->disputes();
    const std::vector<CohortMember> next = CohortForRetry(training_->members(), faults);
    for (const CohortMember& m : training_->members()) {
      if (std::none_of(next.begin(), next.end(),
                       [&](const CohortMember& n) { return n.name == m.name; })) {
        sitting_out_.insert(m.name);
        without += (without.empty() ? " without " : ", ") + m.name;
      }
    }
  }
  // A short pause lets nodes that restarted or lost their connection rejoin before the next cohort.
  const Duration pause = std::min<Duration>(config_.round_timeout, std::chrono::seconds(5));
  spdlog::warn("{}; trying again{} in {:g} s ({} of {} attempts)", why.message(), without,
               ToSeconds(pause), failed_attempts_ + 1, config_.max_attempts);
  phase_ = Phase::kPausing;
  training_.reset();
  deadline_ = clock_.Now() + pause;
  return {};
}

std::vector<Outgoing> RoundLoop::FinishEvaluation() {
  ExcludeProven(*evaluation_);
  if (const auto& outcome = evaluation_->outcome(); outcome.ok()) {
    const models::SummableMetrics& total = outcome->all.metrics;
    if (auto auc = total.Auc(); auc.ok()) current_.auc = *auc;
    if (auto bound = total.AucBinningBound(); bound.ok()) current_.auc_bound = *bound;
    if (auto ece = total.CalibrationError(); ece.ok()) current_.calibration_error = *ece;
    if (auto accuracy = total.Accuracy(); accuracy.ok()) current_.accuracy = *accuracy;
    if (auto log_loss = total.LogLoss(); log_loss.ok()) current_.log_loss = *log_loss;
    if (auto rmse = total.Rmse(); rmse.ok()) current_.rmse = *rmse;
    current_.evaluated = total.count;
    if (!outcome->subgroups.empty()) {
      current_.fairness =
          models::BuildFairnessTable(config_.fairness, *outcome, config_.min_group_pupils);
    }
  } else {
    const auto& total = outcome;
    spdlog::warn("round {}: no federation metrics: {}", current_.round, total.status().message());
  }
  current_.seconds = ToSeconds(clock_.Now() - round_started_);
  records_.push_back(current_);
  checkpoint_ =
      Checkpoint{static_cast<uint32_t>(records_.size()), attempt_, global_, strategy_->SaveState()};
  if (listener_) listener_(current_);
  if (records_.size() >= config_.rounds) {
    phase_ = Phase::kDone;
    outcome_ = Status::Ok();
    return ShutdownAll("run complete after " + std::to_string(records_.size()) + " rounds");
  }
  if (stop_requested_by_) return EndOnRequest();
  return StartRound();
}

std::vector<Outgoing> RoundLoop::Fail(const Status& why) {
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

std::vector<Outgoing> RoundLoop::ShutdownAll(const std::string& reason) {
  std::vector<Outgoing> out;
  auto shared =
      std::make_shared<const protocol::Envelope>(MakeEnvelope(protocol::Shutdown{reason}));
  for (const auto& [peer, node] : registry_.nodes()) out.push_back({peer, shared});
  return out;
}

}  // namespace cartable::coordinator
