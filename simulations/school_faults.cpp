#include "simulations/school_faults.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "protocol/codec.h"

namespace cartable::simulations {
namespace {

using protocol::Stage;

constexpr std::array<std::pair<const char*, Stage>, 6> kStageNames = {{
    {"train", Stage::kTrain},
    {"advertise", Stage::kAdvertiseKeys},
    {"share", Stage::kShareKeys},
    {"masked", Stage::kMaskedInput},
    {"consistency", Stage::kConsistencyCheck},
    {"unmask", Stage::kUnmask},
}};

// SplitMix64's finaliser: a well-mixed 64-bit value from any input.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A uniform draw in [0, 1) for (seed, school, attempt, purpose).
double Uniform(uint64_t seed, uint64_t school, uint32_t attempt, uint64_t purpose) {
  const uint64_t h = Mix(Mix(Mix(Mix(seed) ^ school) ^ attempt) ^ purpose);
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

}  // namespace

StatusOr<std::optional<Stage>> DropoutStageNamed(const std::string& name) {
  if (name == "any") return std::optional<Stage>();
  for (const auto& [text, stage] : kStageNames) {
    if (name == text) return std::optional<Stage>(stage);
  }
  return InvalidArgumentError("no dropout stage '" + name +
                              "' (known: any, train, advertise, share, masked, consistency, "
                              "unmask)");
}

std::string DropoutStageName(std::optional<Stage> stage) {
  if (!stage) return "any";
  for (const auto& [text, s] : kStageNames) {
    if (s == *stage) return text;
  }
  return "stage " + std::to_string(static_cast<int>(*stage));
}

std::optional<Stage> DropoutStage(const DropoutPlan& plan, uint64_t school, uint32_t attempt,
                                  const std::vector<Stage>& stages) {
  if (Uniform(plan.seed, school, attempt, 1) >= plan.rate) return std::nullopt;
  if (plan.stage) return plan.stage;
  if (stages.empty()) return std::nullopt;
  const auto pick = static_cast<size_t>(Uniform(plan.seed, school, attempt, 2) *
                                        static_cast<double>(stages.size()));
  return stages[std::min(pick, stages.size() - 1)];
}

DropoutTransport::DropoutTransport(std::unique_ptr<protocol::ClientTransport> inner,
                                   DropoutPlan plan, uint64_t school_index, std::string school,
                                   std::vector<Stage> stages, DropoutLog& log)
    : inner_(std::move(inner)),
      plan_(plan),
      index_(school_index),
      school_(std::move(school)),
      stages_(std::move(stages)),
      log_(log) {}

Status DropoutTransport::Send(std::string_view frame) {
  auto header = protocol::DecodeHeader(frame, protocol::kDefaultMaxPayloadBytes);
  if (!header.ok() || header->type == protocol::MessageType::kHello ||
      header->type == protocol::MessageType::kHeartbeat || header->round == 0) {
    return inner_->Send(frame);
  }
  if (silent_in_ == header->round) return Status::Ok();  // gone for the rest of the round
  const std::optional<Stage> drop_at = DropoutStage(plan_, index_, header->round, stages_);
  if (drop_at && *drop_at == header->stage) {
    silent_in_ = header->round;
    log_.Add({school_, header->round, 0, header->stage});
    return Status::Ok();
  }
  return inner_->Send(frame);
}

Duration StragglerDelay(const StragglerPlan& plan, uint64_t school, uint32_t attempt) {
  if (Uniform(plan.seed, school, attempt, 3) >= plan.rate) return Duration::zero();
  // Exponential of the given mean; 1 − u lies in (0, 1], so the logarithm is finite.
  const double u = Uniform(plan.seed, school, attempt, 4);
  const double seconds = -std::log(1 - u) * std::chrono::duration<double>(plan.mean_delay).count();
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

StragglerTransport::StragglerTransport(std::unique_ptr<protocol::ClientTransport> inner,
                                       StragglerPlan plan, uint64_t school_index,
                                       std::string school, DelayLog& log, const Clock& clock)
    : inner_(std::move(inner)),
      plan_(plan),
      index_(school_index),
      school_(std::move(school)),
      log_(log),
      clock_(clock) {}

Status StragglerTransport::SendDue() {
  const TimePoint now = clock_.Now();
  while (!held_.empty() && held_.front().due <= now) {
    Status sent = inner_->Send(held_.front().frame);
    held_.pop_front();
    if (!sent.ok()) return sent;
  }
  return Status::Ok();
}

Status StragglerTransport::Send(std::string_view frame) {
  CARTABLE_RETURN_IF_ERROR(SendDue());
  auto header = protocol::DecodeHeader(frame, protocol::kDefaultMaxPayloadBytes);
  if (!header.ok() || header->type == protocol::MessageType::kHello ||
      header->type == protocol::MessageType::kHeartbeat || header->round == 0) {
    return inner_->Send(frame);
  }
  while (!held_.empty() && held_.front().attempt < header->round) held_.pop_front();
  const Duration delay = StragglerDelay(plan_, index_, header->round);
  if (delay <= Duration::zero() && held_.empty()) return inner_->Send(frame);
  if (delay > Duration::zero() && logged_ != header->round) {
    logged_ = header->round;
    log_.Add({school_, header->round, 0, delay});
  }
  held_.push_back({clock_.Now() + delay, header->round, std::string(frame)});
  return SendDue();
}

StatusOr<std::optional<protocol::Frame>> StragglerTransport::Receive(Duration timeout) {
  CARTABLE_RETURN_IF_ERROR(SendDue());
  if (!held_.empty()) {
    timeout = std::min(timeout, std::max(Duration::zero(), held_.front().due - clock_.Now()));
  }
  return inner_->Receive(timeout);
}

}  // namespace cartable::simulations
