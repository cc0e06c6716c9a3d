// `cartable coordinator`: run one federated training run for node agents that connect to it.

#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/coordinator_options.h"
#include "cli/secagg_flags.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/listen.h"
#include "coordinator/run_artefacts.h"
#include "core/logging.h"
#include "core/subprocess.h"
#include "models/model.h"
#include "models/model_file.h"
#include "protocol/zmq_transport.h"

namespace cartable::cli {

protocol::ZmqOptions TransportOptions(const CoordinatorOptions& o) {
  protocol::ZmqOptions options;
  options.max_frame_bytes = static_cast<size_t>(o.max_message_mb) << 20;
  options.max_queued_bytes_per_peer = static_cast<size_t>(o.peer_queue_mb) << 20;  // 0: the default
  options.max_reassembly_bytes = static_cast<size_t>(o.reassembly_mb) << 20;
  options.transfer_idle_timeout_ms = o.transfer_timeout_s * 1000;
  return options;
}

StatusOr<std::unique_ptr<protocol::ZmqServerTransport>> Bind(const CoordinatorOptions& o) {
  CARTABLE_RETURN_IF_ERROR(CheckKeyFlags(
      o.insecure, !o.key_file.empty() && !o.allow_dir.empty(),
      "a coordinator needs --key (its secret key file, from cartable keygen) and --allow (a "
      "directory of the nodes' .pub files)"));
  if (!o.insecure) InstallReloadHandler();
  return coordinator::Listen({o.bind, o.key_file, o.allow_dir, o.insecure, TransportOptions(o)});
}

// The researchers' admin socket: its own CURVE socket, ZeroMQ context and ZAP handler, so only the
// keys in --admin-allow reach it and no node key does (nor does a researcher key reach the nodes'
// socket).
StatusOr<std::unique_ptr<protocol::ZmqServerTransport>> BindAdmin(const CoordinatorOptions& o) {
  protocol::ZmqOptions options;
  // An admin request is a command and its arguments, at most a plan file.
  options.max_frame_bytes = protocol::kMaxAdminDocumentBytes + (size_t{64} << 10);
  std::error_code ignored;
  if (o.insecure) {
    spdlog::warn(
        "--insecure: the admin socket {} lets anyone who reaches it read the run and stop it",
        o.admin_bind);
  } else if (o.admin_allow_dir.empty()) {
    return InvalidArgumentError(
        "--admin-bind needs --admin-allow, a directory of the researchers' .pub files (from "
        "cartable keygen), kept apart from the nodes' --allow directory");
  } else if (std::filesystem::equivalent(o.admin_allow_dir, o.allow_dir, ignored)) {
    return InvalidArgumentError(
        "--admin-allow must not be the nodes' --allow directory: a node's key would then be able "
        "to stop the run");
  }
  return coordinator::Listen({o.admin_bind, o.key_file, o.admin_allow_dir, o.insecure, options});
}

namespace {

// --option KEY=VALUE flags into the model spec, and the space its input kind needs.
Status CompleteModelSpec(CoordinatorOptions& o) {
  CARTABLE_RETURN_IF_ERROR(ParseModelOptions(o.model_options, o.run.model.options));
  CARTABLE_ASSIGN_OR_RETURN(models::ModelInput input, models::InputOf(o.run.model.name));
  if (input == models::ModelInput::kAnswers && o.run.model.num_skills == 0) {
    return InvalidArgumentError("model '" + o.run.model.name + "' needs --skills");
  }
  if (input == models::ModelInput::kPupilRecords && o.run.model.num_features == 0) {
    return InvalidArgumentError("model '" + o.run.model.name +
                                "' needs --features (the columns of " +
                                "the nodes' pupil records)");
  }
  return Status::Ok();
}

// --out: the final global model as a model file, its card holding the run's settings, how it
// ended, and every round's record (coordinator/run_artefacts.h).
Status WriteRunModel(const CoordinatorOptions& o, const coordinator::RoundLoop& loop) {
  return models::WriteModelFile(o.out, o.run.model, loop.global_model(),
                                coordinator::RunCard(loop, {}));
}

int Run(CoordinatorOptions& o) {
  if (Status s = SetupLogging(o.log_level, "coordinator"); !s.ok()) return ReportFailure(s);
  RaiseFileLimit(std::max(o.run.expected_nodes, o.run.min_nodes), "the coordinator");
  if (Status s = CompleteModelSpec(o); !s.ok()) return ReportFailure(s);
  if (o.secagg.mode == "on" && (o.run.min_nodes < 3 || o.run.expected_nodes < 3)) {
    return ReportFailure(
        InvalidArgumentError("--nodes " + std::to_string(o.run.expected_nodes) + " --min-nodes " +
                             std::to_string(o.run.min_nodes) +
                             ": a secure round needs 3 nodes at least (nodes refuse smaller "
                             "cohorts, since a sum of two gives each the other's update); raise "
                             "both to 3 or more, or use --secagg off for a comparison run"));
  }
  if (Status s = ApplySecAggFlags(o.secagg, o.run.secagg, o.run.contribution, o.run.expected_nodes);
      !s.ok()) {
    return ReportFailure(s);
  }
  if (!o.run.secagg.enabled) {
    spdlog::warn("--secagg off: nodes send their updates in the clear; for comparison runs only");
  }
  o.run.join_timeout = std::chrono::seconds(o.join_timeout_s);
  o.run.round_timeout = std::chrono::seconds(o.round_timeout_s);
  o.run.heartbeat_interval = std::chrono::seconds(o.heartbeat_s);
  if (o.reassembly_mb < o.max_message_mb) {
    return ReportFailure(InvalidArgumentError(
        "--reassembly-mb (" + std::to_string(o.reassembly_mb) +
        ") must be at least --max-message-mb (" + std::to_string(o.max_message_mb) + ")"));
  }
  if (!o.admin_allow_dir.empty() && o.admin_bind.empty()) {
    return ReportFailure(
        InvalidArgumentError("--admin-allow is only used with --admin-bind ENDPOINT"));
  }
  if (!o.metrics_listen.empty()) {
    return ReportFailure(InvalidArgumentError(
        "--metrics-listen is the daemon's (--config FILE); a single run has no metrics endpoint"));
  }
  auto loop = coordinator::RoundLoop::Create(o.run, SystemClock::Get());
  if (!loop.ok()) return ReportFailure(loop.status());
  auto transport = Bind(o);
  if (!transport.ok()) {
    const Status& s = transport.status();
    return ReportFailure(s.code() == StatusCode::kUnavailable ? InvalidArgumentError(s.message())
                                                              : s);
  }
  std::unique_ptr<protocol::ZmqServerTransport> admin;
  if (!o.admin_bind.empty()) {
    auto bound = BindAdmin(o);
    if (!bound.ok()) {
      const Status s = bound.status().WithContext("admin socket");
      return ReportFailure(s.code() == StatusCode::kUnavailable ? InvalidArgumentError(s.message())
                                                                : s);
    }
    admin = std::move(bound).value();
  }
  std::printf("coordinator listening on %s; waiting for %zu node(s)\n",
              (*transport)->endpoint().c_str(),
              o.run.expected_nodes ? o.run.expected_nodes : o.run.min_nodes);
  if (admin) std::printf("admin socket listening on %s\n", admin->endpoint().c_str());
  std::fflush(stdout);
  (*loop)->set_round_listener([&](const coordinator::RoundRecord& r) {
    std::printf("round %3u/%u  nodes %2zu  train loss %.4f  held-out AUC %s  %.2f s\n", r.round,
                o.run.rounds, r.nodes, r.train_loss,
                r.auc ? std::to_string(*r.auc).substr(0, 6).c_str() : "  n/a ", r.seconds);
    std::fflush(stdout);
  });
  InstallShutdownHandler();
  coordinator::ServeOptions serve;
  serve.should_stop = [] { return ShutdownRequested(); };
  serve.max_payload_bytes = static_cast<size_t>(o.max_message_mb) << 20;
  serve.admin = admin.get();
  Status outcome = coordinator::ServeRun(**loop, **transport, serve);
  if (!o.out.empty() && outcome.ok()) {
    if (Status s = WriteRunModel(o, **loop); !s.ok()) return ReportFailure(s);
    std::printf("model written to %s, its card with the rounds to %s\n", o.out.c_str(),
                models::ModelCardPath(o.out).c_str());
  }
  if (!outcome.ok()) return ReportFailure(outcome);
  if ((*loop)->stopped_by()) {
    std::printf("run stopped by admin '%s' after %zu of %u rounds\n",
                (*loop)->stopped_by()->c_str(), (*loop)->records().size(), o.run.rounds);
  }
  return kExitOk;
}

// The run: where it listens, who takes part, the model, local training, and how long each wait
// lasts.
void AddRunFlags(CLI::App* cmd, CoordinatorOptions& options) {
  CoordinatorOptions* o = &options;
  auto& run = o->run;
  cmd->add_option("--bind", o->bind, "Endpoint to listen on")->default_val("tcp://127.0.0.1:7450");
  cmd->add_option("--nodes", run.expected_nodes, "Start as soon as this many nodes have joined")
      ->default_val(3)
      ->check(CLI::Range(1, 100000));
  cmd->add_option(
         "--min-nodes", run.min_nodes,
         "Fewest nodes a round runs with: fewer at the join deadline fails the run, fewer\n"
         "later makes the round wait up to --join-timeout for nodes to (re)join. Under secure\n"
         "aggregation at least 3: nodes refuse smaller cohorts (their --min-cohort), since a sum\n"
         "of two gives each the other's update")
      ->default_val(3)
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--rounds", run.rounds, "Federated rounds")
      ->default_val(10)
      ->check(CLI::Range(1, 100000));
  std::string known;
  for (const auto& [name, description] : models::KnownModels())
    known += (known.empty() ? "" : ", ") + name;
  cmd->add_option("--model", run.model.name, "Model to train (known: " + known + ")")
      ->default_val("pfa");
  cmd->add_option("--skills", run.model.num_skills,
                  "Size of the skill space (skill ids 0..N-1); needed by answer models")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--items", run.model.num_items,
                  "Size of the item space (item ids 0..N-1); 0: none")
      ->check(CLI::Range(0, 1 << 24));
  cmd->add_option(
         "--features", run.model.num_features,
         "Columns of the nodes' pupil records; needed by records models (e.g. 22 for oulad)")
      ->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--option", o->model_options,
                  "Model hyperparameter KEY=VALUE, repeatable; sent to every node with the model");
  cmd->add_option("--local-epochs", run.train.local_epochs,
                  "Passes over its data a node makes per round")
      ->default_val(1)
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--batch-size", run.train.batch_size, "Minibatch size of local training")
      ->default_val(64)
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--learning-rate", run.train.learning_rate, "Adam step size of local training")
      ->default_val(0.05)
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", run.train.seed, "Seed of the nodes' local training")->default_val(1);
  cmd->add_option("--run-id", run.run_id, "Identifier of this run in every message")
      ->default_val(1);
  cmd->add_option("--join-timeout", o->join_timeout_s,
                  "Seconds to wait for nodes before the first round, and in a round short of nodes")
      ->default_val(300)
      ->check(CLI::Range(1, 86400));
  cmd->add_option("--round-timeout", o->round_timeout_s, "Seconds a round stage waits for nodes")
      ->default_val(120)
      ->check(CLI::Range(1, 86400));
  cmd->add_option("--heartbeat", o->heartbeat_s,
                  "Seconds between heartbeats to a node the coordinator has sent nothing else\n"
                  "to; nodes take the coordinator for gone after a few missed intervals of\n"
                  "their own --heartbeat")
      ->default_val(5)
      ->check(CLI::Range(1, 3600));
}

