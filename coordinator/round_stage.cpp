#include "coordinator/round_stage.h"

#include <memory>

#include "core/check.h"
#include "core/printable.h"

namespace cartable::coordinator {

RoundStage::RoundStage(uint64_t run_id, uint32_t round, std::vector<CohortMember> members)
    : run_id_(run_id), round_(round), members_(std::move(members)) {
  by_peer_.reserve(members_.size());
  by_name_.reserve(members_.size());
  for (uint32_t m = 0; m < members_.size(); ++m) {
    by_peer_.emplace(members_[m].peer, m);  // the first of a repeated peer or name, as a scan would
    by_name_.emplace(members_[m].name, m);
  }
}

uint32_t RoundStage::MemberOf(const protocol::PeerId& peer) const {
  auto it = by_peer_.find(peer);
  return it == by_peer_.end() ? static_cast<uint32_t>(members_.size()) : it->second;
}

uint32_t RoundStage::MemberNamed(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? static_cast<uint32_t>(members_.size()) : it->second;
}

bool RoundStage::Awaits(const protocol::PeerId& peer) const {
  return awaited_.contains(MemberOf(peer));
}

void RoundStage::OnMessage(const protocol::PeerId& peer, const protocol::Envelope& envelope,
                           std::vector<Outgoing>& out) {
  if (finished_ || envelope.run_id != run_id_ || envelope.round != round_) return;
  const uint32_t member = MemberOf(peer);
  if (member == members_.size() || gone_.contains(member)) return;
  if (const auto* error = std::get_if<protocol::ErrorReply>(&envelope.body)) {
    for (const std::string& accused : error->accused) {
      if (const uint32_t m = MemberNamed(accused); m < members_.size()) Dispute(member, m);
    }
    if (error->code == protocol::kErrorDeclined) {
      Drop(member, "declined the run: " + Printable(error->message, 400),
           DroppedMember::Kind::kDeclined);
    } else {
      Drop(member, "failed: " + Printable(error->message, 400), DroppedMember::Kind::kRefused);
    }
  } else {
    if (!awaited_.contains(member) || !AnswersStep(protocol::TypeOf(envelope.body)))
      return;  // stale, repeated
    if (Status accepted = Accept(member, envelope); !accepted.ok()) {
      Drop(member, "sent an unusable " + StepName() + " answer: " + accepted.message(),
           DroppedMember::Kind::kUnusable);
    } else {
      awaited_.erase(member);
    }
  }
  CloseIfAnswered(out);
}

void RoundStage::OnDeadline(std::vector<Outgoing>& out) {
  if (finished_) return;
  const std::set<uint32_t> late = awaited_;
  for (uint32_t member : late)
    Drop(member, "missed the deadline of " + StepName(), DroppedMember::Kind::kLate);
  CloseIfAnswered(out);
}

void RoundStage::OnUnreachable(const protocol::PeerId& peer, const std::string& why,
                               std::vector<Outgoing>& out) {
  if (finished_) return;
  const uint32_t member = MemberOf(peer);
  if (member < members_.size() && !gone_.contains(member)) {
    Drop(member, why, DroppedMember::Kind::kLate);
    CloseIfAnswered(out);
  }
}

void RoundStage::CloseIfAnswered(std::vector<Outgoing>& out) {
  // A step nobody is left to answer closes at once; every CloseStep opens the next step or
  // finishes, and no stage has more steps than this.
  for (int steps = 0; !finished_ && awaited_.empty(); ++steps) {
    CARTABLE_CHECK(steps < 16) << "a round stage that neither advances nor finishes";
    step_changed_ = true;
    CloseStep(out);
  }
}

void RoundStage::Ask(std::span<const uint32_t> members) {
  awaited_.clear();
  for (uint32_t member : members) {
    if (!gone_.contains(member)) awaited_.insert(member);
  }
}

void RoundStage::Drop(uint32_t member, const std::string& why, DroppedMember::Kind kind) {
  if (!gone_.insert(member).second) return;
  awaited_.erase(member);
  dropped_.push_back({members_[member].peer, members_[member].name, why, kind});
}

void RoundStage::Dispute(uint32_t reporter, uint32_t accused) {
  if (reporter == accused || reporter >= members_.size() || accused >= members_.size()) return;
  disputes_.emplace_back(members_[reporter].name, members_[accused].name);
}

void RoundStage::Finish() {
  finished_ = true;
  awaited_.clear();
}

void RoundStage::Send(uint32_t member, protocol::Body body, std::vector<Outgoing>& out) const {
  out.push_back({members_[member].peer, std::make_shared<const protocol::Envelope>(
                                            protocol::Envelope{run_id_, round_, std::move(body)})});
}

void RoundStage::SendToAwaited(protocol::Body body, std::vector<Outgoing>& out) const {
  auto shared = std::make_shared<const protocol::Envelope>(
      protocol::Envelope{run_id_, round_, std::move(body)});
  for (uint32_t member : awaited_) out.push_back({members_[member].peer, shared});
}

}  // namespace cartable::coordinator
