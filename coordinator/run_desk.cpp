#include "coordinator/run_desk.h"

#include <algorithm>
#include <fstream>

#include "aggregation/secagg/digest.h"
#include "coordinator/plan.h"
#include "core/files.h"

namespace cartable::coordinator {
namespace {

constexpr size_t kListedRuns = 200;
// Bytes kept free in a status reply beyond its fields and rounds: what re-serialising the parsed
// round records may add (they are stored compact, and written back compact).
constexpr size_t kStatusMargin = 4096;

protocol::Envelope Reply(uint64_t run_id, const StatusOr<std::string>& document) {
  protocol::AdminReply reply;
  if (document.ok()) {
    reply.message = "OK";
    reply.json.assign(document->begin(), document->end());
  } else {
    reply.code = static_cast<uint32_t>(document.status().code());
    reply.message = document.status().message();
  }
  return protocol::Envelope{run_id, 0, std::move(reply)};
}

nlohmann::json RunJson(const StoredRun& run) {
  return {{"run_id", run.id},
          {"name", run.name},
          {"submitter", run.submitter},
          {"plan_hash", run.plan_hash},
          {"state", RunStateName(run.state)},
          {"reason", run.reason},
          {"submitted_ms", run.submitted_ms},
          {"started_ms", run.started_ms},
          {"ended_ms", run.ended_ms},
          {"rounds_planned", run.rounds_planned},
          {"rounds_completed", run.rounds_completed}};
}

std::string Dump(const nlohmann::json& json) {
  // Names come from allow-list file names and plans: replace invalid UTF-8 rather than throw.
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

RunDesk::RunDesk(RunStore& store, RunDeskOptions options)
    : store_(store), options_(std::move(options)) {}

AdminAnswer RunDesk::Answer(const protocol::Envelope& envelope, const std::string& identity,
                            const RunSnapshot* running) {
  const auto* request = std::get_if<protocol::AdminRequest>(&envelope.body);
  if (request == nullptr) {
    return {Reply(0, InvalidArgumentError("the admin socket takes AdminRequest messages only"))};
  }
  const std::string who = identity.empty() ? "unauthenticated" : identity;
  const std::string& command = request->command;
  if (command == "submit") return {Reply(0, Submit(*request, who))};
  if (command == "list") return {Reply(0, List(who))};
  if (command == "status" && request->run_id == 0) {
    return {Reply(0, DaemonStatus(running))};
  }
  const uint64_t id =
      request->run_id == 0 && command == "stop" && running ? running->run_id : request->run_id;
  if (command != "status" && command != "cancel" && command != "stop" && command != "files" &&
      command != "fetch") {
    return {Reply(id, InvalidArgumentError(
                          "unknown command '" + command +
                          "': the commands are submit, list, status, cancel, stop, files, fetch"))};
  }
  StatusOr<StoredRun> run = Visible(id, who);
  if (!run.ok()) return {Reply(id, run.status())};
  const bool is_running = running != nullptr && running->run_id == run->id;
  if (command == "status") return {Reply(id, RunStatus(*run, running, request->offset))};
  if (command == "files") return {Reply(id, Files(*run))};
  if (command == "fetch") return {Reply(id, Fetch(*run, *request))};
  if (IsFinal(run->state)) {
    return {Reply(id, FailedPreconditionError("run " + std::to_string(id) + " has already " +
                                              std::string(RunStateName(run->state))))};
  }
  if (command == "stop") {
    if (!is_running) {
      return {Reply(id, FailedPreconditionError("run " + std::to_string(id) +
                                                " has not started; cancel it instead"))};
    }
    AdminAnswer answer = live_.Answer(envelope, who, *running);
    answer.reply.run_id = id;
    return answer;
  }
  // cancel
  if (options_.audit) {
    Status logged = options_.audit("run_cancelled", {{"run_id", id}, {"by", who}});
    if (!logged.ok()) return {Reply(id, logged)};
  }
  if (is_running) {
    return {Reply(id, std::string(Dump({{"run_id", id}, {"state", "cancelling"}}))), std::nullopt,
            who};
  }
  Status cancelled =
      store_.SetState(id, RunState::kCancelled, "cancelled by " + who, options_.now_ms());
  if (!cancelled.ok()) return {Reply(id, cancelled)};
  return {Reply(id, std::string(Dump({{"run_id", id}, {"state", "cancelled"}})))};
}

StatusOr<StoredRun> RunDesk::Visible(uint64_t run_id, const std::string& who) {
  CARTABLE_ASSIGN_OR_RETURN(std::optional<StoredRun> run, store_.Find(run_id));
  if (!run || (run->submitter != who && !IsOperator(who))) {
    return NotFoundError("no run " + std::to_string(run_id) + " of yours");
  }
  return *run;
}

StatusOr<std::string> RunDesk::Submit(const protocol::AdminRequest& request,
                                      const std::string& who) {
  if (request.document.size() > kMaxPlanBytes) {
    return InvalidArgumentError("a plan of " + std::to_string(request.document.size()) +
                                " bytes: plans are at most " + std::to_string(kMaxPlanBytes));
  }
  const std::string text(request.document.begin(), request.document.end());
  CARTABLE_ASSIGN_OR_RETURN(Plan plan, ParsePlan(text, "plan"));
  CARTABLE_ASSIGN_OR_RETURN(uint64_t unfinished, store_.CountUnfinished(who));
  if (unfinished >= options_.max_unfinished_runs) {
    return ResourceExhaustedError(
        "you have " + std::to_string(unfinished) +
        " runs queued or running, the most this coordinator takes from one researcher; wait for "
        "one to end or cancel one (cartable run list, cartable run cancel ID)");
  }
  StoredRun run;
  run.submitter = who;
  run.name = plan.name;
  run.plan = text;
  run.plan_hash = PlanHash(plan);
  run.submitted_ms = options_.now_ms();
  run.rounds_planned = plan.run.rounds;
  CARTABLE_ASSIGN_OR_RETURN(auto counts, store_.CountByState());
  const uint64_t ahead = counts[RunState::kQueued] + counts[RunState::kRunning];
  CARTABLE_ASSIGN_OR_RETURN(run.id, store_.Submit(run));
  if (options_.audit) {
    CARTABLE_RETURN_IF_ERROR(options_.audit(
        "run_submitted",
        {{"run_id", run.id}, {"by", who}, {"plan_hash", run.plan_hash}, {"name", run.name}}));
  }
  return Dump({{"run_id", run.id}, {"plan_hash", run.plan_hash}, {"queued_before", ahead}});
}

StatusOr<std::string> RunDesk::List(const std::string& who) {
  CARTABLE_ASSIGN_OR_RETURN(std::vector<StoredRun> runs, store_.List(kListedRuns));
  nlohmann::json listed = nlohmann::json::array();
  for (const StoredRun& run : runs) {
    if (run.submitter == who || IsOperator(who)) listed.push_back(RunJson(run));
  }
  return Dump({{"runs", listed}});
}

StatusOr<std::string> RunDesk::DaemonStatus(const RunSnapshot* running) {
  CARTABLE_ASSIGN_OR_RETURN(std::vector<StoredRun> runs, store_.List(kListedRuns));
  size_t queued = 0;
  for (const StoredRun& r : runs) queued += r.state == RunState::kQueued;
  nlohmann::json doc = {{"running", running ? nlohmann::json(running->run_id) : nlohmann::json()},
                        {"queued", queued}};
  if (running) {
    CARTABLE_ASSIGN_OR_RETURN(std::string live, live_.StatusDocument(*running));
    doc["live"] = nlohmann::json::parse(live);
  }
  return Dump(doc);
}

StatusOr<std::string> RunDesk::RunStatus(const StoredRun& run, const RunSnapshot* running,
                                         uint64_t first_round) {
  nlohmann::json doc = RunJson(run);
  if (auto plan = ParsePlan(run.plan, "plan"); plan.ok()) {
    if (plan->run.dp.enabled != 0) doc["privacy"] = RunPrivacy(plan->run);
    if (plan->run.establishment_dp.enabled != 0)
      doc["establishment_privacy"] = RunEstablishmentPrivacy(plan->run);
  }
  if (running != nullptr && running->run_id == run.id) {
    CARTABLE_ASSIGN_OR_RETURN(std::string live, live_.StatusDocument(*running));
    doc["live"] = nlohmann::json::parse(live);
  }
  CARTABLE_ASSIGN_OR_RETURN(std::vector<std::string> records, store_.RoundRecords(run.id));
  // The records from `first_round` on, as many as the reply holds: a long run's are paged.
  const size_t from = static_cast<size_t>(std::min<uint64_t>(first_round, records.size()));
  doc["rounds_from"] = from;
  doc["rounds"] = nlohmann::json::array();
  size_t room = protocol::kMaxAdminDocumentBytes -
                std::min(protocol::kMaxAdminDocumentBytes, Dump(doc).size() + kStatusMargin);
  nlohmann::json rounds = nlohmann::json::array();
  for (size_t r = from; r < records.size() && records[r].size() + 1 <= room; ++r) {
    room -= records[r].size() + 1;
    rounds.push_back(nlohmann::json::parse(records[r], nullptr, /*allow_exceptions=*/false));
  }
  doc["rounds"] = std::move(rounds);
  return Dump(doc);
}

StatusOr<std::string> RunDesk::Files(const StoredRun& run) {
  const std::filesystem::path dir = options_.runs_dir / std::to_string(run.id);
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    return FailedPreconditionError("run " + std::to_string(run.id) + " is " +
                                   std::string(RunStateName(run.state)) +
                                   " and has no artefacts yet");
  }
  nlohmann::json files = nlohmann::json::array();
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (!entry.is_regular_file()) continue;
    CARTABLE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(entry.path()));
    files.push_back({{"name", entry.path().filename().string()},
                     {"bytes", bytes.size()},
                     {"sha256", aggregation::secagg::Sha256Hex(bytes)}});
  }
  if (error) return InternalError(dir.string() + ": " + error.message());
  return Dump({{"run_id", run.id}, {"files", files}});
}

StatusOr<std::string> RunDesk::Fetch(const StoredRun& run, const protocol::AdminRequest& request) {
  const std::string name(request.document.begin(), request.document.end());
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    return InvalidArgumentError("fetch takes the name of one of the run's files (see files)");
  }
  const std::filesystem::path path = options_.runs_dir / std::to_string(run.id) / name;
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("run " + std::to_string(run.id) + " has no file '" + name + "'");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<uint64_t>(in.tellg());
  if (request.offset > size) {
    return OutOfRangeError("offset " + std::to_string(request.offset) + " is past the end of " +
                           name + " (" + std::to_string(size) + " bytes)");
  }
  std::string chunk(std::min<uint64_t>(size - request.offset, protocol::kMaxAdminDocumentBytes),
                    '\0');
  in.seekg(static_cast<std::streamoff>(request.offset));
  in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  if (!in) return InternalError("reading " + path.string() + " failed");
  return chunk;
}

}  // namespace cartable::coordinator
