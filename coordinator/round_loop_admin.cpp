// What researchers ask of a run through the admin desk: to stop it after the current round, and
// how it stands. The rest of RoundLoop is round_loop.cpp.

#include <spdlog/spdlog.h>

#include <algorithm>

#include "coordinator/round_loop.h"

namespace cartable::coordinator {

std::vector<Outgoing> RoundLoop::StopAfterRound(const std::string& by) {
  if (phase_ == Phase::kDone || stop_requested_by_) return {};
  stop_requested_by_ = by;
  if (phase_ == Phase::kJoining || phase_ == Phase::kWaiting) {
    spdlog::info("admin '{}' asked to stop the run; it ends now, while waiting for nodes", by);
    return Sent(EndOnRequest());
  }
  spdlog::info("admin '{}' asked to stop the run; it ends after round {}", by, current_.round);
  return {};
}

std::vector<Outgoing> RoundLoop::EndOnRequest() {
  phase_ = Phase::kDone;
  outcome_ = Status::Ok();
  stopped_by_ = stop_requested_by_;
  return ShutdownAll("run stopped by admin '" + *stopped_by_ + "' after " +
                     std::to_string(records_.size()) + " of " + std::to_string(config_.rounds) +
                     " rounds");
}

RunSnapshot RoundLoop::Snapshot() const {
  RunSnapshot s;
  s.run_id = config_.run_id;
  s.model = config_.model.name;
  s.rounds_planned = config_.rounds;
  s.rounds_completed = records_.size();
  switch (phase_) {
    case Phase::kJoining:
      s.stage = "joining";
      break;
    case Phase::kTraining:
      s.stage = "training";
      break;
    case Phase::kEvaluating:
      s.stage = "evaluating";
      break;
    case Phase::kPausing:
      s.stage = "retrying";
      break;
    case Phase::kWaiting:
      s.stage = "waiting for nodes";
      break;
    case Phase::kDone:
      s.stage = "done";
      break;
  }
  if (phase_ != Phase::kJoining && phase_ != Phase::kDone) s.round = current_.round;
  const TimePoint now = clock_.Now();
  for (const auto& [peer, node] : registry_.nodes())
    s.nodes.push_back({node.name, ToSeconds(now - node.last_heard)});
  std::sort(s.nodes.begin(), s.nodes.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  if (!records_.empty()) s.last_round = records_.back();
  s.stop_requested_by = stop_requested_by_;
  s.attempts_failed = attempts_failed_;
  s.declined = declined_;
  return s;
}

}  // namespace cartable::coordinator
