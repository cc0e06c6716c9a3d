#pragma once

// AuditTrail: what a node agent writes in its own audit log (audit/, docs/audit-log.md), decided
// without I/O. The agent shows it each message it received and each reply it is about to send; the
// trail answers with the entries to append: a run offered (its id, plan hash, model, whether it is
// securely aggregated, cohort size, μ, norm bound), each round the node was asked to train in,
// each message sent (its type, size and the SHA-256 of its frame: never a value), a round refused
// (the reason the node sent) and the run's end. The entries let an establishment show what it
// agreed to and what left it, and compare each hash with what the coordinator logged. Not thread
// safe.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/messages.h"

namespace cartable::node {

struct AuditNote {
  std::string event;  // node_started, run_offered, round_requested, message_sent, ...
  nlohmann::ordered_json data;
};

class AuditTrail {
 public:
  // Entries for a message from the coordinator: run_offered the first time a run asks for
  // training, round_requested for each round's training request, run_ended for a Shutdown.
  std::vector<AuditNote> Received(const protocol::Envelope& in);
  // The entry for a reply about to leave, `frame` being its encoded bytes: message_sent, or
  // round_refused for an ErrorReply (its reason, the message the coordinator reads). A Heartbeat
  // gets none.
  std::optional<AuditNote> Sending(const protocol::Envelope& out, std::string_view frame);

 private:
  std::set<uint64_t> offered_;  // runs already recorded as offered
  // The last round asked for, so a request sent again (the coordinator retrying) is recorded once.
  std::optional<std::pair<uint64_t, uint32_t>> last_requested_;
};

// The plan hash as people read it: 64 hex digits, or "" for the zeros of a run started from flags.
std::string PlanHashHex(const protocol::DigestBytes& plan_hash);

}  // namespace cartable::node
