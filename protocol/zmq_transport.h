#pragma once

// ZeroMQ transports: a ROUTER socket bound by the coordinator, a DEALER socket per node. Frames
// larger than `max_frame_bytes` are dropped by ZeroMQ itself (ZMQ_MAXMSGSIZE) before they reach any
// decoder. Each object owns its socket and its context (or, for nodes, shares one: ZmqContext); zmq
// errors never escape, they become Status.
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
//
// Bounds: no send ever waits on a peer. The coordinator's ROUTER sends without waiting and refuses
// a frame that would take the bytes queued for one peer past `max_queued_bytes_per_peer`
// (kResourceExhausted, saying how much is queued); a peer that is gone fails with kUnavailable. A
// node's DEALER waits at most `send_timeout_ms`. On the receiving side, ZeroMQ keeps at most
// `receive_hwm` messages per peer, a chunked frame reserves its declared size from a budget of
// `max_reassembly_bytes` shared by all peers, and a transfer that makes no progress for
// `transfer_idle_timeout_ms` is abandoned and its buffer freed.

#include <filesystem>
#include <memory>
#include <string>

#include "protocol/codec.h"
#include "protocol/curve_keys.h"
#include "protocol/transport.h"

namespace zmq {
class context_t;
}

namespace cartable::protocol {

// A ZeroMQ context that many node connections of one process share (a node pool's schools): one
// set of I/O threads and one socket table for all of them, where a connection of its own would
// bring an I/O thread, a reaper thread and their descriptors each. It lives as long as the last
// connection that holds it. Thread safe.
class ZmqContext {
 public:
  // `io_threads` threads carry every connection's traffic (and, under CURVE, its encryption);
  // `max_sockets` bounds the sockets open in it (a CURVE node connection takes three).
  static StatusOr<std::shared_ptr<ZmqContext>> Create(int io_threads, int max_sockets);
  ~ZmqContext();
  ZmqContext(const ZmqContext&) = delete;
  ZmqContext& operator=(const ZmqContext&) = delete;

  zmq::context_t& get() { return *context_; }

 private:
  explicit ZmqContext(std::unique_ptr<zmq::context_t> context);
  std::unique_ptr<zmq::context_t> context_;
};

struct ZmqOptions {
  // Largest frame accepted from a peer, whole or reassembled from chunks; larger ones are dropped.
  size_t max_frame_bytes = kDefaultMaxPayloadBytes + kHeaderBytes;
  // Frames larger than this travel in chunks of this size; no ZeroMQ message part exceeds it
  // (ZMQ_MAXMSGSIZE is set from it), and a receiver shows progress and stays alive between chunks.
  size_t chunk_bytes = size_t{8} << 20;
  // How long closing a socket may wait to flush queued frames.
  int linger_ms = 1000;
  // A node reconnects after 100 ms, doubling the wait (plus ZeroMQ's random jitter of up to 100 ms)
  // on each failure up to this ceiling, so a coordinator restart is not met by a storm of
  // reconnections.
  int reconnect_max_ms = 10000;
  // ZMTP heartbeats on a node's connection: a PING this often, and the connection is closed and
  // re-established when nothing at all comes back for connection_timeout_ms after one. This is what
  // finds a coordinator host that vanished without closing TCP (power cut, cable), which no message
  // of ours could: ZeroMQ would otherwise keep queueing into the dead connection.
  int connection_heartbeat_ms = 5000;
  int connection_timeout_ms = 30000;

