#include "protocol/faulty_transport.h"

#include <algorithm>

namespace cartable::protocol {
namespace internal {

Status FaultInjector::Submit(const PeerId& peer, std::string_view frame, const SendFn& send) {
  counts_.frames += 1;
  // Frames held "until the next frame" go out right after this one: that is the reordering.
  std::vector<Held> after_this;
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->until_next_frame) {
      after_this.push_back(std::move(*it));
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
  std::string bytes(frame);
  Status status;
  if (Happens(plan_.drop)) {
    counts_.dropped += 1;
  } else {
    if (!bytes.empty() && Happens(plan_.corrupt)) {
      counts_.corrupted += 1;
      std::uniform_int_distribution<size_t> position(0, bytes.size() - 1);
      std::uniform_int_distribution<int> bit(0, 7);
      bytes[position(rng_)] ^= static_cast<char>(1 << bit(rng_));
    }
    const int copies = Happens(plan_.duplicate) ? 2 : 1;
    if (copies == 2) counts_.duplicated += 1;
    for (int c = 0; c < copies; ++c) {
      if (Happens(plan_.reorder)) {
        counts_.reordered += 1;
        held_.push_back({clock_.Now(), true, peer, bytes});
      } else if (Happens(plan_.delay)) {
        counts_.delayed += 1;
        std::uniform_int_distribution<Duration::rep> wait(0, plan_.max_delay.count());
        held_.push_back({clock_.Now() + Duration(wait(rng_)), false, peer, bytes});
      } else {
        Status sent = send(peer, bytes);
        if (status.ok()) status = sent;
      }
    }
  }
  for (const Held& h : after_this) send(h.peer, h.frame).IgnoreError();  // lost like any late frame
  CARTABLE_RETURN_IF_ERROR(ReleaseDue(send));
  return status;
}

Status FaultInjector::ReleaseDue(const SendFn& send) {
  const TimePoint now = clock_.Now();
  std::vector<Held> due;
  for (auto it = held_.begin(); it != held_.end();) {
    if (!it->until_next_frame && it->due <= now) {
      due.push_back(std::move(*it));
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
  for (const Held& h : due) send(h.peer, h.frame).IgnoreError();
  return Status::Ok();
}

}  // namespace internal

namespace {

// Receives in short slices so that delayed frames leave on time while the caller waits.
template <typename Inner>
auto ReceiveReleasingDue(Inner& inner, internal::FaultInjector& faults,
                         const internal::FaultInjector::SendFn& send, const Clock& clock,
                         Duration timeout) -> decltype(inner.Receive(timeout)) {
  constexpr Duration kSlice = std::chrono::milliseconds(10);
  const TimePoint end = clock.Now() + timeout;
  while (true) {
    CARTABLE_RETURN_IF_ERROR(faults.ReleaseDue(send));
    const Duration left = end - clock.Now();
    CARTABLE_ASSIGN_OR_RETURN(auto got, inner.Receive(std::clamp(left, Duration(0), kSlice)));
    if (got || clock.Now() >= end) return got;
  }
}

}  // namespace

FaultyServerTransport::FaultyServerTransport(std::unique_ptr<ServerTransport> inner,
                                             const FaultPlan& plan, const Clock& clock)
    : inner_(std::move(inner)), faults_(plan, clock), clock_(clock) {
  send_ = [this](const PeerId& peer, std::string_view frame) { return inner_->Send(peer, frame); };
}

Status FaultyServerTransport::Send(const PeerId& peer, std::string_view frame) {
  return faults_.Submit(peer, frame, send_);
}

Status FaultyServerTransport::SendShared(const PeerId& peer,
                                         std::shared_ptr<const std::string> frame) {
  if (!faults_.Transparent()) return faults_.Submit(peer, *frame, send_);
  faults_.Passed();
  return inner_->SendShared(peer, std::move(frame));
}

StatusOr<std::optional<Delivery>> FaultyServerTransport::Receive(Duration timeout) {
  return ReceiveReleasingDue(*inner_, faults_, send_, clock_, timeout);
}

FaultyClientTransport::FaultyClientTransport(std::unique_ptr<ClientTransport> inner,
                                             const FaultPlan& plan, const Clock& clock)
    : inner_(std::move(inner)), faults_(plan, clock), clock_(clock) {
  send_ = [this](const PeerId&, std::string_view frame) { return inner_->Send(frame); };
}

Status FaultyClientTransport::Send(std::string_view frame) {
  return faults_.Submit("", frame, send_);
}

StatusOr<std::optional<Frame>> FaultyClientTransport::Receive(Duration timeout) {
  return ReceiveReleasingDue(*inner_, faults_, send_, clock_, timeout);
}

}  // namespace cartable::protocol
