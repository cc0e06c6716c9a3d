#pragma once

// NodeRegistry: the nodes that have joined the coordinator, by the peer id of their connection: the
// name each is known by, its identity key, when it was last heard and last sent anything. It
// decides whether a Hello is accepted (an authenticated node must call itself by its allow-list
// name and present the identity key the allow-list holds for it, when it holds one; no two nodes
// share an identity key) and which nodes are owed a heartbeat or have fallen silent. Sans-I/O: time
// points come from the caller. Not thread safe.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/cohort.h"
#include "coordinator/outgoing.h"
#include "core/clock.h"
#include "core/status.h"
#include "protocol/messages.h"
#include "protocol/transport.h"

namespace cartable::coordinator {

struct JoinedNode {
  std::string name;
  protocol::PublicKeyBytes signing_key{};
  TimePoint last_heard;
  std::optional<TimePoint> last_sent;  // none yet: a heartbeat at the next tick tells it it joined
};

// Who sent a message, as the transport authenticated it.
struct SenderIdentity {
  std::string name;  // the allow-list name; empty without authentication
  std::optional<protocol::PublicKeyBytes>
      identity_key;  // the allow-list's identity key for that name
};

class NodeRegistry {
 public:
  // Accepts a Hello, or refuses it (kPermissionDenied, with a message for the node) when the name
  // is not the one the transport authenticated, the identity key is not the allow-list's, or
  // another joined node already presented that identity key. When the name was joined on another
  // connection (the node restarted), that connection is forgotten and its peer id returned.
  StatusOr<std::optional<protocol::PeerId>> Join(const protocol::PeerId& peer,
                                                 const protocol::Hello& hello,
                                                 const SenderIdentity& sender, TimePoint now);

  const JoinedNode* Find(const protocol::PeerId& peer) const;
  bool Contains(const protocol::PeerId& peer) const { return nodes_.contains(peer); }
  size_t size() const { return nodes_.size(); }
  // The name a peer joined under, or "an unknown peer".
  std::string NameOf(const protocol::PeerId& peer) const;
  // Every joined node, as cohort candidates.
  std::vector<CohortMember> Members() const;
  const std::map<protocol::PeerId, JoinedNode>& nodes() const { return nodes_; }

  void Heard(const protocol::PeerId& peer, TimePoint now);
  void Forget(const protocol::PeerId& peer) { nodes_.erase(peer); }
  // Notes when each addressee of `out` was last sent something (what heartbeats are timed from).
  void Sent(const std::vector<Outgoing>& out, TimePoint now);
  // Joined nodes not addressed in `out` that have been sent nothing for `interval`.
  std::vector<protocol::PeerId> OwedHeartbeat(const std::vector<Outgoing>& out, TimePoint now,
                                              Duration interval) const;
  // Forgets nodes silent for longer than `timeout`, except those `busy` says are working; returns
  // them.
  template <typename Busy>
  std::vector<JoinedNode> ForgetSilent(TimePoint now, Duration timeout, Busy busy) {
    std::vector<JoinedNode> forgotten;
    for (auto it = nodes_.begin(); it != nodes_.end();) {
      if (now - it->second.last_heard > timeout && !busy(it->first)) {
        forgotten.push_back(it->second);
        it = nodes_.erase(it);
      } else {
        ++it;
      }
    }
    return forgotten;
  }

 private:
  std::map<protocol::PeerId, JoinedNode> nodes_;
};

}  // namespace cartable::coordinator
