#pragma once

// ZapHandler: ZeroMQ's authentication hook (ZAP, RFC 27) for CURVE. It answers the context's
// authentication requests from its own thread: a client whose long-term public key is in the allow-list
// (a directory of *.pub files) is let in; any other is refused and never sees a message. The list is
// re-read when the process receives SIGHUP (core::ReloadGeneration), so a school can be added or revoked
// without restarting the coordinator. A failed reload keeps the previous list and logs why.

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
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
  ZapHandler(zmq::context_t& context, std::filesystem::path dir, std::set<std::string> keys);
  void Serve();
  void ReloadIfAsked();
  bool IsAllowed(const std::string& z85) const;

  zmq::socket_t socket_;
  std::filesystem::path dir_;
  mutable std::mutex mutex_;
  std::set<std::string> keys_;  // Z85, guarded by mutex_
  uint64_t seen_generation_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cartable::protocol::internal
