#pragma once

// HandshakeWatch: what a client makes of the monitor events of its connection to a CURVE server.
// From the client's side, few failures are definite. The server refusing our key (ZAP said no:
// HANDSHAKE_FAILED_AUTH) and a server that does not speak CURVE (mechanism mismatch, or any other
// protocol error, after which ZeroMQ does not reconnect) are, and they are errors. Everything else
// looks the same whatever its cause: the connection is closed or the handshake times out
// (HANDSHAKE_FAILED_NO_DETAIL) when the coordinator is overloaded or slow to answer, when it shed
// the connection to protect itself, and also when the pinned server key is wrong (a server that
// cannot decrypt our hello just closes the connection). Those are counted and left to ZeroMQ, which
// reconnects with backoff; the first is reported as a warning naming the possibilities, and then
// one warning at most every `warn_every`. Diagnosis() says, when a node gives up, why no handshake
// ever succeeded. Sans-I/O (fed the events and the time); not thread safe.

#include <cstdint>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/status.h"

namespace cartable::protocol::internal {

class HandshakeWatch {
 public:
  explicit HandshakeWatch(std::string endpoint, Duration warn_every = std::chrono::seconds(30))
      : endpoint_(std::move(endpoint)), warn_every_(warn_every) {}

  struct Verdict {
    Status error = Status::Ok();  // a definite refusal: the client should stop
    std::string warning;          // to log as a warning, when not empty
    std::string info;             // to log as information, when not empty
  };
  // One monitor event: its id (ZMQ_EVENT_*), value and address.
  Verdict OnEvent(uint16_t id, uint32_t value, const std::string& address, TimePoint now);

  bool ever_succeeded() const { return succeeded_; }
  uint64_t failed_attempts() const { return failures_; }  // since the last success

  // Why no secure handshake succeeded, for the error of a node that gives up waiting; "" once one
  // did.
  std::string Diagnosis() const;

 private:
  std::string Causes() const;

  std::string endpoint_;
  Duration warn_every_;
  bool succeeded_ = false;
  uint64_t connections_ = 0;
  uint64_t failures_ = 0;
  std::string last_failure_;
  std::optional<TimePoint> last_warning_;
};

}  // namespace cartable::protocol::internal
