#include "protocol/internal/pending_handshakes.h"

#include <algorithm>

namespace cartable::protocol::internal {

void PendingHandshakes::Accepted(Connection connection, TimePoint now) {
  Ended(connection.fd);  // a descriptor accepted again was closed: its end went unreported
  const uint64_t order = next_order_++;
  const int fd = connection.fd;
  by_fd_[fd] = Entry{std::move(connection), order, now};
  by_age_[order] = fd;
}

void PendingHandshakes::Ended(int fd) {
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return;
  by_age_.erase(it->second.order);
  by_fd_.erase(it);
}

std::vector<PendingHandshakes::Connection> PendingHandshakes::TakeVictims(TimePoint now,
                                                                          const StateOf& state) {
  for (auto it = by_age_.begin(); it != by_age_.end();) {
    const Entry& entry = by_fd_.at(it->second);
    if (now - entry.since > forget_after_ ||
        state(entry.connection) != ConnectionState::kHandshaking) {
      by_fd_.erase(it->second);
      it = by_age_.erase(it);
    } else {
      ++it;
    }
  }
  size_t count = by_age_.size() > max_pending_ ? by_age_.size() - max_pending_ : 0;
  if (out_of_descriptors_) count = std::max(count, std::max<size_t>(1, by_age_.size() / 4));
  out_of_descriptors_ = false;
  std::vector<Connection> victims;
  while (count-- > 0 && !by_age_.empty()) {
    auto oldest = by_age_.begin();
    auto entry = by_fd_.find(oldest->second);
    victims.push_back(std::move(entry->second.connection));
    by_fd_.erase(entry);
    by_age_.erase(oldest);
  }
  return victims;
}

}  // namespace cartable::protocol::internal
