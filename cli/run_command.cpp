// `cartable run submit|list|status|watch|cancel|fetch`: a researcher's runs on a coordinator
// daemon, over its admin socket (coordinator/run_desk.h answers).

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "aggregation/secagg/digest.h"
#include "cli/admin_client.h"
#include "cli/command.h"
#include "coordinator/plan.h"
#include "core/files.h"
#include "core/logging.h"
#include "core/subprocess.h"

namespace cartable::cli {
namespace {

struct RunOptions {
  AdminEndpoint endpoint;
  std::string plan;
  uint64_t run_id = 0;
  std::string out;
  double interval_s = 1.0;
  bool json = false;
};

StatusOr<nlohmann::json> AskJson(AdminClient& client, const protocol::AdminRequest& request) {
  CARTABLE_ASSIGN_OR_RETURN(std::string text, client.AskForDocument(request));
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return DataLossError("the coordinator's answer is not a JSON object");
  }
  return doc;
}

// A run's status with its round records from index `from` on, asking again while a reply could not
// hold them all (a long run's records are paged), up to what the first reply said was completed.
StatusOr<nlohmann::json> StatusFrom(AdminClient& client, uint64_t run_id, size_t from) {
  constexpr size_t kMostRounds = 1000000;  // what a researcher's terminal takes, whatever is said
  CARTABLE_ASSIGN_OR_RETURN(nlohmann::json doc, AskJson(client, {"status", run_id, from}));
  nlohmann::json rounds = doc.value("rounds", nlohmann::json::array());
  const size_t completed = std::min(doc.value("rounds_completed", size_t{0}), kMostRounds);
  while (rounds.is_array() && !rounds.empty() && from + rounds.size() < completed) {
    CARTABLE_ASSIGN_OR_RETURN(nlohmann::json more,
                              AskJson(client, {"status", run_id, from + rounds.size()}));
    const nlohmann::json page = more.value("rounds", nlohmann::json::array());
    if (!page.is_array() || page.empty()) break;
    for (const nlohmann::json& r : page) rounds.push_back(r);
  }
  doc["rounds"] = std::move(rounds);
  return doc;
}

std::string Metric(const nlohmann::json& record, const char* key) {
  const nlohmann::json value = record.value(key, nlohmann::json());
  if (!value.is_number()) return "  n/a ";
  char text[32];
  std::snprintf(text, sizeof(text), "%.4f", value.get<double>());
  return text;
}

// "  node 'school-b' declined the run: the policy of this establishment allows …", one per node.
void PrintDeclined(const nlohmann::json& declined) {
  if (declined.is_object()) {
    for (const auto& [node, why] : declined.items()) {
      std::printf("  node '%s' %s\n", node.c_str(),
                  why.is_string() ? why.get<std::string>().c_str() : "declined the run");
    }
  } else if (declined.is_array()) {
    for (const nlohmann::json& d : declined) {
      if (!d.is_object()) continue;
      std::printf("  node '%s' %s\n", d.value("node", std::string("?")).c_str(),
                  d.value("why", std::string("declined the run")).c_str());
    }
  }
}

void PrintRound(const nlohmann::json& r, uint32_t planned) {
  std::printf("round %3u/%u  nodes %2u  train loss %s  held-out AUC %s  accuracy %s  %.2f s\n",
              r.value("round", 0u), planned, r.value("nodes", 0u), Metric(r, "train_loss").c_str(),
              Metric(r, "auc").c_str(), Metric(r, "accuracy").c_str(), r.value("seconds", 0.0));
  PrintDeclined(r.value("declined", nlohmann::json()));
}

void PrintRun(const nlohmann::json& run) {
  std::printf("run %llu '%s' by %s: %s%s%s\n",
              static_cast<unsigned long long>(run.value("run_id", uint64_t{0})),
              run.value("name", std::string()).c_str(),
              run.value("submitter", std::string()).c_str(),
              run.value("state", std::string("?")).c_str(),
              run.value("reason", std::string()).empty() ? "" : ": ",
              run.value("reason", std::string()).c_str());
  std::printf("plan %s; %u of %u rounds completed\n", run.value("plan_hash", std::string()).c_str(),
              run.value("rounds_completed", 0u), run.value("rounds_planned", 0u));
  const nlohmann::json privacy = run.value("privacy", nlohmann::json());
  if (privacy.is_object() && privacy.value("epsilon", nlohmann::json()).is_number()) {
    std::printf(
        "privacy: DP-SGD per pupil; the whole run costs each pupil ε = %.3g at δ = %.3g "
        "(%llu steps, noise multiplier %.4g, clip %.4g, sampling rate %.4g)\n",
        privacy.value("epsilon", 0.0), privacy.value("delta", 0.0),
        static_cast<unsigned long long>(privacy.value("steps", uint64_t{0})),
        privacy.value("noise_multiplier", 0.0), privacy.value("clip_norm", 0.0),
        privacy.value("sampling_rate", 0.0));
  }
  const nlohmann::json establishment = run.value("establishment_privacy", nlohmann::json());
  if (establishment.is_object() && establishment.value("epsilon", nlohmann::json()).is_number()) {
    std::printf(
        "privacy: distributed discrete Gaussian per establishment; the whole run costs each "
        "establishment ε = %.3g at δ = %.3g, even towards the coordinator (noise multiplier "
        "%.4g over at least %u establishments, sensitivity %.4g)\n",
        establishment.value("epsilon", 0.0), establishment.value("delta", 0.0),
        establishment.value("noise_multiplier", 0.0), establishment.value("min_contributors", 0u),
        establishment.value("sensitivity", 0.0));
  }
}

// The run under way, as its live status says: "now round 5, training; 3 node(s) joined: a, b, c".
void PrintLive(const nlohmann::json& live) {
  if (!live.is_object()) return;
  const nlohmann::json nodes = live.value("nodes", nlohmann::json());
  std::string joined;
  size_t count = live.value("nodes_left_out", size_t{0});
  if (nodes.is_array()) {
    count = nodes.size();
    for (const nlohmann::json& node : nodes) {
      if (!node.is_object()) continue;
      joined += (joined.empty() ? ": " : ", ") + node.value("name", std::string("?"));
    }
  }
  const uint32_t round = live.value("round", 0u);
  const std::string stage = live.value("stage", std::string("?"));
  const std::string now = round == 0 ? stage : "round " + std::to_string(round) + ", " + stage;
  std::printf("now %s; %zu node(s) joined%s\n", now.c_str(), count, joined.c_str());
  PrintDeclined(live.value("declined", nlohmann::json()));
}

int Submit(AdminClient& client, const RunOptions& o) {
  // Checked here first: the same errors, at once, without a round trip.
  auto plan = coordinator::ReadPlanFile(o.plan);
  if (!plan.ok()) return ReportFailure(plan.status());
  auto text = ReadFile(o.plan);
  if (!text.ok()) return ReportFailure(text.status());
  protocol::AdminRequest request{"submit", 0, 0, {text->begin(), text->end()}};
  auto answer = AskJson(client, request);
  if (!answer.ok()) return ReportFailure(answer.status());
  if (o.json) {
    std::printf("%s\n", answer->dump().c_str());
    return kExitOk;
  }
  std::printf("%llu\n", static_cast<unsigned long long>(answer->value("run_id", uint64_t{0})));
  std::fprintf(stderr, "submitted run %llu (plan %s); %zu run(s) ahead of it\n",
               static_cast<unsigned long long>(answer->value("run_id", uint64_t{0})),
               answer->value("plan_hash", std::string()).c_str(),
               answer->value("queued_before", size_t{0}));
  return kExitOk;
}

int List(AdminClient& client, const RunOptions& o) {
  auto answer = AskJson(client, {"list"});
  if (!answer.ok()) return ReportFailure(answer.status());
  if (o.json) {
    std::printf("%s\n", answer->dump().c_str());
    return kExitOk;
  }
  std::printf("%6s  %-9s  %-7s  %-12s  %-14s  %s\n", "RUN", "STATE", "ROUNDS", "PLAN", "SUBMITTER",
              "NAME");
  for (const nlohmann::json& run : answer->value("runs", nlohmann::json::array())) {
    const std::string rounds = std::to_string(run.value("rounds_completed", 0u)) + "/" +
                               std::to_string(run.value("rounds_planned", 0u));
    std::printf("%6llu  %-9s  %-7s  %-12.12s  %-14s  %s\n",
                static_cast<unsigned long long>(run.value("run_id", uint64_t{0})),
                run.value("state", std::string()).c_str(), rounds.c_str(),
                run.value("plan_hash", std::string()).c_str(),
                run.value("submitter", std::string()).c_str(),
                run.value("name", std::string()).c_str());
  }
  return kExitOk;
}

int ShowStatus(AdminClient& client, const RunOptions& o) {
  auto answer = StatusFrom(client, o.run_id, 0);
  if (!answer.ok()) return ReportFailure(answer.status());
  if (o.json) {
    std::printf("%s\n", answer->dump().c_str());
    return kExitOk;
  }
  PrintRun(*answer);
  PrintLive(answer->value("live", nlohmann::json()));
  for (const nlohmann::json& r : answer->value("rounds", nlohmann::json::array())) {
    PrintRound(r, answer->value("rounds_planned", 0u));
  }
  return kExitOk;
}

// Prints each round as it completes, then how the run ended; exit 0 once it ended, 1 if it failed
// or was cancelled.
int Watch(AdminClient& client, const RunOptions& o) {
  size_t shown = 0;
  std::string last_state;
  std::string last_waiting;
  while (!ShutdownRequested()) {
    auto answer = StatusFrom(client, o.run_id, shown);
    if (!answer.ok()) return ReportFailure(answer.status());
    const std::string state = answer->value("state", std::string());
    // The rounds first: a run that ended since the last poll shows its last rounds, then its end.
    for (const nlohmann::json& round : answer->value("rounds", nlohmann::json::array())) {
      PrintRound(round, answer->value("rounds_planned", 0u));
      ++shown;
    }
    const bool over = state == "ended" || state == "failed" || state == "cancelled";
    if (state != last_state && !over) {  // the end is said by PrintRun below
      std::printf("run %llu is %s\n", static_cast<unsigned long long>(o.run_id), state.c_str());
      last_state = state;
    }
    // While it waits (for nodes to join, or between attempts), say so when that changes.
    const nlohmann::json live = answer->value("live", nlohmann::json());
    if (live.is_object()) {
      const std::string stage = live.value("stage", std::string());
      const nlohmann::json nodes = live.value("nodes", nlohmann::json());
      const std::string waiting = stage + " " + std::to_string(nodes.is_array() ? nodes.size() : 0);
      if (stage != "training" && stage != "evaluating" && stage != "done" &&
          waiting != last_waiting) {
        PrintLive(live);
        last_waiting = waiting;
      }
    }
    std::fflush(stdout);
    if (over) {
      PrintRun(*answer);
      return state == "ended" ? kExitOk : kExitFailed;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(o.interval_s));
  }
  return kExitInterrupted;
}

int Cancel(AdminClient& client, const RunOptions& o) {
  auto answer = AskJson(client, {"cancel", o.run_id});
  if (!answer.ok()) return ReportFailure(answer.status());
  std::printf("run %llu: %s\n", static_cast<unsigned long long>(o.run_id),
              answer->value("state", std::string()).c_str());
  return kExitOk;
}

// Each file of the run, in pieces of at most 1 MiB, checked against the SHA-256 the coordinator
// listed before it is written (atomically) to --out.
int Fetch(AdminClient& client, const RunOptions& o) {
  auto listing = AskJson(client, {"files", o.run_id});
  if (!listing.ok()) return ReportFailure(listing.status());
  if (Status s = EnsureDirectory(o.out); !s.ok()) return ReportFailure(s);
  for (const nlohmann::json& file : listing->value("files", nlohmann::json::array())) {
    const std::string name = file.value("name", std::string());
    const auto size = file.value("bytes", uint64_t{0});
    if (name.empty() || name.find('/') != std::string::npos || name == "..") {
      return ReportFailure(DataLossError("the coordinator listed a file named '" + name + "'"));
    }
    std::string bytes;
    while (bytes.size() < size) {
      const std::vector<uint8_t> document(name.begin(), name.end());
      auto piece = client.AskForDocument({"fetch", o.run_id, bytes.size(), document});
      if (!piece.ok()) return ReportFailure(piece.status().WithContext(name));
      if (piece->empty()) break;
      bytes += *piece;
    }
    if (bytes.size() != size ||
        aggregation::secagg::Sha256Hex(bytes) != file.value("sha256", std::string())) {
      return ReportFailure(DataLossError(name + ": what arrived does not match the " +
                                         std::to_string(size) + " bytes and SHA-256 listed"));
    }
    const std::filesystem::path path = std::filesystem::path(o.out) / name;
    if (Status s = WriteFileAtomically(path, bytes); !s.ok()) return ReportFailure(s);
    std::printf("%s (%llu bytes, sha256 %s)\n", path.c_str(), static_cast<unsigned long long>(size),
                file.value("sha256", std::string()).c_str());
  }
  return kExitOk;
}

}  // namespace

