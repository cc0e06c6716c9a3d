// The coordinator and node daemons as an academy installs them and a researcher uses them, all real
// processes over CURVE: `coordinator init` and `node init`, runs submitted, watched and fetched
// with `cartable run`, two runs served back to back by the same node processes, a coordinator
// killed with SIGKILL mid-run that resumes bit-identically, and who may see and cancel what.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "core/files.h"
#include "core/subprocess.h"
#include "exchange/pupil_dp_wire.h"
#include "federation_fixtures.h"
#include "process_helpers.h"
#include "protocol/curve_keys.h"
#include "raw_curve_peer.h"

namespace cartable::testing {
namespace {

using std::chrono::seconds;
namespace fs = std::filesystem;

// Runs `cartable ARGS...` to its end; returns its exit code and output (stdout and stderr).
std::pair<int, std::string> Cartable(const std::vector<std::string>& args, const fs::path& log,
                                     seconds timeout = seconds(60)) {
  std::vector<std::string> argv{CARTABLE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  fs::remove(log);
  auto child = ChildProcess::Spawn(argv, log).value();
  std::optional<int> code = child->WaitFor(timeout);
  if (!code) code = child->Terminate();
  return {*code, Slurp(log)};
}

void Copy(const fs::path& from, const fs::path& to) {
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

constexpr const char* kPlan = R"toml(
name = "NAME"
rounds = ROUNDS
[model]
name = "pfa"
[data]
skills = 6
[nodes]
min = 3
expected = 3
[local_training]
seed = 5
[strategy]
name = "STRATEGY"
[secure_aggregation]
enabled = SECURE
[deadlines]
round_seconds = 20
)toml";

std::string Plan(const std::string& name, const std::string& strategy, bool secure,
                 int rounds = 4) {
  std::string plan = kPlan;
  plan.replace(plan.find("ROUNDS"), 6, std::to_string(rounds));
  plan.replace(plan.find("NAME"), 4, name);
  plan.replace(plan.find("STRATEGY"), 8, strategy);
  plan.replace(plan.find("SECURE"), 6, secure ? "true" : "false");
  return plan;
}

// GET http://127.0.0.1:PORT/PATH.
httplib::Result Fetch(const std::string& port, const std::string& path) {
  httplib::Client client("127.0.0.1", std::stoi(port));
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  return client.Get(path.c_str());
}

// The samples of a Prometheus text page, by "name{labels}"; a line that is neither a # HELP or
// # TYPE comment nor `name{labels} value` fails the test.
std::map<std::string, double> ParseMetrics(const std::string& text) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")"
      R"((,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})?) (\S+)$)");
  std::map<std::string, double> samples;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    std::smatch sample;
    EXPECT_TRUE(std::regex_match(line, sample, kSample)) << "not a sample: " << line;
    if (sample.empty()) continue;
    const std::string value = sample[sample.size() - 1];
    size_t parsed = 0;
    samples[sample[1]] = std::stod(value, &parsed);
    EXPECT_EQ(parsed, value.size()) << "not a number: " << line;
  }
  return samples;
}

