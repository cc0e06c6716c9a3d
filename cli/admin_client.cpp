#include "cli/admin_client.h"

#include "core/clock.h"
#include "protocol/codec.h"

namespace cartable::cli {
namespace {

// An AdminReply's payload: its document, its message and a few length fields.
constexpr size_t kMaxReplyPayloadBytes =
    protocol::kMaxAdminDocumentBytes + protocol::kMaxTextBytes + 64;

}  // namespace

void AddAdminEndpointFlags(CLI::App* cmd, AdminEndpoint& e) {
  cmd->add_option("--coordinator", e.coordinator,
                  "The coordinator's admin endpoint, e.g. tcp://10.0.0.5:7451")
      ->required();
  cmd->add_option(
      "--server-key", e.server_key_file,
      "The coordinator's public key file (.pub): the only server this command will talk to");
  cmd->add_option("--key", e.key_file,
                  "Your secret key file (NAME.key from cartable keygen); NAME.pub must be in the\n"
                  "coordinator's admin allow-list directory, and NAME is how the coordinator knows "
                  "you");
  cmd->add_option("--timeout", e.timeout_s, "Seconds to wait for each answer before giving up")
      ->default_val(10)
      ->check(CLI::Range(1, 3600));
  cmd->add_flag("--insecure", e.insecure,
                "No CURVE (for a coordinator started with --insecure; tests only)");
}

StatusOr<std::unique_ptr<AdminClient>> AdminClient::Connect(const AdminEndpoint& e) {
  protocol::ZmqOptions options;
  options.max_frame_bytes = protocol::kHeaderBytes + kMaxReplyPayloadBytes;
  options.linger_ms = 0;  // an unreachable coordinator must not keep this process from exiting
  // nor one that stops reading keep the request waiting
  options.send_timeout_ms = e.timeout_s * 1000;
  if (!e.insecure && (e.key_file.empty() || e.server_key_file.empty())) {
    return InvalidArgumentError(
        "talking to a coordinator needs --key (your secret key file, from cartable keygen) and "
        "--server-key (the coordinator's .pub file); --insecure talks to a coordinator started "
        "with --insecure");
  }
  CARTABLE_ASSIGN_OR_RETURN(
      std::unique_ptr<protocol::ZmqClientTransport> transport,
      protocol::ZmqClientTransport::Open(
          {e.coordinator, e.key_file, e.server_key_file, e.insecure, options}));
  return std::unique_ptr<AdminClient>(new AdminClient(e, std::move(transport)));
}

StatusOr<protocol::AdminReply> AdminClient::Ask(const protocol::AdminRequest& request) {
  CARTABLE_RETURN_IF_ERROR(transport_->Send(protocol::Encode({0, 0, request})));
  const TimePoint end = SystemClock::Get().Now() + std::chrono::seconds(endpoint_.timeout_s);
  while (SystemClock::Get().Now() < end) {
    auto frame = transport_->Receive(
        std::min<Duration>(end - SystemClock::Get().Now(), std::chrono::milliseconds(200)));
    if (!frame.ok()) {
      if (frame.status().code() != StatusCode::kPermissionDenied) return frame.status();
      // The transport's own message speaks to nodes; say what a researcher can check.
      return PermissionDeniedError(
          "the admin socket at " + endpoint_.coordinator +
          " refused the secure handshake: either your .pub file is not in the coordinator's "
          "admin allow-list directory (--admin-allow, or [admin] allow in its configuration), "
          "or --server-key is not the coordinator's public key");
    }
    if (!*frame) continue;
    auto envelope = protocol::Decode(**frame, kMaxReplyPayloadBytes);
    if (!envelope.ok()) return envelope.status().WithContext("the coordinator's reply");
    if (auto* reply = std::get_if<protocol::AdminReply>(&envelope->body)) return std::move(*reply);
  }
  std::string why = transport_->HandshakeDiagnosis();
  if (why.empty()) {
    why =
        "is a coordinator running there with an admin socket, is --server-key its public key, "
        "and is your .pub file in its admin allow-list directory (--admin-allow, or [admin] "
        "allow)? (a refused key is never answered)";
  }
  return DeadlineExceededError("no answer from " + endpoint_.coordinator + " within " +
                               std::to_string(endpoint_.timeout_s) + " s: " + why);
}

StatusOr<std::string> AdminClient::AskForDocument(const protocol::AdminRequest& request) {
  CARTABLE_ASSIGN_OR_RETURN(protocol::AdminReply reply, Ask(request));
  if (reply.code != 0) {
    return Status(static_cast<StatusCode>(reply.code), "the coordinator says: " + reply.message);
  }
  return std::string(reply.json.begin(), reply.json.end());
}

}  // namespace cartable::cli