// Who may connect (CURVE keys, the admin socket) and how much memory and time each peer may take.
void AddSocketFlags(CLI::App* cmd, CoordinatorOptions& options) {
  CoordinatorOptions* o = &options;
  cmd->add_option("--key", o->key_file,
                  "The coordinator's secret key file (NAME.key from cartable keygen)");
  cmd->add_option("--allow", o->allow_dir,
                  "Directory of the nodes' .pub files: only these may connect (re-read on SIGHUP)");
  cmd->add_flag("--insecure", o->insecure,
                "No CURVE encryption or authentication (loopback tests only)");
  cmd->add_option("--admin-bind", o->admin_bind,
                  "Also listen for researchers on this endpoint (e.g. tcp://127.0.0.1:7451):\n"
                  "`cartable admin status` shows the run, `cartable admin stop` ends it after\n"
                  "the current round")
      ->group("Admin socket");
  cmd->add_option(
         "--admin-allow", o->admin_allow_dir,
         "Directory of the researchers' .pub files: only these reach the admin socket (re-read on\n"
         "SIGHUP). Keep it apart from --allow: node keys are refused here, researcher keys there")
      ->group("Admin socket");
  cmd->add_option("--max-message-mb", o->max_message_mb, "Largest message accepted from a node")
      ->default_val(256)
      ->check(CLI::Range(1, 4095));
  cmd->add_option(
         "--peer-queue-mb", o->peer_queue_mb,
         "Most MiB queued for one node that is not reading: a message beyond it is not sent\n"
         "and that node is dropped from the round at once. Keep it above the model's size.\n"
         "Default (0): --max-message-mb + 16")
      ->default_val(0)
      ->check(CLI::Range(0, 65535))
      ->group("Limits");
  cmd->add_option(
         "--reassembly-mb", o->reassembly_mb,
         "Most MiB held, across all nodes, for large messages still arriving (each reserves its\n"
         "declared size); one that would exceed it is refused. Plan for every node uploading a\n"
         "model-sized update at once")
      ->default_val(4096)
      ->check(CLI::Range(1, 1 << 20))
      ->group("Limits");
  cmd->add_option(
         "--transfer-timeout", o->transfer_timeout_s,
         "Seconds without a new chunk after which a large message still arriving is abandoned and\n"
         "its memory freed (a node that stopped or vanished halfway)")
      ->default_val(60)
      ->check(CLI::Range(1, 86400))
      ->group("Limits");
}

}  // namespace