// How many times `needle` occurs in `text`.
size_t Count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// A coordinator daemon, three node daemons and two researchers, installed in a scratch directory
// the way docs/researcher-guide.md and docs/operations.md say.
class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nodes_endpoint_ = FreeLoopbackEndpoint();
    admin_endpoint_ = FreeLoopbackEndpoint();
    ASSERT_EQ(Cartable({"coordinator", "init", (dir() / "coord").string()}, Log("init")).first, 0);
    for (const char* who : {"alice", "bob"}) {
      ASSERT_EQ(Cartable({"keygen", "--out", (dir() / "researchers").string(), "--name", who},
                         Log("keygen"))
                    .first,
                0);
      Copy(dir() / "researchers" / (std::string(who) + ".pub"),
           dir() / "coord" / "researchers" / (std::string(who) + ".pub"));
    }
    const auto data = WriteSmallSchools(dir(), 3);
    for (int i = 0; i < 3; ++i) {
      const std::string name = "school-" + std::to_string(i);
      const fs::path home = dir() / name;
      ASSERT_EQ(Cartable({"node", "init", home.string(), "--name", name}, Log("init")).first, 0);
      Copy(home / "keys" / (name + ".pub"), dir() / "coord" / "nodes" / (name + ".pub"));
      Copy(home / "keys" / (name + ".sign.pub"), dir() / "coord" / "nodes" / (name + ".sign.pub"));
      Copy(dir() / "coord" / "keys" / "coordinator.pub", home / "coordinator.pub");
      Copy(data[static_cast<size_t>(i)], home / "data" / "answers.csv");
    }
  }

  void TearDown() override {
    for (auto& node : nodes_) node->Terminate();
    if (coordinator_) coordinator_->Terminate();
  }

  const fs::path& dir() const { return scratch_.path(); }
  fs::path Log(const std::string& name) const { return dir() / (name + ".log"); }

  // The daemon's command line, with `extra` flags.
  std::vector<std::string> CoordinatorArgs(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> args{
        "coordinator",   "--config",      (dir() / "coord" / "coordinator.toml").string(),
        "--bind",        nodes_endpoint_, "--admin-bind",
        admin_endpoint_, "--heartbeat",   "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  void StartCoordinator(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{CARTABLE_BINARY};
    for (const std::string& arg : CoordinatorArgs(extra)) argv.push_back(arg);
    coordinator_ = ChildProcess::Spawn(argv, Log("coordinator")).value();
    ASSERT_TRUE(WaitForText(Log("coordinator"), "coordinator daemon:", seconds(30)))
        << Slurp(Log("coordinator"));
  }

  void StartNodes() {
    for (int i = 0; i < 3; ++i) {
      const std::string name = "school-" + std::to_string(i);
      nodes_.push_back(ChildProcess::Spawn({CARTABLE_BINARY, "node", "--config",
                                            (dir() / name / "node.toml").string(), "--coordinator",
                                            nodes_endpoint_, "--allow-plain-updates", "--heartbeat",
                                            "1", "--missed-heartbeats", "2"},
                                           Log(name))
                           .value());
    }
  }

  // `cartable run COMMAND ... ` as `who`.
  std::pair<int, std::string> Run(const std::string& who, std::vector<std::string> args,
                                  seconds timeout = seconds(60)) {
    args.insert(args.begin(), "run");
    for (const std::string& flag :
         {std::string("--coordinator"), admin_endpoint_, std::string("--server-key"),
          (dir() / "coord" / "keys" / "coordinator.pub").string(), std::string("--key"),
          (dir() / "researchers" / (who + ".key")).string()}) {
      args.push_back(flag);
    }
    return Cartable(args, Log("run-" + who), timeout);
  }

  std::string Submit(const std::string& who, const std::string& plan_text,
                     const std::string& file) {
    const fs::path plan = dir() / file;
    EXPECT_TRUE(WriteFileAtomically(plan, plan_text).ok());
    auto [code, out] = Run(who, {"submit", plan.string()});
    EXPECT_EQ(code, 0) << out;
    std::smatch id;
    EXPECT_TRUE(std::regex_search(out, id, std::regex("(^|\n)([0-9]+)\n"))) << out;
    return id.size() > 2 ? id[2].str() : "0";
  }

  // A port of 127.0.0.1 that no one listens on now.
  static std::string FreePort() {
    const std::string endpoint = FreeLoopbackEndpoint();
    return endpoint.substr(endpoint.rfind(':') + 1);
  }

  ScratchDir scratch_{"cartable-service"};
  std::string nodes_endpoint_;
  std::string admin_endpoint_;
  std::unique_ptr<ChildProcess> coordinator_;
  std::vector<std::unique_ptr<ChildProcess>> nodes_;
};

