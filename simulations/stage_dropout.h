#pragma once

// Schools that drop out of a round part way through, for dropout studies. In each attempt at a
// round, each school drops with probability `rate`; one that drops goes silent at its first message
// of the chosen stage of that attempt (training, or one of secure aggregation's: advertise, share,
// masked, consistency, unmask) and sends nothing more in that attempt but Hellos and Heartbeats, as
// a school whose connection failed mid-round and came back. The coordinator meets it as the
// deployment would: a deadline missed, the school dropped from the round, secure aggregation
// recovering its masks from its neighbours' shares when it dropped after sharing them.
//
// Who drops, and at which stage under `any`, is a pure function of (seed, school, attempt), so a
// simulation with the same seed drops the same schools at the same stages whatever the threads.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "protocol/messages.h"
#include "protocol/transport.h"

namespace cartable::simulations {

struct DropoutPlan {
  double rate = 0;  // probability that a school drops in a round, in [0, 1]
  // The stage it drops at; empty: any of `stages_of_run` at random.
  std::optional<protocol::Stage> stage;
  uint64_t seed = 1;
};

// "train", "advertise", "share", "masked", "consistency", "unmask", or "any" (nullopt).
StatusOr<std::optional<protocol::Stage>> DropoutStageNamed(const std::string& name);
std::string DropoutStageName(std::optional<protocol::Stage> stage);

// One injected dropout: who, in which attempt at which round, at which stage. Each attempt at a
// round has its own number on the wire (a failed attempt is retried under a new one), and the draw
// is per attempt: a school that dropped may drop again in the retry.
struct InjectedDropout {
  std::string school;
  uint32_t attempt = 0;  // the number on the wire, which the transport sees
  uint32_t round = 0;    // the round of the run it belongs to; 0 until known
  protocol::Stage stage = protocol::Stage::kTrain;
};

// Where a simulation's injected dropouts are written down, from every school's thread.
class DropoutLog {
 public:
  void Add(InjectedDropout dropout);
  // In order of attempt, then school.
  std::vector<InjectedDropout> Sorted() const;

 private:
  mutable std::mutex mutex_;
  std::vector<InjectedDropout> dropouts_;
};

// The stage at which `school` (its index) drops in attempt `attempt` under `plan`, or nullopt when
// it does not. `stages` are those the run goes through (the secure-aggregation stages with secure
// aggregation, training without), drawn from under `any`.
std::optional<protocol::Stage> DropoutStage(const DropoutPlan& plan, uint64_t school,
                                            uint32_t attempt,
                                            const std::vector<protocol::Stage>& stages);

// A school's connection that carries out `plan`: frames pass unchanged until the school drops in an
// attempt, then every frame of that attempt but Hello and Heartbeat is discarded (Send still
// succeeds, as a send into a failed network does). Receiving is untouched.
class DropoutTransport final : public protocol::ClientTransport {
 public:
  DropoutTransport(std::unique_ptr<protocol::ClientTransport> inner, DropoutPlan plan,
                   uint64_t school_index, std::string school, std::vector<protocol::Stage> stages,
                   DropoutLog& log);
  Status Send(std::string_view frame) override;
  StatusOr<std::optional<protocol::Frame>> Receive(Duration timeout) override {
    return inner_->Receive(timeout);
  }
  std::optional<TimePoint> last_activity() const override { return inner_->last_activity(); }

 private:
  std::unique_ptr<protocol::ClientTransport> inner_;
  DropoutPlan plan_;
  uint64_t index_;
  std::string school_;
  std::vector<protocol::Stage> stages_;
  DropoutLog& log_;
  std::optional<uint32_t> silent_in_;  // the attempt this school has gone silent in
};

}  // namespace cartable::simulations
