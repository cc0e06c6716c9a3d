#pragma once

// ZapHandler: ZeroMQ's authentication hook (ZAP, RFC 27) for CURVE. It answers the context's
// authentication requests from its own thread: a client whose long-term public key is in the
// allow-list (allow_list.h: a directory of NAME.pub files) is let in, with NAME as its user id
// (ZeroMQ attaches it to every message as "User-Id") and, as the metadata property "Identity-Key",
// the 64 hex digits of NAME.sign.pub from the same directory, or "" when there is none (always set,
// so that a client cannot supply the property itself: ZeroMQ lets ZAP's properties win over the
// client's). Any other client is refused and never sees a message. The list is re-read when the
// process receives SIGHUP (core::ReloadGeneration), so a school can be added or revoked without
// restarting the coordinator; a reload skips the files it cannot parse, logging each, and applies
// the rest (see allow_list.h).

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "core/status.h"
#include "protocol/allow_list.h"

namespace cartable::protocol::internal {

// The ZAP metadata property that carries a client's identity key (64 hex digits, or "").
inline constexpr const char* kIdentityKeyProperty = "Identity-Key";

// The identity key ZapHandler attached to a received message (nullopt when none: "" or absent).
std::optional<PublicKeyBytes> IdentityKeyOf(const zmq::message_t& message);

class ZapHandler {
 public:
  // Binds the handler in `context` and loads the allow-list; must run before any CURVE socket
  // binds.
  static StatusOr<std::unique_ptr<ZapHandler>> Start(zmq::context_t& context,
                                                     std::filesystem::path allow_list_dir);
  ~ZapHandler();  // stops and joins the thread

  size_t allowed_keys() const;

 private:
  ZapHandler(zmq::context_t& context, std::filesystem::path dir,
             std::map<std::string, AllowedClient> clients);
  void Serve();
  void ReloadIfAsked();
  void Answer(std::vector<zmq::message_t>& request);
  // The client admitted under this key, or nullopt when it is not allowed.
  std::optional<AllowedClient> ClientOf(const std::string& z85) const;

  zmq::socket_t socket_;
  std::filesystem::path dir_;
  mutable std::mutex mutex_;
  std::map<std::string, AllowedClient> clients_;  // by Z85 key, guarded by mutex_
  uint64_t seen_generation_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cartable::protocol::internal