TEST_F(ServiceTest, TwoRunsSubmittedWatchedAndFetchedAreServedByTheSameNodeDaemons) {
  StartCoordinator();
  StartNodes();
  const std::string first = Submit("alice", Plan("adam", "fedadam", true), "adam.toml");
  const std::string second = Submit("alice", Plan("momentum", "fedavgm", true), "momentum.toml");
  EXPECT_NE(first, second);

  auto [watched, progress] = Run("alice", {"watch", first}, seconds(300));
  EXPECT_EQ(watched, 0) << progress;
  EXPECT_NE(progress.find("round   4/4"), std::string::npos) << progress;
  EXPECT_NE(progress.find("ended"), std::string::npos) << progress;
  auto [watched2, progress2] = Run("alice", {"watch", second}, seconds(300));
  EXPECT_EQ(watched2, 0) << progress2 << Slurp(Log("coordinator"));

  const fs::path out = dir() / "fetched";
  auto [fetched, listing] = Run("alice", {"fetch", first, "--out", out.string()});
  ASSERT_EQ(fetched, 0) << listing;
  for (const char* file : {"model.safetensors", "model.safetensors.card.json", "rounds.csv"}) {
    EXPECT_TRUE(fs::exists(out / file)) << file << "\n" << listing;
  }
  auto [checked, explained] =
      Cartable({"plan", "check", (dir() / "adam.toml").string()}, Log("check"));
  ASSERT_EQ(checked, 0) << explained;
  const std::string hash = explained.substr(explained.find("Plan hash: ") + 11, 64);
  const std::string card = Slurp(out / "model.safetensors.card.json");
  EXPECT_NE(card.find(hash), std::string::npos) << card;
  EXPECT_NE(card.find("fedadam"), std::string::npos);
  const std::string rounds = Slurp(out / "rounds.csv");
  EXPECT_EQ(std::count(rounds.begin(), rounds.end(), '\n'), 5) << rounds;  // a header, 4 rounds

  auto [listed, runs] = Run("alice", {"list"});
  EXPECT_EQ(listed, 0);
  EXPECT_EQ(std::count(runs.begin(), runs.end(), '\n'), 3) << runs;  // a header and two runs
  // The node daemons served both runs and are still waiting for the next.
  for (auto& node : nodes_) EXPECT_FALSE(node->Poll().has_value());
  for (auto& node : nodes_) EXPECT_EQ(node->Terminate(), 0);
  nodes_.clear();
  EXPECT_EQ(coordinator_->Terminate(), 0) << Slurp(Log("coordinator"));
  coordinator_.reset();

  auto [verified, said] = Cartable(
      {"audit", "verify", (dir() / "coord" / "state" / "audit.jsonl").string()}, Log("verify"));
  EXPECT_EQ(verified, 0) << said;
  const std::string coordinator_log = Slurp(dir() / "coord" / "state" / "audit.jsonl");
  EXPECT_EQ(Count(coordinator_log, R"("event":"node_joined")"), 6U) << coordinator_log;
  EXPECT_GE(Count(coordinator_log, R"("event":"round_started")"), 8U) << coordinator_log;
  EXPECT_EQ(Count(coordinator_log, R"("event":"round_completed")"), 8U) << coordinator_log;
  // Each node's own log: intact, from its start to its stop, both runs offered, each round's
  // masked input recorded by size and hash.
  for (int i = 0; i < 3; ++i) {
    const fs::path log = dir() / ("school-" + std::to_string(i)) / "state" / "audit.jsonl";
    auto [node_verified, node_said] = Cartable({"audit", "verify", log.string()}, Log("verify"));
    EXPECT_EQ(node_verified, 0) << node_said;
    const std::string text = Slurp(log);
    EXPECT_LT(text.find(R"("event":"node_started")"), text.find('\n')) << text;
    EXPECT_NE(text.rfind(R"("event":"node_stopped")"), std::string::npos) << text;
    EXPECT_EQ(Count(text, R"("event":"run_offered")"), 2U) << text;
    EXPECT_EQ(Count(text, R"("event":"run_ended")"), 2U) << text;
    // 2 runs of 4 rounds, each with two secure sums: the update, then the evaluation statistics.
    EXPECT_EQ(Count(text, R"("type":"MaskedInput")"), 16U) << text;
    EXPECT_NE(text.find(R"("plan_hash":")" + hash + "\""), std::string::npos) << text;
    // Its own evaluation report beside it: one entry per evaluation, intact, never sent.
    const fs::path report = dir() / ("school-" + std::to_string(i)) / "state" / "evaluations.jsonl";
    auto [report_verified, report_said] =
        Cartable({"audit", "verify", report.string()}, Log("verify"));
    EXPECT_EQ(report_verified, 0) << report_said;
    EXPECT_EQ(Count(Slurp(report), R"("event":"evaluated_here")"), 8U) << Slurp(report);
  }
}

// An establishment whose policy declines the plan takes no part, says why, and the run goes on with
// the others; the researcher reads the reason in run status, both audit logs record it.
TEST_F(ServiceTest, ANodeWhosePolicyDeclinesThePlanIsLeftOutAndTheResearcherSeesWhy) {
  const fs::path toml = dir() / "school-2" / "node.toml";
  std::string config = Slurp(toml);
  const std::string commented = "# max_local_epochs = 5";
  ASSERT_NE(config.find(commented), std::string::npos) << config;
  config.replace(config.find(commented), commented.size(), "max_local_epochs = 1");
  ASSERT_TRUE(WriteFileAtomically(toml, config).ok());
  StartCoordinator();
  StartNodes();
  std::string plan = Plan("two-epochs", "fedavg", false, 3);
  plan.replace(plan.find("min = 3"), 7, "min = 2");
  plan.replace(plan.find("seed = 5"), 8, "seed = 5\nepochs = 2");
  const std::string run = Submit("alice", plan, "two-epochs.toml");
  auto [watched, progress] = Run("alice", {"watch", run}, seconds(300));
  EXPECT_EQ(watched, 0) << progress << Slurp(Log("coordinator"));
  const std::string reason = "the policy of this establishment allows at most 1 local epoch";
  auto [shown, status] = Run("alice", {"status", run});
  EXPECT_EQ(shown, 0) << status;
  EXPECT_NE(status.find("node 'school-2' declined the run: " + reason), std::string::npos)
      << status;
  EXPECT_NE(status.find("round   3/3  nodes  2"), std::string::npos) << status;
  EXPECT_EQ(Count(status, "declined the run"), 1U) << "asked once, not at each round\n" << status;

  for (auto& node : nodes_) EXPECT_EQ(node->Terminate(), 0);
  nodes_.clear();
  EXPECT_EQ(coordinator_->Terminate(), 0) << Slurp(Log("coordinator"));
  coordinator_.reset();
  const std::string coordinator_log = Slurp(dir() / "coord" / "state" / "audit.jsonl");
  EXPECT_EQ(Count(coordinator_log, R"("event":"node_declined")"), 1U) << coordinator_log;
  EXPECT_NE(coordinator_log.find(reason), std::string::npos) << coordinator_log;
  const std::string node_log = Slurp(dir() / "school-2" / "state" / "audit.jsonl");
  EXPECT_EQ(Count(node_log, R"("event":"round_refused")"), 1U) << node_log;
  EXPECT_EQ(Count(node_log, R"("type":"TrainResult")"), 0U) << node_log;
}

