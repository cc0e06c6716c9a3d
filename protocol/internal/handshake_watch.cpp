#include "protocol/internal/handshake_watch.h"

#include <zmq.h>

#include <cstring>

#include "core/printable.h"

namespace cartable::protocol::internal {
namespace {

std::string ProtocolErrorName(uint32_t code) {
  char hex[16];
  std::snprintf(hex, sizeof(hex), "0x%08x", code);
  return "protocol error " + std::string(hex);
}

}  // namespace

std::string HandshakeWatch::Causes() const {
  return "either the coordinator is overloaded or slow to answer (it may also have shed the "
         "connection "
         "to protect itself), or the pinned coordinator key (--coordinator-key) is not this "
         "coordinator's "
         "public key: a server without the matching secret key just closes the connection";
}

HandshakeWatch::Verdict HandshakeWatch::OnEvent(uint16_t id, uint32_t value,
                                                const std::string& address, TimePoint now) {
  Verdict verdict;
  const std::string where = Printable(address.empty() ? endpoint_ : address);
  switch (id) {
    case ZMQ_EVENT_CONNECTED:
      ++connections_;
      return verdict;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      if (failures_ > 0) {
        verdict.info = "secure handshake with the coordinator at " + where + " succeeded after " +
                       std::to_string(failures_) + " failed attempt(s)";
      }
      succeeded_ = true;
      failures_ = 0;
      last_warning_.reset();
      return verdict;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      verdict.error = PermissionDeniedError(
          "the coordinator at " + where + " refused this node's key (status " +
          std::to_string(value) +
          "): ask its operator to add this node's .pub file to the allow-list");
      return verdict;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      // ZeroMQ does not reconnect after a protocol error: waiting would be waiting for nothing.
      if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
        verdict.error =
            PermissionDeniedError("the server at " + where +
                                  " does not speak CURVE: it is not a coordinator with keys, or "
                                  "it runs --insecure");
      } else {
        verdict.error = PermissionDeniedError(
            "the server at " + where + " broke the CURVE handshake (" + ProtocolErrorName(value) +
            "): check the address, and that --coordinator-key is this coordinator's public key");
      }
      return verdict;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      last_failure_ =
          value != 0 ? std::string("closed or timed out: ") + std::strerror(static_cast<int>(value))
                     : std::string("closed or timed out");
      break;
    default:
      return verdict;
  }
  ++failures_;
  if (!last_warning_ || now - *last_warning_ >= warn_every_) {
    last_warning_ = now;
    verdict.warning = "secure handshake with the coordinator at " + where + " did not complete (" +
                      last_failure_ + "; " + std::to_string(failures_) +
                      " failed attempt(s) so far); retrying: " + Causes();
  }
  return verdict;
}

std::string HandshakeWatch::Diagnosis() const {
  if (succeeded_) return "";
  if (failures_ > 0) {
    return "the secure handshake with the coordinator at " + Printable(endpoint_) +
           " never succeeded (" + std::to_string(failures_) + " attempt(s) failed, the last " +
           last_failure_ + "): " + Causes();
  }
  if (connections_ > 0) {
    return "connected to " + Printable(endpoint_) +
           " but the secure handshake never completed: the coordinator may be overloaded or slow "
           "to answer";
  }
  return "never reached the coordinator at " + Printable(endpoint_) +
         ": is it running, is the address right, and does the network let the port through?";
}

}  // namespace cartable::protocol::internal
