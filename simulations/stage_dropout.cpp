#include "simulations/stage_dropout.h"

#include <algorithm>
#include <array>
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

void DropoutLog::Add(InjectedDropout dropout) {
  std::lock_guard lock(mutex_);
  dropouts_.push_back(std::move(dropout));
}

std::vector<InjectedDropout> DropoutLog::Sorted() const {
  std::lock_guard lock(mutex_);
  std::vector<InjectedDropout> sorted = dropouts_;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return std::tie(a.attempt, a.school) < std::tie(b.attempt, b.school);
  });
  return sorted;
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

}  // namespace cartable::simulations
