#include "simulations/school_faults.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "core/number_text.h"
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
    : ForwardingTransport(std::move(inner)),
      plan_(plan),
      index_(school_index),
      school_(std::move(school)),
      stages_(std::move(stages)),
      log_(log) {}

Status DropoutTransport::Send(std::string_view frame) {
  auto header = protocol::DecodeHeader(frame, protocol::kDefaultMaxPayloadBytes);
  if (!header.ok() || header->type == protocol::MessageType::kHello ||
      header->type == protocol::MessageType::kHeartbeat || header->round == 0) {
    return inner().Send(frame);
  }
  if (silent_in_ == header->round) return Status::Ok();  // gone for the rest of the round
  const std::optional<Stage> drop_at = DropoutStage(plan_, index_, header->round, stages_);
  if (drop_at && *drop_at == header->stage) {
    silent_in_ = header->round;
    log_.Add({school_, header->round, 0, header->stage});
    return Status::Ok();
  }
  return inner().Send(frame);
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
    : ForwardingTransport(std::move(inner)),
      plan_(plan),
      index_(school_index),
      school_(std::move(school)),
      log_(log),
      clock_(clock) {}

Status StragglerTransport::SendDue() {
  const TimePoint now = clock_.Now();
  while (!held_.empty() && held_.front().due <= now) {
    Status sent = inner().Send(held_.front().frame);
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
    return inner().Send(frame);
  }
  while (!held_.empty() && held_.front().attempt < header->round) held_.pop_front();
  const Duration delay = StragglerDelay(plan_, index_, header->round);
  if (delay <= Duration::zero() && held_.empty()) return inner().Send(frame);
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
  return inner().Receive(timeout);
}

std::optional<std::pair<Stage, Duration>> CrashIn(const CrashPlan& plan, uint64_t school,
                                                  uint32_t attempt,
                                                  const std::vector<Stage>& stages) {
  // The dropout draw, from a seed of its own: a school's crashes are not its dropouts.
  const DropoutPlan when{plan.rate, std::nullopt, Mix(plan.seed ^ 0x6372617368ULL)};
  const std::optional<Stage> stage = DropoutStage(when, school, attempt, stages);
  if (!stage) return std::nullopt;
  const double u = Uniform(plan.seed, school, attempt, 5);
  const double seconds =
      -std::log(1 - u) * std::chrono::duration<double>(plan.mean_downtime).count();
  return std::pair{*stage,
                   std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds))};
}

CrashingSchool::CrashingSchool(std::unique_ptr<protocol::ClientTransport> inner, CrashPlan plan,
                               uint64_t school_index, std::string school, std::vector<Stage> stages,
                               CrashLog& log,
                               std::function<std::unique_ptr<node::NodeSession>()> restart,
                               const Clock& clock)
    : ForwardingTransport(std::move(inner)),
      plan_(plan),
      index_(school_index),
      school_(std::move(school)),
      stages_(std::move(stages)),
      log_(log),
      restart_(std::move(restart)),
      clock_(clock) {}

Status CrashingSchool::Send(std::string_view frame) {
  if (down_until_) return Status::Ok();  // a dead process sends nothing
  auto header = protocol::DecodeHeader(frame, protocol::kDefaultMaxPayloadBytes);
  if (!header.ok() || header->type == protocol::MessageType::kHello ||
      header->type == protocol::MessageType::kHeartbeat || header->round == 0 ||
      crashed_in_ == header->round) {
    return inner().Send(frame);
  }
  const auto crash = CrashIn(plan_, index_, header->round, stages_);
  if (!crash || crash->first != header->stage) return inner().Send(frame);
  crashed_in_ = header->round;
  down_until_ = clock_.Now() + crash->second;
  log_.Add({school_, header->round, 0, header->stage, crash->second});
  return Status::Ok();
}

StatusOr<std::optional<protocol::Frame>> CrashingSchool::Receive(Duration timeout) {
  if (down_until_) return std::optional<protocol::Frame>();
  return inner().Receive(timeout);
}

std::unique_ptr<node::NodeSession> CrashingSchool::Restarted(TimePoint now) {
  if (!down_until_ || now < *down_until_) return nullptr;
  down_until_.reset();
  // What reached the dead process is lost with it.
  for (;;) {
    auto lost = inner().Receive(Duration::zero());
    if (!lost.ok() || !lost->has_value()) break;
  }
  return restart_();
}

