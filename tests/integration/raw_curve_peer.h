#pragma once

// RawCurvePeer: a node as a hostile test wants it. A bare ZeroMQ DEALER that completes the real
// CurveZMQ handshake with an enrolled key (so the coordinator's ZAP handler admits it and vouches
// for its name), then sends exactly the frames its test asks for and reads only when told to. Small
// receive buffers (ZeroMQ's and the kernel's) make a peer that never reads fill the coordinator's
// queue for it quickly. One thread at a time, like any ZeroMQ socket; the socket lives and dies
// with the object.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "core/status.h"
#include "node/identity.h"
#include "protocol/codec.h"
#include "protocol/curve_keys.h"

namespace cartable::testing {

class RawCurvePeer {
 public:
  struct Options {
    int receive_hwm = 1;        // messages ZeroMQ takes off the connection for it before stopping
    int receive_buffer = 4096;  // SO_RCVBUF, bytes
  };

  static std::unique_ptr<RawCurvePeer> Connect(const std::string& endpoint,
                                               const protocol::CurveKeyPair& keys,
                                               const std::string& server_public_key,
                                               Options options) {
    auto peer = std::unique_ptr<RawCurvePeer>(new RawCurvePeer(keys));
    zmq::socket_t& s = peer->socket_;
    s.set(zmq::sockopt::rcvhwm, options.receive_hwm);
    s.set(zmq::sockopt::rcvbuf, options.receive_buffer);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::curve_serverkey, server_public_key);
    s.set(zmq::sockopt::curve_publickey, keys.public_key);
    s.set(zmq::sockopt::curve_secretkey, keys.secret_key.z85());
    s.connect(endpoint);
    return peer;
  }
  static std::unique_ptr<RawCurvePeer> Connect(const std::string& endpoint,
                                               const protocol::CurveKeyPair& keys,
                                               const std::string& server_public_key) {
    return Connect(endpoint, keys, server_public_key, Options());
  }

  // Sends one frame without waiting; false when ZeroMQ's queue to the coordinator is full.
  bool TrySend(const protocol::Envelope& envelope) {
    const std::string frame = protocol::Encode(envelope);
    return socket_.send(zmq::buffer(frame), zmq::send_flags::dontwait).has_value();
  }
  // Sends bytes that need not be a frame at all, without waiting; false when the queue is full.
  bool TrySendBytes(const std::string& bytes) {
    return socket_.send(zmq::buffer(bytes), zmq::send_flags::dontwait).has_value();
  }
  // Sends one frame, waiting up to `patience` for room; false if there was none.
  bool Send(const protocol::Envelope& envelope, std::chrono::milliseconds patience) {
    socket_.set(zmq::sockopt::sndtimeo, static_cast<int>(patience.count()));
    const std::string frame = protocol::Encode(envelope);
    return socket_.send(zmq::buffer(frame), zmq::send_flags::none).has_value();
  }
  // The Hello an honest node with this key would send: its allow-list name and its signing key.
  bool SayHello(const std::string& name, std::chrono::milliseconds patience) {
    auto signing = node::SigningKeyFromCurveSecret(keys_.secret_key);
    if (!signing.ok()) return false;
    return Send({0, 0, protocol::Hello{name, signing->PublicKey()}}, patience);
  }

 private:
  explicit RawCurvePeer(const protocol::CurveKeyPair& keys)
      : keys_{keys.public_key, protocol::CurveSecretKey(keys.secret_key.z85())} {}

  protocol::CurveKeyPair keys_;
  zmq::context_t context_{1};
  zmq::socket_t socket_{context_, zmq::socket_type::dealer};
};

}  // namespace cartable::testing
