#pragma once

// ZeroMQ transports: a ROUTER socket bound by the coordinator, a DEALER socket per node. Frames
// larger than `max_frame_bytes` are dropped by ZeroMQ itself (ZMQ_MAXMSGSIZE) before they reach any
// decoder. Each object owns its context and socket; zmq errors never escape, they become Status.
//
// Security: BindCurve/ConnectCurve encrypt and authenticate every connection with CurveZMQ. The
// server admits only clients whose public key is in its allow-list directory (reloaded on SIGHUP)
// and tells who sent each message (Delivery::identity, Delivery::identity_key). The client pins the
// server's public key: a definite refusal (the server refused our key, or does not speak CURVE) is
// an error from Receive; a handshake that is cut or times out is retried, with warnings, since from
// the client's side an overloaded server and a wrong pinned key look alike (HandshakeDiagnosis says
// which it may be). Bind/Connect without CURVE are for loopback simulations and tests only.
//
// File descriptors: every server keeps at most `max_pending_handshakes` connections in their
// handshake and cuts each handshake after `handshake_timeout_ms` (internal/connection_guard.h), so
// connections that never authenticate cannot take every descriptor of the process.

#include <memory>
#include <string>

#include "protocol/codec.h"
#include "protocol/curve_keys.h"
#include "protocol/transport.h"

namespace cartable::protocol {

struct ZmqOptions {
  // Largest frame accepted from a peer, whole or reassembled from chunks; larger ones are dropped.
  size_t max_frame_bytes = kDefaultMaxPayloadBytes + kHeaderBytes;
  // Frames larger than this travel in chunks of this size; no ZeroMQ message part exceeds it
  // (ZMQ_MAXMSGSIZE is set from it), and a receiver shows progress and stays alive between chunks.
  size_t chunk_bytes = size_t{8} << 20;
  // How long closing a socket may wait to flush queued frames.
  int linger_ms = 1000;
  // A node reconnects after 100 ms, doubling the wait (plus ZeroMQ's random jitter of up to 100 ms) on
  // each failure up to this ceiling, so a coordinator restart is not met by a storm of reconnections.
  int reconnect_max_ms = 10000;
  // ZMTP heartbeats on a node's connection: a PING this often, and the connection is closed and
  // re-established when nothing at all comes back for connection_timeout_ms after one. This is what
  // finds a coordinator host that vanished without closing TCP (power cut, cable), which no message
  // of ours could: ZeroMQ would otherwise keep queueing into the dead connection.
  int connection_heartbeat_ms = 5000;
  int connection_timeout_ms = 30000;
  // A connection whose ZMTP/CURVE handshake has not completed after this long is closed
  // (ZMQ_HANDSHAKE_IVL; ZeroMQ's default is 30 s). At a server this bounds how long a connection
  // that never authenticates holds a file descriptor; a node whose handshake is cut reconnects.
  int handshake_timeout_ms = 10000;
  // A server shuts down its oldest connections still in their handshake beyond this many (and never
  // keeps more than a quarter of its open-file limit), and some of them whenever it runs out of
  // file descriptors; 0 turns the guard off.
  size_t max_pending_handshakes = 128;
};

class ZmqServerTransport final : public ServerTransport {
 public:
  // `endpoint` like "tcp://127.0.0.1:*" (ephemeral port) or "tcp://0.0.0.0:7450".
  static StatusOr<std::unique_ptr<ZmqServerTransport>> Bind(const std::string& endpoint,
                                                            const ZmqOptions& options = {});
  static StatusOr<std::unique_ptr<ZmqServerTransport>> BindCurve(
      const std::string& endpoint, const CurveKeyPair& server_keys,
      const std::filesystem::path& allow_list_dir, const ZmqOptions& options = {});
  ~ZmqServerTransport() override;

  Status Send(const PeerId& peer, std::string_view frame) override;
  Status SendShared(const PeerId& peer, std::shared_ptr<const std::string> frame) override;
  StatusOr<std::optional<Delivery>> Receive(Duration timeout) override;
  std::string endpoint() const override { return endpoint_; }

 private:
  struct Sockets;
  explicit ZmqServerTransport(std::unique_ptr<Sockets> sockets, std::string endpoint);
  std::unique_ptr<Sockets> sockets_;
  std::string endpoint_;
};

class ZmqClientTransport final : public ClientTransport {
 public:
  // Connecting never blocks; ZeroMQ reconnects in the background until the coordinator is there.
  static StatusOr<std::unique_ptr<ZmqClientTransport>> Connect(const std::string& endpoint,
                                                               const ZmqOptions& options = {});
  static StatusOr<std::unique_ptr<ZmqClientTransport>> ConnectCurve(
      const std::string& endpoint, const CurveKeyPair& client_keys, const std::string& server_public_key,
      const ZmqOptions& options = {});
  ~ZmqClientTransport() override;

  Status Send(std::string_view frame) override;
  Status SendOwned(std::string frame) override;
  StatusOr<std::optional<Frame>> Receive(Duration timeout) override;
  std::optional<TimePoint> last_activity() const override;

  // Under CURVE, why no secure handshake with the server has succeeded yet (the likely causes, for
  // the error of a node that gives up); "" once one has, or without CURVE.
  std::string HandshakeDiagnosis() const;

 private:
  struct Sockets;
  explicit ZmqClientTransport(std::unique_ptr<Sockets> sockets);
  std::unique_ptr<Sockets> sockets_;
};

}  // namespace cartable::protocol
