#include "coordinator/admin_desk.h"

#include <nlohmann/json.hpp>

#include "coordinator/round_record_json.h"

namespace cartable::coordinator {
namespace {

protocol::Envelope Reply(const RunSnapshot& run, uint32_t code, std::string message,
                         std::string json = {}) {
  return protocol::Envelope{run.run_id, 0,
                            protocol::AdminReply{code, std::move(message),
                                                 std::vector<uint8_t>(json.begin(), json.end())}};
}

protocol::Envelope Refusal(const RunSnapshot& run, const Status& why) {
  return Reply(run, static_cast<uint32_t>(why.code()), why.message());
}

}  // namespace

StatusOr<std::string> AdminDesk::StatusDocument(const RunSnapshot& run) const {
  nlohmann::json nodes = nlohmann::json::array();
  for (const RunSnapshot::NodeView& node : run.nodes) {
    nodes.push_back({{"name", node.name}, {"seconds_since_heard", node.seconds_since_heard}});
  }
  nlohmann::json declined = nlohmann::json::array();
  for (const auto& [name, why] : run.declined) declined.push_back({{"node", name}, {"why", why}});
  nlohmann::json doc = {
      {"run_id", run.run_id},
      {"model", run.model},
      {"rounds_planned", run.rounds_planned},
      {"rounds_completed", run.rounds_completed},
      {"round", run.round},
      {"stage", run.stage},
      {"nodes", nodes},
      {"declined", declined},
      {"last_round", run.last_round ? RoundRecordJson(*run.last_round) : nlohmann::json()},
      {"stop_requested_by",
       run.stop_requested_by ? nlohmann::json(*run.stop_requested_by) : nlohmann::json()}};
  // Names come from allow-list file names and node hellos: replace invalid UTF-8 rather than throw.
  std::string text = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > options_.max_document_bytes) {
    doc["nodes"] = nullptr;
    doc["nodes_left_out"] = run.nodes.size();
    doc["declined"] = nullptr;
    doc["declined_left_out"] = run.declined.size();
    text = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  if (text.size() > options_.max_document_bytes) {
    return OutOfRangeError("the status document takes " + std::to_string(text.size()) +
                           " bytes, more than the " + std::to_string(options_.max_document_bytes) +
                           " an admin reply may carry");
  }
  return text;
}

AdminAnswer AdminDesk::Answer(const protocol::Envelope& request, const std::string& identity,
                              const RunSnapshot& run) const {
  const auto* admin = std::get_if<protocol::AdminRequest>(&request.body);
  if (admin == nullptr) {
    return {
        Refusal(run, InvalidArgumentError(
                         "the admin socket takes AdminRequest messages only, not " +
                         std::string(protocol::MessageTypeName(protocol::TypeOf(request.body))))),
        std::nullopt};
  }
  const std::string who = identity.empty() ? "unauthenticated" : identity;
  if (admin->command == "status") {
    StatusOr<std::string> doc = StatusDocument(run);
    if (!doc.ok()) return {Refusal(run, doc.status()), std::nullopt};
    return {Reply(run, 0, "OK", std::move(doc).value()), std::nullopt};
  }
  if (admin->command == "stop") {
    if (run.stage == "done") {
      return {Refusal(run, FailedPreconditionError("the run is already over")), std::nullopt};
    }
    if (run.stop_requested_by) {
      return {Reply(run, 0,
                    "a stop was already asked for by '" + *run.stop_requested_by +
                        "'; the run ends after round " + std::to_string(run.round)),
              std::nullopt};
    }
    RunSnapshot after = run;
    after.stop_requested_by = who;
    StatusOr<std::string> doc = StatusDocument(after);
    const std::string when =
        run.round == 0 ? "now (no round has started)"
                       : "after round " + std::to_string(run.round) + " (now " + run.stage + ")";
    return {Reply(run, 0, "the run stops " + when, doc.ok() ? *doc : std::string()), who};
  }
  return {Refusal(run, InvalidArgumentError("unknown admin command '" + admin->command +
                                            "': the commands are status and stop")),
          std::nullopt};
}

}  // namespace cartable::coordinator
