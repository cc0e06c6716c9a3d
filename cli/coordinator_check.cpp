// `cartable coordinator --config FILE --check`: the daemon's configuration validated, with what it
// names (its key, the allow-lists, the state directory), and explained in plain words. Nothing is
// bound, created or written.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "audit/verify.h"
#include "cli/coordinator_options.h"
#include "coordinator/run_store.h"
#include "protocol/allow_list.h"
#include "protocol/curve_keys.h"

namespace cartable::cli {
namespace {

// "3 researchers: alice, bob, carol" (`what` is the singular); the first few names only.
std::string Names(const protocol::AllowList& list, const std::string& what) {
  std::vector<std::string> names;
  for (const auto& [key, client] : list.clients) names.push_back(client.name);
  std::sort(names.begin(), names.end());
  std::string text = std::to_string(names.size()) + " " + what + (names.size() == 1 ? "" : "s");
  if (names.empty()) return text;
  text += ":";
  for (size_t i = 0; i < names.size() && i < 8; ++i) text += (i ? ", " : " ") + names[i];
  if (names.size() > 8) text += ", …";
  return text;
}

StatusOr<protocol::AllowList> Allowed(const std::string& dir, const std::string& what) {
  auto list = protocol::LoadAllowList(dir, protocol::BadKeyFiles::kFail);
  if (!list.ok()) return list.status().WithContext(what);
  return list;
}

// The state directory as it stands: the runs in its store and its audit log, verified. Reads only;
// a state directory not made yet is said so.
StatusOr<std::string> DescribeState(const std::filesystem::path& state) {
  std::error_code error;
  if (!std::filesystem::exists(state / "runs.db", error)) {
    return std::string("no run store yet (runs.db is created at the first start)");
  }
  CARTABLE_ASSIGN_OR_RETURN(auto store, coordinator::OpenSqliteRunStore(state / "runs.db"));
  CARTABLE_ASSIGN_OR_RETURN(auto counts, store->CountByState());
  std::string text = "run store runs.db:";
  bool any = false;
  for (const auto& [run_state, count] : counts) {
    text += std::string(any ? "," : "") + " " + std::to_string(count) + " " +
            std::string(coordinator::RunStateName(run_state));
    any = true;
  }
  if (!any) text += " no run yet";
  if (counts[coordinator::RunState::kRunning] > 0) text += " (resumed first at start)";
  if (std::filesystem::exists(state / "audit.jsonl", error)) {
    CARTABLE_ASSIGN_OR_RETURN(audit::VerifyResult verified,
                              audit::VerifyAuditLog(state / "audit.jsonl"));
    text += "; audit log audit.jsonl intact, " + std::to_string(verified.entries) +
            " entries, head " + verified.head.substr(0, 12) + "…";
  }
  return text;
}

}  // namespace

int CheckCoordinatorDaemon(CoordinatorOptions& o, const GivenFlag& given) {
  auto settings = ReadDaemonSettings(o, given);
  if (!settings.ok()) return ReportFailure(settings.status());
  if (o.insecure) {
    return ReportFailure(
        InvalidArgumentError("--check validates a daemon that uses CURVE; --insecure switches off "
                             "keys and allow-lists"));
  }
  auto keys = protocol::LoadCurveKeyPair(o.key_file);
  if (!keys.ok()) return ReportFailure(keys.status().WithContext("[nodes] key"));
  auto nodes = Allowed(o.allow_dir, "[nodes] allow");
  if (!nodes.ok()) return ReportFailure(nodes.status());
  auto researchers = Allowed(o.admin_allow_dir, "[admin] allow");
  if (!researchers.ok()) return ReportFailure(researchers.status());
  for (const auto& [key, client] : researchers->clients) {
    if (nodes->clients.contains(key)) {
      return ReportFailure(
          InvalidArgumentError("[admin] allow: " + client.name +
                               ".pub is also an establishment's key in [nodes] "
                               "allow; a node key must never reach the researchers' socket"));
    }
  }
  auto state = DescribeState(o.state_dir);
  if (!state.ok()) return ReportFailure(state.status().WithContext("state_dir " + o.state_dir));
  std::string operators;
  for (const std::string& name : o.operators) operators += (operators.empty() ? "" : ", ") + name;

  std::printf("%s is valid. Started with it, the coordinator daemon would:\n",
              o.config_file.c_str());
  std::printf("  - listen for node agents on %s, as the key in %s (public %s),\n", o.bind.c_str(),
              o.key_file.c_str(), keys->public_key.c_str());
  std::printf("    admitting the keys in %s, of %s;\n", o.allow_dir.c_str(),
              Names(*nodes, "establishment").c_str());
  std::printf("  - answer researchers on %s, admitting the keys in %s, of %s;\n",
              o.admin_bind.c_str(), o.admin_allow_dir.c_str(),
              Names(*researchers, "researcher").c_str());
  std::printf(
      "    operators (who see and cancel every run): %s; at most %d runs queued or running\n"
      "    per researcher;\n",
      operators.empty() ? "none" : operators.c_str(), o.max_unfinished_runs);
  std::printf(
      "  - serve the runs researchers submit one after another, keeping its state in %s:\n"
      "    %s;\n",
      o.state_dir.c_str(), state->c_str());
  std::printf(
      "  - send a heartbeat every %d s and forget a node silent %d s between rounds; take\n"
      "    messages of up to %d MiB;\n",
      o.heartbeat_s, o.node_timeout_s, o.max_message_mb);
  if (settings->metrics_address) {
    std::printf("  - serve Prometheus metrics, unauthenticated, at http://%s/metrics.\n",
                settings->metrics_address->ToString().c_str());
  } else {
    std::printf("  - serve no metrics ([metrics] listen is not set).\n");
  }
  for (const std::string& file : nodes->secret_key_files) {
    std::printf("warning: %s holds a secret key (%s): it belongs with its owner, not here\n",
                o.allow_dir.c_str(), file.c_str());
  }
  return kExitOk;
}

}  // namespace cartable::cli
