#include "coordinator/node_registry.h"

#include <set>

#include "core/printable.h"

namespace cartable::coordinator {
namespace {

bool IsZero(const protocol::PublicKeyBytes& key) {
  for (uint8_t b : key) {
    if (b != 0) return false;
  }
  return true;
}

// A name a node can be known by in logs, files and rosters: 1 to 128 bytes, no control character.
bool IsUsableName(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

StatusOr<std::optional<protocol::PeerId>> NodeRegistry::Join(const protocol::PeerId& peer,
                                                             const protocol::Hello& hello,
                                                             const SenderIdentity& sender,
                                                             TimePoint now) {
  if (!IsUsableName(hello.node_name)) {
    return PermissionDeniedError("a node name must be 1 to 128 bytes without control characters");
  }
  if (!sender.name.empty() && sender.name != hello.node_name) {
    return PermissionDeniedError("your key is allowed as '" + sender.name + "', not as '" +
                                 Printable(hello.node_name) + "': use --name " + sender.name);
  }
  if (sender.identity_key && *sender.identity_key != hello.signing_key) {
    return PermissionDeniedError(
        "your identity key is not the one this coordinator holds for '" + hello.node_name + "' (" +
        hello.node_name +
        ".sign.pub in its allow-list): start the node with the key pair enrolled");
  }
  if (IsZero(hello.signing_key)) return PermissionDeniedError("a Hello without an identity key");
  if (auto known = nodes_.find(peer); known != nodes_.end()) {
    if (known->second.name != hello.node_name || known->second.signing_key != hello.signing_key) {
      return PermissionDeniedError("this connection already joined as '" + known->second.name +
                                   "'");
    }
    known->second.last_heard = now;
    return std::optional<protocol::PeerId>();  // a repeated hello is harmless
  }
  std::optional<protocol::PeerId> replaced;
  for (const auto& [other_peer, node] : nodes_) {
    if (node.name == hello.node_name) {
      replaced = other_peer;
    } else if (node.signing_key == hello.signing_key) {
      return PermissionDeniedError("the identity key you present is already that of node '" +
                                   node.name + "'");
    }
  }
  if (replaced)
    nodes_.erase(*replaced);  // the same establishment on a new connection: it restarted
  nodes_.emplace(peer, JoinedNode{hello.node_name, hello.signing_key, now, std::nullopt});
  return replaced;
}

const JoinedNode* NodeRegistry::Find(const protocol::PeerId& peer) const {
  auto it = nodes_.find(peer);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::string NodeRegistry::NameOf(const protocol::PeerId& peer) const {
  const JoinedNode* node = Find(peer);
  return node ? node->name : "an unknown peer";
}

std::vector<CohortMember> NodeRegistry::Members() const {
  std::vector<CohortMember> members;
  for (const auto& [peer, node] : nodes_) members.push_back({peer, node.name, node.signing_key});
  return members;
}

void NodeRegistry::Heard(const protocol::PeerId& peer, TimePoint now) {
  if (auto it = nodes_.find(peer); it != nodes_.end()) it->second.last_heard = now;
}

void NodeRegistry::Sent(const std::vector<Outgoing>& out, TimePoint now) {
  for (const Outgoing& o : out) {
    if (auto it = nodes_.find(o.peer); it != nodes_.end()) it->second.last_sent = now;
  }
}

std::vector<protocol::PeerId> NodeRegistry::OwedHeartbeat(const std::vector<Outgoing>& out,
                                                          TimePoint now, Duration interval) const {
  std::vector<protocol::PeerId> owed;
  for (const auto& [peer, node] : nodes_) {
    if (!node.last_sent || now - *node.last_sent >= interval) owed.push_back(peer);
  }
  if (owed.empty() || out.empty()) return owed;
  std::set<protocol::PeerId> addressed;
  for (const Outgoing& o : out) addressed.insert(o.peer);
  std::erase_if(owed, [&](const protocol::PeerId& peer) { return addressed.contains(peer); });
  return owed;
}

}  // namespace cartable::coordinator
