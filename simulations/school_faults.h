#pragma once

// Faults of schools, for dropout and straggler studies: schools that drop out of a round part way
// through, and schools that are slow.
//
// Dropouts. In each attempt at a
// round, each school drops with probability `rate`; one that drops goes silent at its first message
// of the chosen stage of that attempt (training, or one of secure aggregation's: advertise, share,
// masked, consistency, unmask) and sends nothing more in that attempt but Hellos and Heartbeats, as
// a school whose connection failed mid-round and came back. The coordinator meets it as the
// deployment would: a deadline missed, the school dropped from the round, secure aggregation
// recovering its masks from its neighbours' shares when it dropped after sharing them.
//
// Stragglers. In each attempt, each school is slow with probability `rate`: everything it sends in
// that attempt (but Hellos and Heartbeats) leaves late by a delay drawn from an exponential law of
// mean `mean_delay`, as from a school whose machine or link is slow. Against the stage deadline, a
// short delay costs time and a long one a dropped school.
//
// Crashes. In each attempt, each school crashes with probability `rate`, at its first message of
// a stage drawn as for dropouts: its process dies, losing every secret of the round, sends nothing
// (not even Heartbeats) and hears nothing until it restarts, after a downtime drawn from an
// exponential law of mean `mean_downtime`. It then comes back as a node agent started again: a
// fresh session on the same data and keys, which says Hello and, as the deployment's coordinator
// lets a school that restarts, takes part from the next round on. What it sent before it crashed
// and a slow link still holds (a straggler's frames) still arrives, as frames in flight do.
//
// Byzantine schools. A fixed share of the schools (the same in every round) tampers with the plain
// update it sends (TrainResult): it flips the delta's sign, scales it, or adds Gaussian noise,
// keeping every value within what the coordinator's checks admit (±r·ω, r the plan's value range),
// so only the strategy can resist it. For studies of the robust strategies, which rank updates one
// by one and so run without secure aggregation.
//
// Who drops, straggles or crashes, where and by how much, is a pure function of (seed, school,
// attempt), so a simulation with the same seed draws the same faults whatever the threads. Whether
// a straggler's delay beats its deadline, or a crashed school is back before the next round's
// cohort is picked, depends on the clock, though, and with it who is dropped, which attempts are
// retried and the metrics: runs with stragglers or crashes are not repeatable bit for bit.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "node/node_pool.h"
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

// Where a simulation's injected faults (InjectedDropout, InjectedDelay) are written down, from
// every school's thread.
template <typename Fault>
class FaultLog {
 public:
  void Add(Fault fault) {
    std::lock_guard lock(mutex_);
    faults_.push_back(std::move(fault));
  }
  // In order of attempt, then school.
  std::vector<Fault> Sorted() const {
    std::lock_guard lock(mutex_);
    std::vector<Fault> sorted = faults_;
    std::sort(sorted.begin(), sorted.end(), [](const Fault& a, const Fault& b) {
      return std::tie(a.attempt, a.school) < std::tie(b.attempt, b.school);
    });
    return sorted;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Fault> faults_;
};
using DropoutLog = FaultLog<InjectedDropout>;

// The stage at which `school` (its index) drops in attempt `attempt` under `plan`, or nullopt when
// it does not. `stages` are those the run goes through (the secure-aggregation stages with secure
// aggregation, training without), drawn from under `any`.
std::optional<protocol::Stage> DropoutStage(const DropoutPlan& plan, uint64_t school,
                                            uint32_t attempt,
                                            const std::vector<protocol::Stage>& stages);

// What the fault transports below share: everything passes to `inner` but what they override.
class ForwardingTransport : public protocol::ClientTransport {
 public:
  explicit ForwardingTransport(std::unique_ptr<protocol::ClientTransport> inner)
      : inner_(std::move(inner)) {}
  Status Send(std::string_view frame) override { return inner_->Send(frame); }
  StatusOr<std::optional<protocol::Frame>> Receive(Duration timeout) override {
    return inner_->Receive(timeout);
  }
  std::optional<TimePoint> last_activity() const override { return inner_->last_activity(); }

 protected:
  protocol::ClientTransport& inner() { return *inner_; }

 private:
  std::unique_ptr<protocol::ClientTransport> inner_;
};

// A school's connection that carries out `plan`: frames pass unchanged until the school drops in an
// attempt, then every frame of that attempt but Hello and Heartbeat is discarded (Send still
// succeeds, as a send into a failed network does). Receiving is untouched.
class DropoutTransport final : public ForwardingTransport {
 public:
  DropoutTransport(std::unique_ptr<protocol::ClientTransport> inner, DropoutPlan plan,
                   uint64_t school_index, std::string school, std::vector<protocol::Stage> stages,
                   DropoutLog& log);
  Status Send(std::string_view frame) override;