// Two runs with DP-SGD per pupil: each node charges each run's ε to its own privacy ledger before
// training; the second would take school-2 over its yearly cap, so school-2 declines it with the
// reason, which the researcher reads, while the other two train it.
TEST_F(ServiceTest, ADpRunOverANodesYearlyCapIsDeclinedByThatNodeWhileTheOthersTrainIt) {
  protocol::WirePupilDp dp{.enabled = 1,
                           .noise_multiplier = 1.5,
                           .clip_norm = 1.0,
                           .sampling_rate = 0.5,
                           .delta = 1e-5,
                           .rounds = 2};
  auto epsilon = exchange::RunEpsilon(dp, 1);
  ASSERT_TRUE(epsilon.ok()) << epsilon.status();
  const fs::path toml = dir() / "school-2" / "node.toml";
  std::string config = Slurp(toml);
  const std::string commented = "# max_epsilon_per_year = 8";
  ASSERT_NE(config.find(commented), std::string::npos) << config;
  config.replace(config.find(commented), commented.size(),
                 "max_epsilon_per_year = " + std::to_string(epsilon->epsilon * 1.5));
  ASSERT_TRUE(WriteFileAtomically(toml, config).ok());
  StartCoordinator();
  StartNodes();
  const std::string privacy =
      "[privacy]\npupil_dp = true\nnoise_multiplier = 1.5\nsampling_rate = 0.5\n";
  auto plan = [&](const std::string& name) {
    std::string text = Plan(name, "fedavg", false, 2);
    text.replace(text.find("min = 3"), 7, "min = 2");
    return text + privacy;
  };
  const std::string first = Submit("alice", plan("first"), "first.toml");
  auto [watched, progress] = Run("alice", {"watch", first}, seconds(300));
  ASSERT_EQ(watched, 0) << progress << Slurp(Log("coordinator"));
  auto [shown, status] = Run("alice", {"status", first});
  EXPECT_EQ(shown, 0) << status;
  EXPECT_NE(status.find("privacy: DP-SGD per pupil; the whole run costs each pupil ε = "),
            std::string::npos)
      << status;
  EXPECT_NE(status.find("round   2/2  nodes  3"), std::string::npos) << status;

  const std::string second = Submit("alice", plan("second"), "second.toml");
  std::tie(watched, progress) = Run("alice", {"watch", second}, seconds(300));
  ASSERT_EQ(watched, 0) << progress << Slurp(Log("coordinator"));
  std::tie(shown, status) = Run("alice", {"status", second});
  EXPECT_NE(status.find("node 'school-2' declined the run: the policy of this establishment "
                        "allows ε up to"),
            std::string::npos)
      << status;
  EXPECT_NE(status.find("per school year"), std::string::npos) << status;
  EXPECT_NE(status.find("round   2/2  nodes  2"), std::string::npos) << status;

  for (auto& node : nodes_) EXPECT_EQ(node->Terminate(), 0);
  nodes_.clear();
  auto charges = [&](int school) {
    return Count(
        Slurp(dir() / ("school-" + std::to_string(school)) / "state" / "privacy-ledger.jsonl"),
        "\"run_id\"");
  };
  EXPECT_EQ(charges(0), 2U);
  EXPECT_EQ(charges(1), 2U);
  EXPECT_EQ(charges(2), 1U) << "the declined run is not charged";
  const std::string node_log = Slurp(dir() / "school-2" / "state" / "audit.jsonl");
  EXPECT_EQ(Count(node_log, R"("event":"round_refused")"), 1U) << node_log;
  EXPECT_EQ(Count(node_log, R"("pupil_dp":{)"), 2U) << "both offers name their DP parameters";
}

TEST_F(ServiceTest, ACoordinatorKilledMidRunResumesAndEndsBitIdenticalToAnUninterruptedRun) {
  StartCoordinator();
  StartNodes();
  // Secure rounds of a small model take tens of milliseconds: enough of them that the kill lands
  // mid-run.
  const std::string plan = Plan("replay", "fedyogi", true, 150);
  const std::string killed = Submit("alice", plan, "replay.toml");
  ASSERT_TRUE(WaitForText(Log("coordinator"), "round   2", seconds(120)))
      << Slurp(Log("coordinator"));
  coordinator_->Signal(SIGKILL);
  coordinator_->WaitFor(std::chrono::milliseconds(5000));
  StartCoordinator();
  ASSERT_TRUE(WaitForText(Log("coordinator"), "resumes after round", seconds(30)))
      << Slurp(Log("coordinator"));
  auto [watched, progress] = Run("alice", {"watch", killed}, seconds(300));
  ASSERT_EQ(watched, 0) << progress << Slurp(Log("coordinator"));

  const std::string whole = Submit("alice", plan, "replay.toml");
  auto [watched2, progress2] = Run("alice", {"watch", whole}, seconds(300));
  ASSERT_EQ(watched2, 0) << progress2;
  ASSERT_EQ(Run("alice", {"fetch", killed, "--out", (dir() / "killed").string()}).first, 0);
  ASSERT_EQ(Run("alice", {"fetch", whole, "--out", (dir() / "whole").string()}).first, 0);
  const std::string a = Slurp(dir() / "killed" / "model.safetensors");
  const std::string b = Slurp(dir() / "whole" / "model.safetensors");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "the resumed run's model differs from the uninterrupted run's";
}

