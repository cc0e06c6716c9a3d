#pragma once

// ZapHandler: ZeroMQ's authentication hook (ZAP, RFC 27) for CURVE. It answers the context's
// authentication requests from its own thread: a client whose long-term public key is in the allow-list
// (a directory of *.pub files) is let in, with the file's stem as its user id (ZeroMQ attaches it to
// every message as "User-Id"); any other is refused and never sees a message. The list is
// re-read when the process receives SIGHUP (core::ReloadGeneration), so a school can be added or revoked
// without restarting the coordinator. A failed reload keeps the previous list and logs why.

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <map>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "core/status.h"

namespace cartable::protocol::internal {

class ZapHandler {
 public:
  // Binds the handler in `context` and loads the allow-list; must run before any CURVE socket binds.
  static StatusOr<std::unique_ptr<ZapHandler>> Start(zmq::context_t& context,
                                                    std::filesystem::path allow_list_dir);
  ~ZapHandler();  // stops and joins the thread

  size_t allowed_keys() const;

 private:
  ZapHandler(zmq::context_t& context, std::filesystem::path dir, std::map<std::string, std::string> keys);
  void Serve();
  void ReloadIfAsked();
  // The name admitted under this key, or "" when it is not allowed.
  std::string NameOf(const std::string& z85) const;

  zmq::socket_t socket_;
  std::filesystem::path dir_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> keys_;  // Z85 → name, guarded by mutex_
  uint64_t seen_generation_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cartable::protocol::internal
