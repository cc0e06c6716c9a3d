#pragma once

// Fault-injecting transports: wrap any transport and, on the frames it sends, drop, duplicate,
// delay, reorder or corrupt some, at seeded random — the pains of real school networks,
// reproducible in a test. Receiving is untouched (wrap the other side to disturb that direction).
// Not thread safe, like the transports they wrap.

#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "core/clock.h"
#include "protocol/transport.h"

namespace cartable::protocol {

struct FaultPlan {
  double drop = 0;       // probability that a frame is lost
  double duplicate = 0;  // ... sent twice
  double delay = 0;      // ... held for up to max_delay
  double reorder = 0;    // ... held until after the next frame
  double corrupt = 0;    // ... has one byte flipped
  Duration max_delay = std::chrono::milliseconds(200);
  uint64_t seed = 1;
};

struct FaultCounts {
  uint64_t frames = 0, dropped = 0, duplicated = 0, delayed = 0, reordered = 0, corrupted = 0;
};

namespace internal {

// The shared decision logic; `send` delivers one frame to a peer (the peer is ignored by clients).
class FaultInjector {
 public:
  using SendFn = std::function<Status(const PeerId&, std::string_view)>;
  FaultInjector(const FaultPlan& plan, const Clock& clock)
      : plan_(plan), clock_(clock), rng_(plan.seed) {}
  Status Submit(const PeerId& peer, std::string_view frame, const SendFn& send);
  Status ReleaseDue(const SendFn& send);
  const FaultCounts& counts() const { return counts_; }
  // True when the plan injects nothing and nothing is held: a frame may pass untouched (and
  // uncopied), counted by Passed.
  bool Transparent() const {
    return plan_.drop == 0 && plan_.duplicate == 0 && plan_.delay == 0 && plan_.reorder == 0 &&
           plan_.corrupt == 0 && held_.empty();
  }
  void Passed() { counts_.frames += 1; }

 private:
  struct Held {
    TimePoint due;
    bool until_next_frame;
    PeerId peer;
    std::string frame;
  };
  bool Happens(double probability) { return std::bernoulli_distribution(probability)(rng_); }

  FaultPlan plan_;
  const Clock& clock_;
  std::mt19937_64 rng_;
  std::vector<Held> held_;
  FaultCounts counts_;
};

}  // namespace internal

class FaultyServerTransport final : public ServerTransport {
 public:
  FaultyServerTransport(std::unique_ptr<ServerTransport> inner, const FaultPlan& plan,
                        const Clock& clock = SystemClock::Get());
  Status Send(const PeerId& peer, std::string_view frame) override;
  // Shared with the inner transport when no fault is planned: a broadcast to thousands of nodes
  // stays one frame.
  Status SendShared(const PeerId& peer, std::shared_ptr<const std::string> frame) override;
  StatusOr<std::optional<Delivery>> Receive(Duration timeout) override;
  std::string endpoint() const override { return inner_->endpoint(); }
  const FaultCounts& counts() const { return faults_.counts(); }

 private:
  std::unique_ptr<ServerTransport> inner_;
  internal::FaultInjector faults_;
  internal::FaultInjector::SendFn send_;
  const Clock& clock_;
};

class FaultyClientTransport final : public ClientTransport {
 public:
  FaultyClientTransport(std::unique_ptr<ClientTransport> inner, const FaultPlan& plan,
                        const Clock& clock = SystemClock::Get());
  Status Send(std::string_view frame) override;
  StatusOr<std::optional<Frame>> Receive(Duration timeout) override;
  const FaultCounts& counts() const { return faults_.counts(); }

 private:
  std::unique_ptr<ClientTransport> inner_;
  internal::FaultInjector faults_;
  internal::FaultInjector::SendFn send_;
  const Clock& clock_;
};

}  // namespace cartable::protocol
