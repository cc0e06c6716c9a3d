// `cartable admin`: a researcher asks a running coordinator, on its admin socket, how the run is
// going or to stop it after the current round.

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "core/logging.h"
#include "protocol/codec.h"
#include "protocol/zmq_transport.h"

namespace cartable::cli {
namespace {

// An AdminReply's payload: its document, its message and a few length fields.
constexpr size_t kMaxReplyPayloadBytes =
    protocol::kMaxAdminDocumentBytes + protocol::kMaxTextBytes + 64;

struct AdminOptions {
  std::string command;
  std::string coordinator;
  std::string server_key_file;
  std::string key_file;
  int timeout_s = 10;
  bool json = false;
  bool insecure = false;
};

StatusOr<std::unique_ptr<protocol::ZmqClientTransport>> Connect(const AdminOptions& o) {
  protocol::ZmqOptions options;
  options.max_frame_bytes = protocol::kHeaderBytes + kMaxReplyPayloadBytes;
  options.linger_ms = 0;  // an unreachable coordinator must not keep this process from exiting
  options.send_timeout_ms =
      o.timeout_s * 1000;  // nor one that stops reading keep the request waiting
  if (!o.insecure && (o.key_file.empty() || o.server_key_file.empty())) {
    return InvalidArgumentError(
        "cartable admin needs --key (your secret key file, from cartable keygen) and --server-key "
        "(the coordinator's .pub file); --insecure talks to a coordinator started with --insecure");
  }
  return protocol::ZmqClientTransport::Open(
      {o.coordinator, o.key_file, o.server_key_file, o.insecure, options});
}

// Sends the command and waits for the coordinator's reply, at most --timeout seconds.
StatusOr<protocol::AdminReply> Ask(const AdminOptions& o) {
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<protocol::ZmqClientTransport> transport, Connect(o));
  CARTABLE_RETURN_IF_ERROR(
      transport->Send(protocol::Encode({0, 0, protocol::AdminRequest{o.command}})));
  const Duration timeout = std::chrono::seconds(o.timeout_s);
  const TimePoint end = SystemClock::Get().Now() + timeout;
  while (SystemClock::Get().Now() < end) {
    auto frame = transport->Receive(
        std::min<Duration>(end - SystemClock::Get().Now(), std::chrono::milliseconds(200)));
    if (!frame.ok()) {
      if (frame.status().code() != StatusCode::kPermissionDenied) return frame.status();
      // The transport's own message speaks to nodes; say what a researcher can check.
      return PermissionDeniedError(
          "the admin socket at " + o.coordinator +
          " refused the secure handshake: either your .pub file is not in the "
          "coordinator's --admin-allow directory, or --server-key is not the "
          "coordinator's public key");
    }
    if (!*frame) continue;
    auto envelope = protocol::Decode(**frame, kMaxReplyPayloadBytes);
    if (!envelope.ok()) return envelope.status().WithContext("the coordinator's reply");
    if (auto* reply = std::get_if<protocol::AdminReply>(&envelope->body)) return std::move(*reply);
  }
  std::string why = transport->HandshakeDiagnosis();
  if (why.empty()) {
    why =
        "is a coordinator running there with --admin-bind, is --server-key its public key, and is "
        "your .pub file in its --admin-allow directory? (a refused key is never answered)";
  }
  return DeadlineExceededError("no answer from " + o.coordinator + " within " +
                               std::to_string(o.timeout_s) + " s: " + why);
}

std::string Number(const nlohmann::json& value, int decimals) {
  if (!value.is_number()) return "n/a";
  char text[32];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value.get<double>());
  return text;
}

