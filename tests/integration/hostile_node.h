#pragma once

// HostileNode: an enrolled node that misbehaves on purpose, for the integration tests that attack a
// live federation the way the threat model says an enrolled node may. It runs the node agent's own
// code (NodeSession, RunNodeAgent) under its enrolled key over a real CURVE connection, and passes
// every message it is about to send through a Tamper first, which may change any field of it,
// replace it, or leave it alone. So each attack on a message of the protocol is a few lines in a
// test, and everything else the node does is what an honest node does. It runs on a thread of the
// test process until the coordinator ends the run or the test destroys it.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/status.h"
#include "models/dataset.h"
#include "node/node_agent.h"
#include "node/node_session.h"
#include "protocol/codec.h"
#include "protocol/curve_keys.h"
#include "protocol/zmq_transport.h"

namespace cartable::testing {

// Changes an outgoing message; returns true when it changed something (the node counts its
// attacks).
using Tamper = std::function<bool(protocol::Envelope&)>;

// Forwards to a real transport, passing each outgoing frame through the Tamper.
class TamperingTransport final : public protocol::ClientTransport {
 public:
  TamperingTransport(std::unique_ptr<protocol::ClientTransport> inner, Tamper tamper,
                     std::atomic<int>& tampered)
      : inner_(std::move(inner)), tamper_(std::move(tamper)), tampered_(tampered) {}

  Status Send(std::string_view frame) override { return SendOwned(std::string(frame)); }
  Status SendOwned(std::string frame) override {
    auto envelope = protocol::Decode(frame);
    if (envelope.ok() && tamper_(*envelope)) {
      tampered_.fetch_add(1);
      frame = protocol::Encode(*envelope);
    }
    return inner_->SendOwned(std::move(frame));
  }
  StatusOr<std::optional<protocol::Frame>> Receive(Duration timeout) override {
    return inner_->Receive(timeout);
  }
  std::optional<TimePoint> last_activity() const override { return inner_->last_activity(); }

 private:
  std::unique_ptr<protocol::ClientTransport> inner_;
  Tamper tamper_;
  std::atomic<int>& tampered_;
};

struct HostileNodeOptions {
  std::string endpoint;  // the coordinator's
  std::filesystem::path coordinator_public_key_file;
  std::filesystem::path key_file;  // this node's enrolled secret key (NAME.key)
  std::string name;
  models::PupilSplit data;
  std::shared_ptr<const models::PupilAttributes> attributes;  // for evaluations by subgroup
  node::NodeSecurity security;  // identity key, roster, cohort floor (as an honest node has them)
  Tamper tamper = [](protocol::Envelope&) { return false; };
  Duration idle_timeout = std::chrono::seconds(60);
};

class HostileNode {
 public:
  static StatusOr<std::unique_ptr<HostileNode>> Start(HostileNodeOptions options) {
    CARTABLE_ASSIGN_OR_RETURN(protocol::CurveKeyPair keys,
                              protocol::LoadCurveKeyPair(options.key_file));
    CARTABLE_ASSIGN_OR_RETURN(std::string server_key,
                              protocol::LoadCurvePublicKey(options.coordinator_public_key_file));
    CARTABLE_ASSIGN_OR_RETURN(
        std::unique_ptr<protocol::ZmqClientTransport> zmq,
        protocol::ZmqClientTransport::ConnectCurve(options.endpoint, keys, server_key));
    auto node = std::unique_ptr<HostileNode>(new HostileNode(options));
    node->transport_ =
        std::make_unique<TamperingTransport>(std::move(zmq), options.tamper, node->tampered_);
    node->thread_ = std::thread([n = node.get(), idle = options.idle_timeout] {
      node::NodeAgentOptions agent;
      agent.idle_timeout = idle;
      agent.should_stop = [n] { return n->stop_.load(); };
      n->outcome_ = node::RunNodeAgent(n->session_, *n->transport_, agent);
      n->done_.store(true);
    });
    return node;
  }

  ~HostileNode() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  // Messages the Tamper changed so far.
  int tampered() const { return tampered_.load(); }
  bool done() const { return done_.load(); }
  // Waits until the agent ends (the coordinator shut it down, or refused it), at most `timeout`.
  bool WaitDone(std::chrono::seconds timeout) const {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!done_.load() && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done_.load();
  }
  // Read once done().
  const Status& outcome() const { return outcome_; }

 private:
  explicit HostileNode(const HostileNodeOptions& options)
      : session_(options.name, options.data, options.security, options.attributes) {}

  node::NodeSession session_;
  std::unique_ptr<TamperingTransport> transport_;
  std::atomic<int> tampered_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  Status outcome_;
  std::thread thread_;
};

}  // namespace cartable::testing