TEST_F(ServiceTest, AResearcherSeesAndCancelsOnlyTheirOwnRunsAndOperatorsAnyRun) {
  // An operator, named in the configuration.
  std::string config = Slurp(dir() / "coord" / "coordinator.toml");
  config.replace(config.find("operators = []"), 14, "operators = [\"bob\"]");
  ASSERT_TRUE(WriteFileAtomically(dir() / "coord" / "coordinator.toml", config).ok());
  StartCoordinator();  // no nodes: the runs stay queued
  const std::string mine = Submit("alice", Plan("a", "fedavg", true), "a.toml");
  const std::string other = Submit("alice", Plan("b", "fedavg", true), "b.toml");
  // A third researcher, not an operator.
  ASSERT_EQ(Cartable({"keygen", "--out", (dir() / "researchers").string(), "--name", "carol"},
                     Log("keygen"))
                .first,
            0);
  Copy(dir() / "researchers" / "carol.pub", dir() / "coord" / "researchers" / "carol.pub");
  coordinator_->Signal(SIGHUP);  // re-read the allow-list
  std::this_thread::sleep_for(seconds(1));
  auto [seen, status] = Run("carol", {"status", mine});
  EXPECT_NE(seen, 0);
  EXPECT_NE(status.find("no run " + mine + " of yours"), std::string::npos) << status;
  EXPECT_NE(Run("carol", {"cancel", mine}).first, 0);
  auto [listed, runs] = Run("carol", {"list"});
  EXPECT_EQ(listed, 0);
  EXPECT_EQ(std::count(runs.begin(), runs.end(), '\n'), 1) << runs;  // the header alone
  EXPECT_EQ(Run("alice", {"cancel", mine}).first, 0);
  EXPECT_EQ(Run("bob", {"cancel", other}).first, 0) << "an operator cancels any run";
  auto [shown, states] = Run("alice", {"list"});
  EXPECT_EQ(std::count(states.begin(), states.end(), '\n'), 3) << states;
  EXPECT_NE(states.find("cancelled"), std::string::npos) << states;
  EXPECT_EQ(states.find("queued"), std::string::npos) << states;
}