  // Most frame bytes the coordinator keeps queued for one peer (handed to ZeroMQ, which has not yet
  // taken them for the connection: written, or encrypted under CURVE); a send beyond it fails at
  // once instead of waiting for a peer that is not reading. 0 means max_frame_bytes +
  // kQueueHeadroomBytes: one largest frame plus the small messages that follow it in a round. A
  // frame larger than the cap can never be sent.
  size_t max_queued_bytes_per_peer = 0;
  // The context a node's connection opens its sockets in; null: a context of its own.
  std::shared_ptr<ZmqContext> context;
  // How long a node's send may wait for room in its queue to the coordinator (ZMQ_SNDTIMEO); the
  // queue only fills when the coordinator stops reading.
  int send_timeout_ms = 5000;
  // Messages ZeroMQ buffers for the coordinator per peer before it stops reading that peer's
  // connection (ZMQ_RCVHWM; ZeroMQ's own default is 1000, i.e. up to 1000 chunks). About
  // (receive_hwm + 2) chunks per peer live inside ZeroMQ at most, counting the one being read and,
  // with CURVE, its decryption.
  int receive_hwm = 2;
  // Memory the coordinator reserves, across all peers, for chunked frames still arriving: each
  // reserves its declared size on its first chunk, and one that would exceed the cap is refused
  // (the node's message is lost and the round's deadline drops it). Must hold at least one largest
  // frame; plan for as many model-sized uploads as nodes upload at once.
  size_t max_reassembly_bytes = size_t{4} << 30;
  // A chunked transfer with no new chunk for this long is abandoned and its buffer freed: what
  // frees the memory of a peer that stopped, or vanished, halfway through a frame.
  int transfer_idle_timeout_ms = 60000;
  // A connection whose ZMTP/CURVE handshake has not completed after this long is closed
  // (ZMQ_HANDSHAKE_IVL; ZeroMQ's default is 30 s). At a server this bounds how long a connection
  // that never authenticates holds a file descriptor; a node whose handshake is cut reconnects.
  int handshake_timeout_ms = 10000;
  // A server shuts down its oldest connections still in their handshake beyond this many (and never
  // keeps more than a quarter of its open-file limit), and some of them whenever it runs out of
  // file descriptors; 0 turns the guard off.
  size_t max_pending_handshakes = 128;
};

// Room in a peer's queue beyond one largest frame (the default of max_queued_bytes_per_peer).
inline constexpr size_t kQueueHeadroomBytes = size_t{16} << 20;

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

  // Frame bytes queued for `peer` that ZeroMQ has not yet taken for its connection.
  size_t queued_bytes(const PeerId& peer) const;
  // Bytes reserved for chunked frames still arriving, across all peers (at most
  // max_reassembly_bytes).
  size_t reassembly_bytes() const;
  // Bytes of the whole frames received from peers, and sent to them in full, since the socket
  // was bound (chunk headers and ZeroMQ's and CURVE's own bytes not counted). Unlike the rest of
  // the transport, these may be read from any thread (metrics).
  uint64_t frame_bytes_received() const;
  uint64_t frame_bytes_sent() const;

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
      const std::string& endpoint, const CurveKeyPair& client_keys,
      const std::string& server_public_key, const ZmqOptions& options = {});
  // What Open needs: the endpoint, and the client's secret key file and the server's .pub (both
  // from `cartable keygen`), or insecure (plain TCP: tests on loopback only; the key files are then
  // unused).
  struct Spec {
    std::string endpoint;
    std::filesystem::path key_file;
    std::filesystem::path server_key_file;
    bool insecure = false;
    ZmqOptions options;
  };
  // Connect or ConnectCurve as `spec` says, reading the keys; a file that cannot be read is named.
  static StatusOr<std::unique_ptr<ZmqClientTransport>> Open(const Spec& spec);
  ~ZmqClientTransport() override;

  Status Send(std::string_view frame) override;
  Status SendOwned(std::string frame) override;
  StatusOr<std::optional<Frame>> Receive(Duration timeout) override;
  std::optional<TimePoint> last_activity() const override;

  // Frame bytes handed to ZeroMQ that it has not yet taken for the connection.
  size_t queued_bytes() const;
  // Under CURVE, why no secure handshake with the server has succeeded yet (the likely causes, for
  // the error of a node that gives up); "" once one has, or without CURVE.
  std::string HandshakeDiagnosis() const;

 private:
  struct Sockets;
  // In the options' context, or one of its own; an error when the context has no room left.
  static StatusOr<std::unique_ptr<Sockets>> OpenSockets(const ZmqOptions& options);
  explicit ZmqClientTransport(std::unique_ptr<Sockets> sockets);
  std::unique_ptr<Sockets> sockets_;
};

}  // namespace cartable::protocol
