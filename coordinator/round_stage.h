#pragma once

// RoundStage: one stage of one attempt at a round, at the coordinator (training, plain or secure;
// then evaluation), as a sans-I/O state machine. The RoundLoop feeds it its cohort's messages, the
// deadline of its current step and the peers the transport could not reach; the stage appends what
// to send. A stage is a sequence of steps (one for a plain stage, five for SecAgg+): each step asks
// some members and closes when all have answered, are gone, or its deadline passed. Members that
// miss a step, fail, or send something unusable are dropped from the attempt and named with why.
// Messages from strangers, for another run or attempt, or for another step are ignored. One per
// stage; not thread safe.

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "coordinator/cohort.h"
#include "coordinator/outgoing.h"
#include "core/status.h"
#include "protocol/messages.h"

namespace cartable::coordinator {

struct DroppedMember {
  enum class Kind {
    kLate,      // missed a deadline, could not be reached, or reconnected: often passing
    kRefused,   // answered with an error (it refused the attempt)
    kUnusable,  // sent something the stage could not use
    kDeclined,  // its establishment's policy declines the run (protocol::kErrorDeclined)
  };
  protocol::PeerId peer;
  std::string name;
  std::string why;
  Kind kind = Kind::kLate;
};

class RoundStage {
 public:
  RoundStage(uint64_t run_id, uint32_t round, std::vector<CohortMember> members);
  virtual ~RoundStage() = default;

  void OnMessage(const protocol::PeerId& peer, const protocol::Envelope& envelope,
                 std::vector<Outgoing>& out);
  // The current step's deadline passed: drop who has not answered and close it.
  void OnDeadline(std::vector<Outgoing>& out);
  // The transport could not hand `peer` a message: it is dropped now, never waited on.
  void OnUnreachable(const protocol::PeerId& peer, const std::string& why,
                     std::vector<Outgoing>& out);

  bool finished() const { return finished_; }
  const std::vector<CohortMember>& members() const { return members_; }
  // Members dropped so far, in order.
  const std::vector<DroppedMember>& dropped() const { return dropped_; }
  // Members whose misbehaviour the coordinator checked for itself (a share that does not match its
  // commitment), by name, with why: they take no further part in the run.
  const std::vector<std::pair<std::string, std::string>>& proven() const { return proven_; }
  // Accusations that came with refusals (accuser, accused), by name.
  const std::vector<std::pair<std::string, std::string>>& disputes() const { return disputes_; }
  // True when `peer` has yet to answer the current step (it is busy, not silent).
  bool Awaits(const protocol::PeerId& peer) const;
  // True once after each call that opened a new step (the caller restarts the step's deadline).
  bool TakeStepChanged() { return std::exchange(step_changed_, false); }

 protected:
  // The member's answer to the current step; an error drops the member, with it as the reason.
  virtual Status Accept(uint32_t member, const protocol::Envelope& envelope) = 0;
  // Whether a message of this type answers the current step (others are stale or repeated).
  virtual bool AnswersStep(protocol::MessageType type) const = 0;
  // Every member asked has answered or is gone: ask the next step, or finish.
  virtual void CloseStep(std::vector<Outgoing>& out) = 0;
  virtual std::string StepName() const = 0;

  // Starts a step: `members` (not gone) are awaited. A subclass's factory calls Settle after its
  // first Ask.
  void Ask(std::span<const uint32_t> members);
  // Closes the current step at once if nobody is left to answer it.
  void Settle(std::vector<Outgoing>& out) { CloseIfAnswered(out); }
  void Drop(uint32_t member, const std::string& why, DroppedMember::Kind kind);
  // `reporter` says `accused` kept it from taking part (a bad share, a wrong signing key).
  void Dispute(uint32_t reporter, uint32_t accused);
  void Prove(const std::string& name, const std::string& why) { proven_.emplace_back(name, why); }
  void Finish();
  void Send(uint32_t member, protocol::Body body, std::vector<Outgoing>& out) const;
  // One envelope shared by every awaited member (a broadcast is encoded once).
  void SendToAwaited(protocol::Body body, std::vector<Outgoing>& out) const;
  bool gone(uint32_t member) const { return gone_.contains(member); }
  const std::set<uint32_t>& awaited() const { return awaited_; }
  uint64_t run_id() const { return run_id_; }
  uint32_t round() const { return round_; }

 private:
  void CloseIfAnswered(std::vector<Outgoing>& out);
  // The member behind `peer`, or members_.size() for a stranger; `name` likewise.
  uint32_t MemberOf(const protocol::PeerId& peer) const;
  uint32_t MemberNamed(const std::string& name) const;

  uint64_t run_id_;
  uint32_t round_;
  std::vector<CohortMember> members_;
  // Lookups by peer and by name: a cohort of thousands answers each step, one message at a time.
  std::unordered_map<protocol::PeerId, uint32_t> by_peer_;
  std::unordered_map<std::string, uint32_t> by_name_;
  std::set<uint32_t> awaited_;
  std::set<uint32_t> gone_;
  std::vector<DroppedMember> dropped_;
  std::vector<std::pair<std::string, std::string>> disputes_;
  std::vector<std::pair<std::string, std::string>> proven_;
  bool finished_ = false;
  bool step_changed_ = false;
};

}  // namespace cartable::coordinator