Status ParseAttack(const std::string& text, ByzantinePlan& plan) {
  using Attack = ByzantinePlan::Attack;
  if (text == "sign_flip") {
    plan.attack = Attack::kSignFlip;
    return Status::Ok();
  }
  const size_t colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  if (colon != std::string::npos && (kind == "scale" || kind == "noise")) {
    const std::string number = text.substr(colon + 1);
    size_t used = 0;
    double value = 0;
    try {
      value = std::stod(number, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == number.size() && !number.empty() && std::isfinite(value) &&
        (kind == "scale" || value >= 0)) {
      plan.attack = kind == "scale" ? Attack::kScale : Attack::kNoise;
      plan.strength = value;
      return Status::Ok();
    }
  }
  return InvalidArgumentError("no attack '" + text +
                              "' (known: sign_flip, scale:F with F a number, noise:SIGMA with "
                              "SIGMA ≥ 0)");
}

std::string AttackName(const ByzantinePlan& plan) {
  switch (plan.attack) {
    case ByzantinePlan::Attack::kSignFlip:
      return "sign_flip";
    case ByzantinePlan::Attack::kScale:
      return "scale:" + NumberText(plan.strength, 6);
    case ByzantinePlan::Attack::kNoise:
      return "noise:" + NumberText(plan.strength, 6);
  }
  return "unknown";
}

std::vector<bool> ByzantineSchools(const ByzantinePlan& plan, size_t schools) {
  std::vector<std::pair<double, size_t>> draws;
  for (size_t i = 0; i < schools; ++i) draws.emplace_back(Uniform(plan.seed, i, 0, 5), i);
  std::sort(draws.begin(), draws.end());
  const auto count = std::min(
      schools, static_cast<size_t>(std::llround(plan.fraction * static_cast<double>(schools))));
  std::vector<bool> byzantine(schools, false);
  for (size_t k = 0; k < count; ++k) byzantine[draws[k].second] = true;
  return byzantine;
}

std::vector<float> Tampered(const ByzantinePlan& plan, uint64_t school, uint32_t attempt,
                            std::vector<float> contribution) {
  if (contribution.size() < 3) return contribution;
  const size_t d = contribution.size() - 2;
  const double weight = contribution[d];
  const double bound = plan.value_range * weight;
  uint64_t state = Mix(Mix(Mix(plan.seed) ^ school) ^ attempt) ^ 6;
  for (size_t j = 0; j < d; ++j) {
    double value = contribution[j];
    switch (plan.attack) {
      case ByzantinePlan::Attack::kSignFlip:
        value = -value;
        break;
      case ByzantinePlan::Attack::kScale:
        value *= plan.strength;
        break;
      case ByzantinePlan::Attack::kNoise: {
        // Box–Muller from two uniforms of the school's own stream.
        state = Mix(state);
        const double u1 = (static_cast<double>(state >> 11) + 1) * 0x1.0p-53;  // (0, 1]
        state = Mix(state);
        const double u2 = static_cast<double>(state >> 11) * 0x1.0p-53;
        value += weight * plan.strength * std::sqrt(-2 * std::log(u1)) *
                 std::cos(2 * 3.14159265358979323846 * u2);
        break;
      }
    }
    contribution[j] = static_cast<float>(std::clamp(value, -bound, bound));
  }
  return contribution;
}

ByzantineTransport::ByzantineTransport(std::unique_ptr<protocol::ClientTransport> inner,
                                       ByzantinePlan plan, uint64_t school_index,
                                       std::atomic<size_t>& tampered)
    : ForwardingTransport(std::move(inner)),
      plan_(plan),
      index_(school_index),
      tampered_(tampered) {}

Status ByzantineTransport::Send(std::string_view frame) {
  auto header = protocol::DecodeHeader(frame, protocol::kDefaultMaxPayloadBytes);
  if (!header.ok() || header->type != protocol::MessageType::kTrainResult)
    return inner().Send(frame);
  auto envelope = protocol::Decode(frame);
  auto* result = envelope.ok() ? std::get_if<protocol::TrainResult>(&envelope->body) : nullptr;
  if (result == nullptr || result->contribution.size() < 3) return inner().Send(frame);
  result->contribution = Tampered(plan_, index_, envelope->round, std::move(result->contribution));
  tampered_ += 1;
  return inner().SendOwned(protocol::Encode(*envelope));
}

}  // namespace cartable::simulations