// A researcher's key turned hostile on the admin socket: thousands of submissions never read,
// garbage, frames over the size limit. The daemon caps its runs, refuses the rest, and answers
// another researcher throughout.
TEST_F(ServiceTest, AResearcherFloodingTheAdminSocketIsCappedAndOthersAreStillAnswered) {
  std::string config = Slurp(dir() / "coord" / "coordinator.toml");
  config.replace(config.find("max_queued_runs = 20"), 20, "max_queued_runs = 3");
  ASSERT_TRUE(WriteFileAtomically(dir() / "coord" / "coordinator.toml", config).ok());
  StartCoordinator();  // no nodes: the first run waits for them, the others stay queued
  auto keys = protocol::LoadCurveKeyPair(dir() / "researchers" / "bob.key");
  ASSERT_TRUE(keys.ok()) << keys.status();
  auto server = protocol::LoadCurvePublicKey(dir() / "coord" / "keys" / "coordinator.pub");
  ASSERT_TRUE(server.ok()) << server.status();
  auto flooder = RawCurvePeer::Connect(admin_endpoint_, *keys, *server);
  protocol::AdminRequest submit;
  submit.command = "submit";
  const std::string plan = Plan("flood", "fedavg", true);
  submit.document.assign(plan.begin(), plan.end());
  protocol::AdminRequest oversized = submit;
  oversized.document.resize(protocol::kMaxAdminDocumentBytes + 1, '#');
  int sent = 0;
  const auto until = std::chrono::steady_clock::now() + seconds(20);
  for (int i = 0; i < 3000 && std::chrono::steady_clock::now() < until; ++i) {
    bool ok = i % 50 == 7   ? flooder->TrySend({0, 0, oversized})
              : i % 10 == 3 ? flooder->TrySendBytes(std::string(64 + i % 200, static_cast<char>(i)))
                            : flooder->TrySend({0, 0, submit});
    sent += ok;
    if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_GT(sent, 100);

  // Alice is answered while bob's replies pile up unread.
  const std::string mine = Submit("alice", Plan("mine", "fedavg", true), "mine.toml");
  auto [listed, runs] = Run("alice", {"list"});
  ASSERT_EQ(listed, 0) << runs << Slurp(Log("coordinator"));
  EXPECT_NE(runs.find("mine"), std::string::npos) << runs;
  // Bob has his three runs and not one more; his next submission says why.
  auto [bob_listed, bob_runs] = Run("bob", {"list"});
  ASSERT_EQ(bob_listed, 0) << bob_runs;
  EXPECT_EQ(std::count(bob_runs.begin(), bob_runs.end(), '\n'), 4) << bob_runs;
  const fs::path plan_file = dir() / "flood.toml";
  ASSERT_TRUE(WriteFileAtomically(plan_file, plan).ok());
  auto [refused, why] = Run("bob", {"submit", plan_file.string()});
  EXPECT_NE(refused, 0);
  EXPECT_NE(why.find("3 runs queued or running"), std::string::npos) << why;
  EXPECT_FALSE(coordinator_->Poll().has_value()) << Slurp(Log("coordinator"));
  flooder.reset();
  EXPECT_EQ(coordinator_->Terminate(), 0) << Slurp(Log("coordinator"));
  coordinator_.reset();
  auto [verified, said] = Cartable(
      {"audit", "verify", (dir() / "coord" / "state" / "audit.jsonl").string()}, Log("verify"));
  EXPECT_EQ(verified, 0) << said;
  const std::string audit = Slurp(dir() / "coord" / "state" / "audit.jsonl");
  EXPECT_EQ(Count(audit, R"("event":"run_submitted")"), 4U) << "bob's 3 and alice's 1";
}

TEST_F(ServiceTest, NodeKeysAreRefusedOnTheAdminSocketAndResearcherKeysOnTheNodesSocket) {
  StartCoordinator();
  // A node's key asking the admin socket: refused at the handshake, never answered.
  auto [code, out] =
      Cartable({"run", "list", "--coordinator", admin_endpoint_, "--server-key",
                (dir() / "coord" / "keys" / "coordinator.pub").string(), "--key",
                (dir() / "school-0" / "keys" / "school-0.key").string(), "--timeout", "3"},
               Log("node-as-researcher"));
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("admin allow-list"), std::string::npos) << out;
  // A researcher's key as a node: the handshake never succeeds, and the node says so.
  auto [refused, why] =
      Cartable({"node", "--coordinator", nodes_endpoint_, "--coordinator-key",
                (dir() / "coord" / "keys" / "coordinator.pub").string(), "--key",
                (dir() / "researchers" / "alice.key").string(), "--name", "alice", "--data",
                "csv:" + (dir() / "school-0" / "data" / "answers.csv").string(), "--pseudonym-key",
                (dir() / "alice.pseudonym").string(), "--idle-timeout", "3"},
               Log("researcher-as-node"));
  EXPECT_NE(refused, 0) << why;
  EXPECT_NE(why.find("refused this node's key"), std::string::npos) << why;
}

TEST_F(ServiceTest, BadPlansAndBadConfigurationsSayWhatAndWhere) {
  const fs::path bad_plan = dir() / "bad.toml";
  ASSERT_TRUE(WriteFileAtomically(bad_plan,
                                  "rounds = 3\n[model]\nname = \"pfa\"\n[data]\nskills "
                                  "= 6\n[nodes]\nfracton = 0.5\n")
                  .ok());
  auto [code, out] = Run("alice", {"submit", bad_plan.string()});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("[nodes] fracton: unknown key"), std::string::npos) << out;

  const fs::path bad_config = dir() / "coord" / "bad.toml";
  ASSERT_TRUE(
      WriteFileAtomically(bad_config, "state_dir = \"state\"\n[nodes]\nbind = 7450\n").ok());
  auto [code2, out2] =
      Cartable({"coordinator", "--config", bad_config.string()}, Log("bad-config"));
  EXPECT_EQ(code2, 2);
  EXPECT_NE(out2.find("bad.toml:3: [nodes] bind: expected a string"), std::string::npos) << out2;

  auto [code3, out3] = Cartable(
      {"coordinator", "--config", (dir() / "coord" / "coordinator.toml").string(), "--rounds", "3"},
      Log("run-flag"));
  EXPECT_EQ(code3, 2);
  EXPECT_NE(out3.find("--rounds with --config"), std::string::npos) << out3;
}

