#include "protocol/internal/zap_handler.h"

#include <spdlog/spdlog.h>
#include <zmq.h>

#include <array>
#include <vector>

#include "core/printable.h"
#include "core/subprocess.h"
#include "protocol/key_files.h"

namespace cartable::protocol::internal {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

std::string Z85Of(const zmq::message_t& key) {
  if (key.size() != 32) return {};
  std::array<char, 41> text{};
  if (zmq_z85_encode(text.data(), static_cast<const uint8_t*>(key.data()), 32) == nullptr)
    return {};
  return std::string(text.data(), 40);
}

// ZAP metadata (ZMTP property encoding): name length (1 byte), name, value length (4 bytes, network
// order), value.
std::string Metadata(const std::string& name, const std::string& value) {
  std::string out(1, static_cast<char>(name.size()));
  out += name;
  const uint32_t size = static_cast<uint32_t>(value.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((size >> shift) & 0xff));
  return out + value;
}

void LogSkipped(const AllowList& list) {
  for (const Status& skipped : list.skipped) {
    spdlog::error("allow-list: skipping a file: {}", Printable(skipped.message(), 400));
  }
}

}  // namespace

std::optional<PublicKeyBytes> IdentityKeyOf(const zmq::message_t& message) {
  const char* hex = zmq_msg_gets(message.handle(), kIdentityKeyProperty);
  if (hex == nullptr) return std::nullopt;
  return ParseIdentityKeyHex(hex);
}

StatusOr<std::unique_ptr<ZapHandler>> ZapHandler::Start(zmq::context_t& context,
                                                        std::filesystem::path allow_list_dir) {
  CARTABLE_ASSIGN_OR_RETURN(AllowList list, LoadAllowList(allow_list_dir, BadKeyFiles::kFail));
  if (list.clients.empty()) {
    spdlog::warn("the allow-list {} holds no NAME.pub key: every client will be refused",
                 Printable(allow_list_dir.string()));
  }
  if (!list.secret_key_files.empty()) {
    spdlog::warn(
        "the allow-list {} holds {} secret key file(s) ({}...): only the .pub and .sign.pub files "
        "are needed here; a secret key belongs on its owner's machine alone",
        Printable(allow_list_dir.string()), list.secret_key_files.size(),
        Printable(list.secret_key_files.front()));
  }
  try {
    return std::unique_ptr<ZapHandler>(
        new ZapHandler(context, std::move(allow_list_dir), std::move(list.clients)));
  } catch (const zmq::error_t& e) {
    return UnavailableError(std::string("cannot start the authentication handler: ") + e.what());
  }
}

ZapHandler::ZapHandler(zmq::context_t& context, std::filesystem::path dir,
                       std::map<std::string, AllowedClient> clients)
    : socket_(context, zmq::socket_type::rep),
      dir_(std::move(dir)),
      clients_(std::move(clients)),
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
  return clients_.size();
}

std::optional<AllowedClient> ZapHandler::ClientOf(const std::string& z85) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = clients_.find(z85);
  if (it == clients_.end()) return std::nullopt;
  return it->second;
}

void ZapHandler::ReloadIfAsked() {
  const uint64_t generation = ReloadGeneration();
  if (generation == seen_generation_) return;
  seen_generation_ = generation;
  auto list = LoadAllowList(dir_, BadKeyFiles::kSkip);
  if (!list.ok()) {
    spdlog::error("keeping the previous allow-list: {}", Printable(list.status().message(), 400));
    return;
  }
  LogSkipped(*list);
  std::lock_guard<std::mutex> lock(mutex_);
  spdlog::info("allow-list reloaded from {}: {} key(s), was {}{}", Printable(dir_.string()),
               list->clients.size(), clients_.size(),
               list->skipped.empty()
                   ? ""
                   : "; " + std::to_string(list->skipped.size()) + " file(s) skipped");
  clients_ = std::move(list->clients);
}

void ZapHandler::Answer(std::vector<zmq::message_t>& request) {
  // Request: version, request id, domain, address, identity, mechanism, credentials...
  const bool well_formed = request.size() >= 6 && request[0].to_string() == "1.0";
  const std::string mechanism = well_formed ? request[5].to_string() : "";
  const std::string key = (mechanism == "CURVE" && request.size() >= 7) ? Z85Of(request[6]) : "";
  const std::optional<AllowedClient> client = key.empty() ? std::nullopt : ClientOf(key);
  if (!client) {
    spdlog::warn("refused a connection from {} ({}): {}",
                 well_formed ? Printable(request[3].to_string()) : "?",
                 mechanism.empty() ? "malformed request" : Printable(mechanism),
                 key.empty() ? "no CURVE key" : "key " + key + " is not on the allow-list");
  }
  const std::string request_id = request.size() > 1 ? request[1].to_string() : "";
  const std::string identity_key =
      client && client->identity_key ? IdentityKeyHex(*client->identity_key) : "";
  socket_.send(zmq::buffer(std::string("1.0")), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(std::string(client ? "200" : "400")), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(std::string(client ? "OK" : "key not allowed")),
               zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(client ? client->name : std::string()),
               zmq::send_flags::sndmore);  // user id
  socket_.send(zmq::buffer(Metadata(kIdentityKeyProperty, identity_key)), zmq::send_flags::none);
}

void ZapHandler::Serve() {
  while (!stop_) {
    try {
      ReloadIfAsked();
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) <= 0) continue;
      std::vector<zmq::message_t> request;
      do {
        request.emplace_back();
        if (!socket_.recv(request.back(), zmq::recv_flags::none)) break;
      } while (request.back().more());
      Answer(request);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      if (e.num() != EINTR) spdlog::error("authentication handler: {}", e.what());
    }
  }
}

}  // namespace cartable::protocol::internal
