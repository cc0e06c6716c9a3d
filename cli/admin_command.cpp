// `cartable admin`: a researcher asks a running coordinator, on its admin socket, how the run is
// going or to stop it after the current round.

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/admin_client.h"
#include "cli/command.h"
#include "core/logging.h"

namespace cartable::cli {
namespace {

struct AdminOptions {
  std::string command;
  AdminEndpoint endpoint;
  bool json = false;
};

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
  for (const nlohmann::json& d : s.value("declined", nlohmann::json::array())) {
    if (!d.is_object()) continue;
    std::printf("  node '%s' %s\n", d.value("node", std::string("?")).c_str(),
                d.value("why", std::string("declined the run")).c_str());
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
  auto client = AdminClient::Connect(o.endpoint);
  if (!client.ok()) return ReportFailure(client.status());
  auto reply = (*client)->Ask(protocol::AdminRequest{o.command});
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
  if (status.contains("queued")) {  // a coordinator daemon: its own state, and the run under way
    std::printf("coordinator daemon: %s run(s) queued; %s\n", status["queued"].dump().c_str(),
                status["running"].is_null()
                    ? "no run in progress"
                    : ("run " + status["running"].dump() + " in progress").c_str());
    if (status.contains("live") && status["live"].is_object()) PrintStatus(status["live"]);
    return kExitOk;
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
  AddAdminEndpointFlags(cmd, o->endpoint);
  cmd->add_flag("--json", o->json, "Print the coordinator's JSON document as it came");
  cmd->footer(
      "Example: cartable admin status --coordinator tcp://coordinator.academie.fr:7451 \\\n"
      "           --server-key keys/coordinator.pub --key keys/alice.key");
  return [o] { return Run(*o); };
}

}  // namespace cartable::cli