// `--check` explains an installed configuration without starting anything, and names what is wrong.
TEST_F(ServiceTest, CheckExplainsAConfigurationAndNamesWhatIsWrongStartingNothing) {
  const fs::path coordinator_config = dir() / "coord" / "coordinator.toml";
  auto [code, out] =
      Cartable({"coordinator", "--config", coordinator_config.string(), "--check"}, Log("check"));
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("of 3 establishments: school-0, school-1, school-2;"), std::string::npos)
      << out;
  EXPECT_NE(out.find("of 2 researchers: alice, bob;"), std::string::npos) << out;
  EXPECT_NE(out.find("no run store yet"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir() / "coord" / "state" / "runs.db")) << "--check wrote the store";

  const fs::path node_config = dir() / "school-1" / "node.toml";
  auto [code2, out2] =
      Cartable({"node", "--config", node_config.string(), "--check"}, Log("check"));
  EXPECT_EQ(code2, 0) << out2;
  EXPECT_NE(out2.find("node agent of 'school-1'"), std::string::npos) << out2;
  EXPECT_NE(out2.find("answers and"), std::string::npos) << out2;
  EXPECT_NE(out2.find("(created at the first start)"), std::string::npos) << out2;
  EXPECT_FALSE(fs::exists(dir() / "school-1" / "state" / "audit.jsonl")) << "--check wrote a log";
  EXPECT_NE(out2.find("Any model may be trained."), std::string::npos) << out2;

  // The establishment's policy, checked on its own, then broken.
  std::string config = Slurp(node_config);
  config.replace(config.find("# models = ["), 12, "models = [");
  config.replace(config.find("# max_local_epochs = 5"), 22, "max_local_epochs = 5");
  ASSERT_TRUE(WriteFileAtomically(node_config, config).ok());
  auto [policy_code, policy_out] =
      Cartable({"node", "policy", "check", node_config.string()}, Log("policy"));
  EXPECT_EQ(policy_code, 0) << policy_out;
  EXPECT_NE(policy_out.find("Only these models may be trained: dkt, irt1pl, pfa."),
            std::string::npos)
      << policy_out;
  EXPECT_NE(policy_out.find("At most 5 local epoch(s) a round."), std::string::npos) << policy_out;
  config.replace(config.find("max_local_epochs = 5"), 20, "max_local_epochs = \"5\"");
  ASSERT_TRUE(WriteFileAtomically(node_config, config).ok());
  auto [bad_code, bad_out] =
      Cartable({"node", "policy", "check", node_config.string()}, Log("policy"));
  EXPECT_EQ(bad_code, 2) << bad_out;
  EXPECT_NE(bad_out.find("[policy] max_local_epochs"), std::string::npos) << bad_out;
  config.replace(config.find("max_local_epochs = \"5\""), 22, "max_local_epochs = 5");
  ASSERT_TRUE(WriteFileAtomically(node_config, config).ok());

  // A researcher's key among the establishments' is refused: it would reach the nodes' socket.
  Copy(dir() / "researchers" / "alice.pub", dir() / "coord" / "nodes" / "alice.pub");
  auto [code3, out3] =
      Cartable({"coordinator", "--config", coordinator_config.string(), "--check"}, Log("check"));
  EXPECT_EQ(code3, 2) << out3;
  EXPECT_NE(out3.find("alice.pub is also an establishment's key"), std::string::npos) << out3;
  fs::remove(dir() / "school-1" / "data" / "answers.csv");
  auto [code4, out4] =
      Cartable({"node", "--config", node_config.string(), "--check"}, Log("check"));
  EXPECT_NE(code4, 0) << out4;
  EXPECT_NE(out4.find("[data] source"), std::string::npos) << out4;
}

// The establishment's policy names the coordinators it may serve and the data it may read: a
// configuration or a flag outside them is refused before the node reads or connects to anything.
TEST_F(ServiceTest, ANodeServesOnlyTheCoordinatorsAndReadsOnlyTheDataItsPolicyAllows) {
  const fs::path node_config = dir() / "school-1" / "node.toml";
  auto coordinator_key = protocol::LoadCurvePublicKey(dir() / "coord" / "keys" / "coordinator.pub");
  ASSERT_TRUE(coordinator_key.ok()) << coordinator_key.status();
  const std::string original = Slurp(node_config);
  const auto with_policy = [&](const std::string& keys, const std::string& sources) {
    std::string config = original;
    config.replace(
        config.find("[policy]\n"), 9,
        "[policy]\ncoordinator_keys = [\"" + keys + "\"]\ndata_sources = [\"" + sources + "\"]\n");
    ASSERT_TRUE(WriteFileAtomically(node_config, config).ok());
  };

  with_policy(*coordinator_key, "csv:data/");
  auto [code, out] = Cartable({"node", "--config", node_config.string(), "--check"}, Log("check"));
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(
      out.find("Only the coordinators with these public keys may be joined: " + *coordinator_key),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("Only these data may be read"), std::string::npos) << out;

  // Another coordinator's key: the agent refuses to start, saying which keys it may serve.
  with_policy("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", "csv:data/");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"node", "--config", node_config.string(), "--check"},
        std::vector<std::string>{"node", "--config", node_config.string(), "--coordinator",
                                 nodes_endpoint_}}) {
    auto [refused, why] = Cartable(args, Log("refused"));
    EXPECT_EQ(refused, 2) << why;
    EXPECT_NE(why.find("[policy] coordinator_keys: the policy of this establishment allows only "
                       "the coordinators whose public keys are rq:rM"),
              std::string::npos)
        << why;
  }
  EXPECT_FALSE(fs::exists(dir() / "school-1" / "state" / "audit.jsonl")) << "the agent started";

  // Data outside the allowed directory, by the configuration or by --data.
  with_policy(*coordinator_key, "csv:exports/");
  auto [wrong_data, said] =
      Cartable({"node", "--config", node_config.string(), "--check"}, Log("refused"));
  EXPECT_EQ(wrong_data, 2) << said;
  EXPECT_NE(said.find("[policy] data_sources: the policy of this establishment allows reading "
                      "only csv:" +
                      (dir() / "school-1" / "exports").string() +
                      "/; this node is configured "
                      "to read csv:" +
                      (dir() / "school-1" / "data" / "answers.csv").string()),
            std::string::npos)
      << said;
  with_policy(*coordinator_key, "csv:data/");
  auto [flag_data, flag_said] =
      Cartable({"node", "--config", node_config.string(), "--data",
                "csv:" + (dir() / "school-2" / "data" / "answers.csv").string(), "--check"},
               Log("refused"));
  EXPECT_EQ(flag_data, 2) << flag_said;
  EXPECT_NE(flag_said.find("[policy] data_sources"), std::string::npos) << flag_said;
}