 private:
  DropoutPlan plan_;
  uint64_t index_;
  std::string school_;
  std::vector<protocol::Stage> stages_;
  DropoutLog& log_;
  std::optional<uint32_t> silent_in_;  // the attempt this school has gone silent in
};

struct StragglerPlan {
  double rate = 0;  // probability that a school is slow in an attempt, in [0, 1]
  Duration mean_delay = std::chrono::seconds(5);
  uint64_t seed = 1;
};

// How late `school` sends in attempt `attempt` under `plan`: zero when it is not a straggler.
Duration StragglerDelay(const StragglerPlan& plan, uint64_t school, uint32_t attempt);

// One straggler: who, in which attempt at which round, and by how much.
struct InjectedDelay {
  std::string school;
  uint32_t attempt = 0;
  uint32_t round = 0;  // 0 until known
  Duration delay{};
};

using DelayLog = FaultLog<InjectedDelay>;

struct CrashPlan {
  double rate = 0;  // probability that a school crashes in an attempt, in [0, 1]
  Duration mean_downtime = std::chrono::seconds(10);
  uint64_t seed = 1;
};

// One crash: who, in which attempt at which round, at which stage, and how long it stayed down.
struct InjectedCrash {
  std::string school;
  uint32_t attempt = 0;
  uint32_t round = 0;  // 0 until known
  protocol::Stage stage = protocol::Stage::kTrain;
  Duration downtime{};
};

using CrashLog = FaultLog<InjectedCrash>;

// The stage at which `school` crashes in `attempt` under `plan` (nullopt: it does not), and how
// long it then stays down.
std::optional<std::pair<protocol::Stage, Duration>> CrashIn(
    const CrashPlan& plan, uint64_t school, uint32_t attempt,
    const std::vector<protocol::Stage>& stages);

// A school's connection, and its life, under `plan`: frames pass unchanged until the school
// crashes; then the frame it was sending and everything after are lost, and every frame sent to it
// is thrown away, until its downtime has passed and the pool asks for it back (Restarted), which
// `restart` makes: a fresh session on the school's data and keys. At most one crash per attempt.
class CrashingSchool final : public ForwardingTransport, public node::Restartable {
 public:
  CrashingSchool(std::unique_ptr<protocol::ClientTransport> inner, CrashPlan plan,
                 uint64_t school_index, std::string school, std::vector<protocol::Stage> stages,
                 CrashLog& log, std::function<std::unique_ptr<node::NodeSession>()> restart,
                 const Clock& clock = SystemClock::Get());
  Status Send(std::string_view frame) override;
  StatusOr<std::optional<protocol::Frame>> Receive(Duration timeout) override;
  bool Down(TimePoint now) override { return down_until_ && now < *down_until_; }
  std::unique_ptr<node::NodeSession> Restarted(TimePoint now) override;

 private:
  CrashPlan plan_;
  uint64_t index_;
  std::string school_;
  std::vector<protocol::Stage> stages_;
  CrashLog& log_;
  std::function<std::unique_ptr<node::NodeSession>()> restart_;
  const Clock& clock_;
  std::optional<TimePoint> down_until_;  // set from a crash until the school is back
  std::optional<uint32_t> crashed_in_;   // the last attempt it crashed in
};

struct ByzantinePlan {
  enum class Attack { kSignFlip, kScale, kNoise };
  double fraction = 0;  // share of the schools that are Byzantine, in [0, 1]
  Attack attack = Attack::kSignFlip;
  double strength = 1;     // kScale: the factor; kNoise: the noise's standard deviation
  double value_range = 4;  // r: each tampered ωΔⱼ is kept within ±r·ω
  uint64_t seed = 1;
};

// "sign_flip", "scale:F" or "noise:SIGMA" (F and SIGMA finite, SIGMA ≥ 0).
Status ParseAttack(const std::string& text, ByzantinePlan& plan);
std::string AttackName(const ByzantinePlan& plan);

// Which of `schools` schools are Byzantine: round(fraction × schools) of them, drawn from the seed.
std::vector<bool> ByzantineSchools(const ByzantinePlan& plan, size_t schools);

// The contribution (exchange/contribution.h: ωΔ, ω, ω·loss) as `plan` tampers with it in
// `attempt`; contributions too short to hold a delta are returned as they are.
std::vector<float> Tampered(const ByzantinePlan& plan, uint64_t school, uint32_t attempt,
                            std::vector<float> contribution);

// A Byzantine school's connection: its TrainResult frames are re-encoded with a tampered
// contribution (counted in `tampered`); every other frame passes unchanged.
class ByzantineTransport final : public ForwardingTransport {
 public:
  ByzantineTransport(std::unique_ptr<protocol::ClientTransport> inner, ByzantinePlan plan,
                     uint64_t school_index, std::atomic<size_t>& tampered);
  Status Send(std::string_view frame) override;

 private:
  ByzantinePlan plan_;
  uint64_t index_;
  std::atomic<size_t>& tampered_;
};

// A school's connection that carries out `plan`: in an attempt where the school straggles, each
// frame but Hello and Heartbeat is held for the attempt's delay and sent on the first Send or
// Receive after it is due (a pool polls every member's Receive, so frames leave on time within a
// poll). Frames keep their order. Frames still held from an earlier attempt are discarded once the
// school sends in a later one: the coordinator would refuse them as stale, and a backlog would
// otherwise make the school late in attempts it is not slow in.
class StragglerTransport final : public ForwardingTransport {
 public:
  StragglerTransport(std::unique_ptr<protocol::ClientTransport> inner, StragglerPlan plan,
                     uint64_t school_index, std::string school, DelayLog& log,
                     const Clock& clock = SystemClock::Get());
  Status Send(std::string_view frame) override;
  StatusOr<std::optional<protocol::Frame>> Receive(Duration timeout) override;

 private:
  Status SendDue();

  struct Held {
    TimePoint due;
    uint32_t attempt;
    std::string frame;
  };
  StragglerPlan plan_;
  uint64_t index_;
  std::string school_;
  DelayLog& log_;
  const Clock& clock_;
  std::deque<Held> held_;
  std::optional<uint32_t> logged_;  // the last attempt whose delay was logged
};

}  // namespace cartable::simulations
