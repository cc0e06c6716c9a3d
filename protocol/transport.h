#pragma once

// Transport: moves opaque frames between a coordinator and its nodes. It knows nothing of rounds or
// messages (codec.h and the state machines do), so ZeroMQ, an in-process queue and a
// fault-injecting wrapper can all drive the same coordinator and node logic. A transport is used by
// one thread at a time.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/clock.h"
#include "core/status.h"
#include "protocol/messages.h"

namespace cartable::protocol {

// Identifies a connected node at the coordinator (the ZeroMQ routing id, for instance). Opaque.
using PeerId = std::string;

// The bytes of one received frame, kept alive by whatever holds them (a ZeroMQ message, a string),
// so a 100 MB model is not copied on its way from the socket to the decoder. Cheap to copy;
// immutable.
class Frame {
 public:
  Frame() = default;
  explicit Frame(std::string bytes) {
    auto owned = std::make_shared<const std::string>(std::move(bytes));
    view_ = *owned;
    owner_ = std::move(owned);
  }
  Frame(std::shared_ptr<const void> owner, std::string_view bytes)
      : owner_(std::move(owner)), view_(bytes) {}

  std::string_view bytes() const { return view_; }
  operator std::string_view() const { return view_; }  // NOLINT: a frame is its bytes
  size_t size() const { return view_.size(); }
  bool operator==(std::string_view other) const { return view_ == other; }

 private:
  std::shared_ptr<const void> owner_;
  std::string_view view_;
};

struct Delivery {
  PeerId peer;
  Frame frame;
  // Who the transport authenticated the sender as (its allow-list name); empty without
  // authentication.
  std::string identity;
  // The identity key enrolled for `identity` (NAME.sign.pub beside NAME.pub in the allow-list): the
  // Ed25519 key the sender's Hello must carry. nullopt without authentication or without that file.
  std::optional<PublicKeyBytes> identity_key;
};

// The coordinator's side: many peers, one socket.
class ServerTransport {
 public:
  virtual ~ServerTransport() = default;
  // Fails with kUnavailable when the peer is not (or no longer) connected.
  virtual Status Send(const PeerId& peer, std::string_view frame) = 0;
  // The same, for a frame shared by several sends (a broadcast): transports that can avoid copying
  // it do.
  // By value: an override may keep the frame (NOLINT: this default only reads it).
  virtual Status SendShared(const PeerId& peer,
                            std::shared_ptr<const std::string> frame) {  // NOLINT(performance-*)
    return Send(peer, *frame);
  }
  // Waits at most `timeout`; nullopt when nothing arrived in time (or a signal interrupted the
  // wait).
  virtual StatusOr<std::optional<Delivery>> Receive(Duration timeout) = 0;
  // Where nodes connect, with any wildcard port resolved ("tcp://127.0.0.1:41234").
  virtual std::string endpoint() const = 0;
};

// A node's side: one coordinator.
class ClientTransport {
 public:
  virtual ~ClientTransport() = default;
  virtual Status Send(std::string_view frame) = 0;
  // The same, handing the frame over: transports that can avoid copying it do.
  // By value: an override may keep the frame (NOLINT: this default only reads it).
  virtual Status SendOwned(std::string frame) { return Send(frame); }  // NOLINT(performance-*)
  virtual StatusOr<std::optional<Frame>> Receive(Duration timeout) = 0;
  // When anything last arrived, even part of a frame: a node waiting for a large model is not idle.
  virtual std::optional<TimePoint> last_activity() const { return std::nullopt; }
};

}  // namespace cartable::protocol