Runner AddRunCommand(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Submit training runs to a coordinator daemon and follow them, over its admin socket:\n"
      "a researcher sees and cancels the runs they submitted (operators: every run).");
  cmd->require_subcommand(1);
  AddAdminEndpointFlags(cmd, o->endpoint);
  cmd->add_flag("--json", o->json, "Print the coordinator's JSON answer as it came");
  auto add = [&](const char* name, const char* help) {
    CLI::App* sub = cmd->add_subcommand(name, help);
    sub->fallthrough();  // the endpoint flags may come after the subcommand
    return sub;
  };
  CLI::App* submit = add("submit",
                         "Queue a run of PLAN (checked here first; docs/plans.md); "
                         "prints its run id");
  submit->add_option("plan", o->plan, "The plan file (TOML)")->required();
  add("list", "Your runs (an operator's: all), newest first");
  CLI::App* status = add("status", "A run's state and its rounds so far");
  CLI::App* watch = add("watch", "A line per round as the run goes, until it ends");
  watch->add_option("--interval", o->interval_s, "Seconds between two looks")
      ->default_val(1.0)
      ->check(CLI::Range(0.1, 3600.0));
  CLI::App* cancel =
      add("cancel", "End a run now (a queued one never starts); it is recorded as cancelled");
  CLI::App* fetch = add("fetch",
                        "Download what a run left: model.safetensors, its card "
                        "(model.safetensors.card.json), rounds.csv and, when the plan asked for "
                        "subgroups, fairness.csv");
  fetch->add_option("--out", o->out, "Directory to write them to (created if missing)")->required();
  for (CLI::App* sub : {status, watch, cancel, fetch}) {
    sub->add_option("run", o->run_id, "The run's id (from submit or list)")->required();
  }
  cmd->footer(
      "Example (keys: cartable keygen --out keys --name alice; the coordinator's operator puts\n"
      "keys/alice.pub in its researchers' directory and gives you coordinator.pub):\n"
      "  id=$(cartable run submit plan.toml --coordinator tcp://HOST:7451 \\\n"
      "         --server-key coordinator.pub --key keys/alice.key)\n"
      "  cartable run watch $id --coordinator tcp://HOST:7451 --server-key coordinator.pub \\\n"
      "    --key keys/alice.key\n"
      "  cartable run fetch $id --out results/ --coordinator ...");
  return [o, cmd] {
    if (Status s = SetupLogging("warn", "run"); !s.ok()) return ReportFailure(s);
    auto client = AdminClient::Connect(o->endpoint);
    if (!client.ok()) return ReportFailure(client.status());
    InstallShutdownHandler();
    const std::string which = cmd->get_subcommands().front()->get_name();
    if (which == "submit") return Submit(**client, *o);
    if (which == "list") return List(**client, *o);
    if (which == "status") return ShowStatus(**client, *o);
    if (which == "watch") return Watch(**client, *o);
    if (which == "cancel") return Cancel(**client, *o);
    return Fetch(**client, *o);
  };
}

}  // namespace cartable::cli