// The status document, for a person.
void PrintStatus(const nlohmann::json& s) {
  std::printf("run %s, model %s: %s\n", s.value("run_id", nlohmann::json()).dump().c_str(),
              s.value("model", std::string("?")).c_str(),
              s.value("stage", std::string("?")).c_str());
  const auto round = s.value("round", 0u);
  std::printf("rounds: %zu of %u completed%s\n", s.value("rounds_completed", size_t{0}),
              s.value("rounds_planned", 0u),
              round ? (", round " + std::to_string(round) + " in progress").c_str() : "");
  if (s.contains("stop_requested_by") && s["stop_requested_by"].is_string()) {
    std::printf("stopping after this round, as asked by '%s'\n",
                s["stop_requested_by"].get<std::string>().c_str());
  }
  if (s.contains("nodes") && s["nodes"].is_array()) {
    std::printf("%zu node(s) joined:\n", s["nodes"].size());
    for (const auto& node : s["nodes"]) {
      std::printf("  %-24s last heard %s s ago\n", node.value("name", std::string("?")).c_str(),
                  Number(node.value("seconds_since_heard", nlohmann::json()), 1).c_str());
    }
  } else if (s.contains("nodes_left_out")) {
    std::printf("%s node(s) joined (too many to list here)\n", s["nodes_left_out"].dump().c_str());
  }
  const nlohmann::json last = s.value("last_round", nlohmann::json());
  if (!last.is_object()) {
    std::printf("no round completed yet\n");
    return;
  }
  std::printf(
      "last round %s: %s node(s), train loss %s, held-out AUC %s, accuracy %s, log-loss %s, %s s\n",
      last.value("round", nlohmann::json()).dump().c_str(),
      last.value("nodes", nlohmann::json()).dump().c_str(),
      Number(last.value("train_loss", nlohmann::json()), 4).c_str(),
      Number(last.value("auc", nlohmann::json()), 4).c_str(),
      Number(last.value("accuracy", nlohmann::json()), 4).c_str(),
      Number(last.value("log_loss", nlohmann::json()), 4).c_str(),
      Number(last.value("seconds", nlohmann::json()), 2).c_str());
  if (last.contains("dropped") && last["dropped"].is_array() && !last["dropped"].empty()) {
    std::printf("  dropped: %s\n", last["dropped"].dump().c_str());
  }
}

int Run(const AdminOptions& o) {
  if (Status s = SetupLogging("warn", "admin"); !s.ok()) return ReportFailure(s);
  auto reply = Ask(o);
  if (!reply.ok()) return ReportFailure(reply.status());
  if (reply->code != 0) {
    return ReportFailure(
        Status(static_cast<StatusCode>(reply->code), "the coordinator says: " + reply->message));
  }
  const std::string text(reply->json.begin(), reply->json.end());
  if (o.json) {
    std::printf("%s\n", text.c_str());
    return kExitOk;
  }
  if (o.command == "stop") {
    std::printf("%s\n", reply->message.c_str());
    return kExitOk;
  }
  const nlohmann::json status = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (status.is_discarded() || !status.is_object()) {
    return ReportFailure(DataLossError("the coordinator's status is not a JSON object"));
  }
  PrintStatus(status);
  return kExitOk;
}

}  // namespace

Runner AddAdminCommand(CLI::App& app) {
  auto o = std::make_shared<AdminOptions>();
  CLI::App* cmd =
      app.add_subcommand("admin",
                         "Ask a running coordinator, on its admin socket (coordinator "
                         "--admin-bind), how the run is going\n"
                         "(status: rounds, stage, nodes and when each was last heard, the last "
                         "round's metrics) or to stop it\n"
                         "cleanly after the current round (stop). Only keys in the coordinator's "
                         "--admin-allow directory are\n"
                         "answered; the coordinator's run record names who stopped it.");
  cmd->add_option("command", o->command, "status or stop")
      ->required()
      ->check(CLI::IsMember({"status", "stop"}));
  cmd->add_option("--coordinator", o->coordinator,
                  "The coordinator's admin endpoint, e.g. tcp://10.0.0.5:7451")
      ->required();
  cmd->add_option(
      "--server-key", o->server_key_file,
      "The coordinator's public key file (.pub): the only server this command will talk to");
  cmd->add_option("--key", o->key_file,
                  "Your secret key file (NAME.key from cartable keygen); NAME.pub must be in the "
                  "coordinator's\n"
                  "--admin-allow directory, and NAME is how the coordinator knows you");
  cmd->add_option("--timeout", o->timeout_s, "Seconds to wait for the answer before giving up")
      ->default_val(10)
      ->check(CLI::Range(1, 3600));
  cmd->add_flag("--json", o->json, "Print the coordinator's JSON document as it came");
  cmd->add_flag("--insecure", o->insecure,
                "No CURVE (for a coordinator started with --insecure; tests only)");
  cmd->footer(
      "Example: cartable admin status --coordinator tcp://coordinator.academie.fr:7451 \\\n"
      "           --server-key keys/coordinator.pub --key keys/alice.key");
  return [o] { return Run(*o); };
}

}  // namespace cartable::cli
