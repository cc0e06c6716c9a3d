#pragma once

#include <memory>

#include "protocol/messages.h"
#include "protocol/transport.h"

namespace cartable::coordinator {

// A message for one peer. A broadcast shares one immutable envelope among its peers (the round's
// global model is not copied per node), so the service can encode it once.
struct Outgoing {
  protocol::PeerId peer;
  std::shared_ptr<const protocol::Envelope> envelope;
};

}  // namespace cartable::coordinator
