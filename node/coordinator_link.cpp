#include "node/coordinator_link.h"

#include <algorithm>

namespace cartable::node {

CoordinatorLink::CoordinatorLink(const CoordinatorLinkOptions& options, TimePoint now)
    : options_(options),
      last_heard_(now),
      last_sent_(now),
      last_hello_(now),
      listening_since_(now) {}

void CoordinatorLink::Heard(TimePoint at) {
  last_heard_ = std::max(last_heard_, at);
  if (at >= last_hello_)
    heard_since_hello_ = true;  // what arrived before a Hello does not answer it
}

void CoordinatorLink::Sent(TimePoint at) { last_sent_ = std::max(last_sent_, at); }

void CoordinatorLink::SaidHello(TimePoint at) {
  Sent(at);
  last_hello_ = at;
  heard_since_hello_ = false;
}

void CoordinatorLink::ResumedListening(TimePoint at) {
  listening_since_ = std::max(listening_since_, at);
}

Duration CoordinatorLink::silence(TimePoint now) const {
  return now - std::max(last_heard_, listening_since_);
}

CoordinatorLink::Action CoordinatorLink::Next(TimePoint now) {
  const Duration quiet = silence(now);
  if (quiet >= options_.idle_timeout) return Action::kGiveUp;
  if (!heard_since_hello_) {
    return now - last_hello_ >= options_.hello_interval ? Action::kSayHello : Action::kWait;
  }
  // Only a coordinator that has spoken since the last Hello can fall silent; a rejoin waits for it
  // as the first Hello did.
  if (quiet >= gone_after()) return Action::kRejoin;
  if (now - last_sent_ >= options_.heartbeat_interval) return Action::kSendHeartbeat;
  return Action::kWait;
}

}  // namespace cartable::node
