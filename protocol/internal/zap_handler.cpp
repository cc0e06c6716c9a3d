#include "protocol/internal/zap_handler.h"

#include <spdlog/spdlog.h>
#include <zmq.h>

#include <array>
#include <vector>

#include "core/subprocess.h"
#include "protocol/curve_keys.h"

namespace cartable::protocol::internal {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

std::string Z85Of(const zmq::message_t& key) {
  if (key.size() != 32) return {};
  std::array<char, 41> text{};
  if (zmq_z85_encode(text.data(), static_cast<const uint8_t*>(key.data()), 32) == nullptr) return {};
  return std::string(text.data(), 40);
}

}  // namespace

StatusOr<std::unique_ptr<ZapHandler>> ZapHandler::Start(zmq::context_t& context,
                                                        std::filesystem::path allow_list_dir) {
  CARTABLE_ASSIGN_OR_RETURN(auto keys, LoadCurveAllowList(allow_list_dir));
  if (keys.empty()) {
    spdlog::warn("the allow-list {} holds no *.pub key: every node will be refused", allow_list_dir.string());
  }
  try {
    return std::unique_ptr<ZapHandler>(new ZapHandler(context, std::move(allow_list_dir), std::move(keys)));
  } catch (const zmq::error_t& e) {
    return UnavailableError(std::string("cannot start the authentication handler: ") + e.what());
  }
}

ZapHandler::ZapHandler(zmq::context_t& context, std::filesystem::path dir,
                       std::map<std::string, std::string> keys)
    : socket_(context, zmq::socket_type::rep),
      dir_(std::move(dir)),
      keys_(std::move(keys)),
      seen_generation_(ReloadGeneration()) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind(kZapEndpoint);
  thread_ = std::thread([this] { Serve(); });
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

size_t ZapHandler::allowed_keys() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return keys_.size();
}

std::string ZapHandler::NameOf(const std::string& z85) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = keys_.find(z85);
  return it == keys_.end() ? std::string() : it->second;
}

void ZapHandler::ReloadIfAsked() {
  const uint64_t generation = ReloadGeneration();
  if (generation == seen_generation_) return;
  seen_generation_ = generation;
  auto keys = LoadCurveAllowList(dir_);
  if (!keys.ok()) {
    spdlog::error("keeping the previous allow-list: {}", keys.status().message());
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  spdlog::info("allow-list reloaded from {}: {} key(s), was {}", dir_.string(), keys->size(), keys_.size());
  keys_ = std::move(keys).value();
}

void ZapHandler::Serve() {
  while (!stop_) {
    try {
      ReloadIfAsked();
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) <= 0) continue;
      // Request: version, request id, domain, address, identity, mechanism, credentials...
      std::vector<zmq::message_t> request;
      do {
        request.emplace_back();
        if (!socket_.recv(request.back(), zmq::recv_flags::none)) break;
      } while (request.back().more());
      const bool well_formed = request.size() >= 6 && request[0].to_string() == "1.0";
      const std::string mechanism = well_formed ? request[5].to_string() : "";
      const std::string key = (mechanism == "CURVE" && request.size() >= 7) ? Z85Of(request[6]) : "";
      const std::string name = key.empty() ? std::string() : NameOf(key);
      const bool allowed = !name.empty();
      if (!allowed) {
        spdlog::warn("refused a connection from {} ({}): {}",
                     well_formed ? request[3].to_string() : "?",
                     mechanism.empty() ? "malformed request" : mechanism,
                     key.empty() ? "no CURVE key" : "key " + key + " is not on the allow-list");
      }
      const std::string request_id = request.size() > 1 ? request[1].to_string() : "";
      socket_.send(zmq::buffer(std::string("1.0")), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(std::string(allowed ? "200" : "400")), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(std::string(allowed ? "OK" : "key not allowed")), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(name), zmq::send_flags::sndmore);  // user id
      socket_.send(zmq::str_buffer(""), zmq::send_flags::none);                          // metadata
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      if (e.num() != EINTR) spdlog::error("authentication handler: {}", e.what());
    }
  }
}

}  // namespace cartable::protocol::internal
