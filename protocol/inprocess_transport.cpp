#include "protocol/inprocess_transport.h"

#include <string>

namespace cartable::protocol {

class InProcessServer final : public ServerTransport {
 public:
  explicit InProcessServer(InProcessNetwork& network) : network_(network) {}
  ~InProcessServer() override {
    std::lock_guard<std::mutex> lock(network_.mutex_);
    network_.serving_ = false;
    network_.server_inbox_.clear();
  }

  Status Send(const PeerId& peer, std::string_view frame) override {
    return Deliver(peer, Frame(std::string(frame)));
  }

  Status SendShared(const PeerId& peer, std::shared_ptr<const std::string> frame) override {
    const std::string_view bytes = *frame;
    return Deliver(peer, Frame(std::move(frame), bytes));
  }

  StatusOr<std::optional<Delivery>> Receive(Duration timeout) override {
    std::unique_lock<std::mutex> lock(network_.mutex_);
    network_.changed_.wait_for(lock, timeout, [&] { return !network_.server_inbox_.empty(); });
    if (network_.server_inbox_.empty()) return std::optional<Delivery>();
    Delivery delivery = std::move(network_.server_inbox_.front());
    network_.server_inbox_.pop_front();
    return std::optional<Delivery>(std::move(delivery));
  }

  std::string endpoint() const override { return "inproc"; }

 private:
  Status Deliver(const PeerId& peer, Frame frame) {
    std::lock_guard<std::mutex> lock(network_.mutex_);
    auto it = network_.clients_.find(peer);
    if (it == network_.clients_.end() || !it->second.open) {
      return UnavailableError("peer is no longer connected");
    }
    it->second.frames.push_back(std::move(frame));
    network_.changed_.notify_all();
    return Status::Ok();
  }

  InProcessNetwork& network_;
};

class InProcessClient final : public ClientTransport {
 public:
  InProcessClient(InProcessNetwork& network, PeerId id) : network_(network), id_(std::move(id)) {}
  ~InProcessClient() override {
    std::lock_guard<std::mutex> lock(network_.mutex_);
    network_.clients_.erase(id_);
  }

  // Like a DEALER socket, sending never fails while the server is away; frames to no server are
  // lost.
  Status Send(std::string_view frame) override {
    std::lock_guard<std::mutex> lock(network_.mutex_);
    if (network_.serving_) {
      network_.server_inbox_.push_back({id_, Frame(std::string(frame))});
      network_.changed_.notify_all();
    }
    return Status::Ok();
  }

  StatusOr<std::optional<Frame>> Receive(Duration timeout) override {
    std::unique_lock<std::mutex> lock(network_.mutex_);
    // A poll (zero timeout) never waits: a pool polls thousands of inboxes a sweep.
    if (inbox_.frames.empty() && timeout > Duration{}) {
      network_.changed_.wait_for(lock, timeout, [&] { return !inbox_.frames.empty(); });
    }
    if (inbox_.frames.empty()) return std::optional<Frame>();
    Frame frame = std::move(inbox_.frames.front());
    inbox_.frames.pop_front();
    return std::optional<Frame>(std::move(frame));
  }

 private:
  InProcessNetwork& network_;
  PeerId id_;
  InProcessNetwork::Inbox& inbox_ = network_.clients_.at(id_);  // erased only by this destructor
};

StatusOr<std::unique_ptr<ServerTransport>> InProcessNetwork::Serve() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (serving_) return FailedPreconditionError("this in-process network already has a server");
  serving_ = true;
  return std::unique_ptr<ServerTransport>(std::make_unique<InProcessServer>(*this));
}

std::unique_ptr<ClientTransport> InProcessNetwork::Connect() {
  std::lock_guard<std::mutex> lock(mutex_);
  PeerId id = "inproc-" + std::to_string(next_peer_++);
  clients_[id];
  return std::make_unique<InProcessClient>(*this, std::move(id));
}

}  // namespace cartable::protocol