TEST_F(ServiceTest, TheMetricsEndpointCountsARunsRoundsTrafficAndEnd) {
  const std::string port = FreePort();
  StartCoordinator({"--metrics-listen", "127.0.0.1:" + port});
  EXPECT_NE(Slurp(Log("coordinator")).find("metrics on http://127.0.0.1:" + port + "/metrics"),
            std::string::npos);
  StartNodes();
  const std::string id = Submit("alice", Plan("short", "fedavg", true, 2), "short.toml");
  auto [watched, progress] = Run("alice", {"watch", id}, seconds(300));
  ASSERT_EQ(watched, 0) << progress;

  // The daemon counts a run's end just after the store records it, which `watch` may see first.
  const std::string ended = "cartable_coordinator_runs_ended_total{state=\"ended\"}";
  std::map<std::string, double> samples;
  std::string text;
  for (int scrape = 0; scrape < 300 && samples[ended] < 1; ++scrape) {
    if (scrape > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto page = Fetch(port, "/metrics");
    ASSERT_TRUE(page) << httplib::to_string(page.error());
    ASSERT_EQ(page->status, 200);
    EXPECT_EQ(page->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    text = page->body;
    samples = ParseMetrics(text);
  }
  const std::string prefix = "cartable_coordinator_";
  EXPECT_EQ(samples[ended], 1) << text;
  EXPECT_EQ(samples[prefix + "runs_ended_total{state=\"failed\"}"], 0) << text;
  EXPECT_EQ(samples[prefix + "rounds_completed_total"], 2) << text;
  EXPECT_EQ(samples[prefix + "round_duration_seconds_count"], 2) << text;
  EXPECT_EQ(samples[prefix + "round_duration_seconds_bucket{le=\"+Inf\"}"], 2) << text;
  EXPECT_GT(samples[prefix + "received_bytes_total"], 0) << text;
  EXPECT_GT(samples[prefix + "sent_bytes_total"], 0) << text;
  EXPECT_EQ(samples[prefix + "runs_queued"], 0) << text;
  EXPECT_EQ(samples[prefix + "runs_running"], 0) << text;
  EXPECT_EQ(samples[prefix + "nodes_connected"], 0) << text;  // the run is over
  EXPECT_EQ(text.find("school-"), std::string::npos) << "a node's name in the metrics:\n" << text;

  auto elsewhere = Fetch(port, "/");
  ASSERT_TRUE(elsewhere) << httplib::to_string(elsewhere.error());
  EXPECT_EQ(elsewhere->status, 404);
  EXPECT_EQ(coordinator_->Terminate(), 0) << Slurp(Log("coordinator"));
  coordinator_.reset();
  EXPECT_FALSE(Fetch(port, "/metrics")) << "the endpoint outlived the daemon";
}

TEST_F(ServiceTest, ABadMetricsAddressIsRefusedBeforeServing) {
  auto [code, out] =
      Cartable(CoordinatorArgs({"--metrics-listen", "127.0.0.1:70000"}), Log("bad-port"));
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("--metrics-listen: '127.0.0.1:70000': the port 70000 is out of range"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("coordinator daemon:"), std::string::npos) << out;

  const fs::path config = dir() / "coord" / "coordinator.toml";
  ASSERT_TRUE(
      WriteFileAtomically(config, Slurp(config) + "\n[metrics]\nlisten = \"localhost\"\n").ok());
  auto [code2, out2] = Cartable(CoordinatorArgs(), Log("bad-listen"));
  EXPECT_EQ(code2, 2);
  EXPECT_NE(out2.find("[metrics] listen: 'localhost' is not HOST:PORT"), std::string::npos) << out2;

  // A port another program listens on (the flag overrides the file's bad address).
  const int busy = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(busy, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(busy, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(::listen(busy, 1), 0);
  ASSERT_EQ(::getsockname(busy, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string port = std::to_string(ntohs(address.sin_port));
  auto [code3, out3] =
      Cartable(CoordinatorArgs({"--metrics-listen", "127.0.0.1:" + port}), Log("busy-port"));
  ::close(busy);
  EXPECT_EQ(code3, 2);
  EXPECT_NE(out3.find("--metrics-listen: cannot listen on 127.0.0.1:" + port), std::string::npos)
      << out3;
  EXPECT_EQ(out3.find("coordinator daemon:"), std::string::npos) << out3;
}

}  // namespace
}  // namespace cartable::testing