Runner AddCoordinatorCommand(CLI::App& app) {
  auto o = std::make_shared<CoordinatorOptions>();
  CLI::App* cmd = app.add_subcommand(
      "coordinator",
      "Run federated training for node agents. With --config FILE, the daemon: it serves the runs\n"
      "researchers submit (cartable run submit), one after another, for as long as it runs, and\n"
      "resumes a run it was stopped in. Without, one run from the flags below, printing one line\n"
      "per round. The coordinator never sees pupil data, only model updates and summed metrics.");
  cmd->require_subcommand(0, 1);
  auto init_dir = std::make_shared<std::string>();
  CLI::App* init = cmd->add_subcommand(
      "init",
      "Write a commented coordinator.toml, the coordinator's keys and the directories for the\n"
      "nodes' and researchers' keys into DIR, to start a daemon from");
  init->add_option("dir", *init_dir, "The directory (created; must not hold a configuration)")
      ->required();
  cmd->add_option("--config", o->config_file,
                  "Serve submitted runs as a daemon, configured by this file (see `cartable\n"
                  "coordinator init`); the socket, key and limit flags below override it")
      ->group("Daemon");
  auto check = std::make_shared<bool>(false);
  cmd->add_flag("--check", *check,
                "With --config: validate the configuration and what it names (keys, allow-lists,\n"
                "state directory, audit log), explain what the daemon would do, and exit without\n"
                "starting it (0: valid)")
      ->group("Daemon");
  cmd->add_option("--metrics-listen", o->metrics_listen,
                  "Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9464),\n"
                  "overriding [metrics] listen. Unauthenticated: keep it on loopback or a\n"
                  "monitored network")
      ->group("Daemon");
  AddRunFlags(cmd, *o);
  AddSocketFlags(cmd, *o);
  cmd->add_option(
      "--out", o->out,
      "Write the final global model here as safetensors (`cartable model inspect` reads it), and\n"
      "its card, with the run's settings and rounds, as OUT.card.json");
  AddSecAggFlags(cmd, o->secagg);
  cmd->add_option("--log-level", o->log_level, "trace, debug, info, warn, error or off")
      ->default_val("info");
  cmd->footer(
      "Example. Once, make the keys (each school makes its own and sends its .pub; copy them\n"
      "into allowed/):\n"
      "  cartable keygen --out keys --name coordinator\n"
      "Then listen on every interface, for three schools, five rounds:\n"
      "  cartable coordinator --bind tcp://0.0.0.0:7450 --key keys/coordinator.key \\\n"
      "    --allow allowed --skills 20 --nodes 3 --rounds 5\n"
      "and at each school (HOST: the coordinator's address; see `cartable node --help`):\n"
      "  cartable node --coordinator tcp://HOST:7450 --coordinator-key coordinator.pub \\\n"
      "    --key keys/lycee-a.key --name lycee-a --data csv:answers.csv\n"
      "To try it on one machine without keys, add --insecure here and to each node, with\n"
      "tcp://127.0.0.1:7450.\n"
      "With --admin-bind tcp://127.0.0.1:7451 --admin-allow researchers/, a researcher whose\n"
      ".pub is in researchers/ asks how the run goes with:\n"
      "  cartable admin status --coordinator tcp://127.0.0.1:7451 \\\n"
      "    --server-key coordinator.pub --key alice.key");
  return [o, cmd, init, init_dir, check] {
    if (init->parsed()) return InitCoordinator(*init_dir);
    if (*check && o->config_file.empty()) {
      return ReportFailure(InvalidArgumentError("--check needs --config FILE: it checks a file"));
    }
    if (!o->config_file.empty()) {
      const GivenFlag given = [cmd](const std::string& flag) {
        return cmd->get_option(flag)->count() > 0;
      };
      return *check ? CheckCoordinatorDaemon(*o, given) : RunCoordinatorDaemon(*o, given);
    }
    return Run(*o);
  };
}

}  // namespace cartable::cli
