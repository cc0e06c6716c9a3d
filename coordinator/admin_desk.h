#pragma once

// AdminDesk: answers researchers' requests from the coordinator's admin socket, sans-I/O. Given a
// request, the name the admin socket authenticated its sender as, and a snapshot of the run, it
// returns the reply and, for an accepted "stop", who asked; the caller (ServeRun) applies the stop
// to the RoundLoop, so the desk never changes the run itself. Commands:
//   status  a JSON document: run id, model, rounds planned and completed, the round and stage in
//           progress, the joined nodes with the seconds since each was last heard, the last
//           round's record
//   stop    the run ends cleanly after its current round (at once if none has started)
// Holds only its options; thread compatible.

#include <optional>
#include <string>

#include "coordinator/round_loop.h"
#include "protocol/messages.h"

namespace cartable::coordinator {

struct AdminDeskOptions {
  // Largest JSON document in a reply; a status that would not fit leaves out the list of nodes.
  size_t max_document_bytes = protocol::kMaxAdminDocumentBytes;
};

struct AdminAnswer {
  protocol::Envelope reply;            // an AdminReply
  std::optional<std::string> stop_by;  // set when a stop was accepted: the admin's name
  // Set when cancelling the running run was accepted: the admin's name (the run ends now).
  std::optional<std::string> cancel_by;
};

class AdminDesk {
 public:
  explicit AdminDesk(AdminDeskOptions options = {}) : options_(options) {}

  // `identity` is the allow-list name of the admin's key, or empty on an unauthenticated
  // (--insecure) socket.
  AdminAnswer Answer(const protocol::Envelope& request, const std::string& identity,
                     const RunSnapshot& run) const;

  // The status document of `run`, as AdminReply::json carries it.
  StatusOr<std::string> StatusDocument(const RunSnapshot& run) const;

 private:
  AdminDeskOptions options_;
};

}  // namespace cartable::coordinator
