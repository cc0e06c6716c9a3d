// A coordinator in this process and node agents as separate `cartable node` processes, over ZeroMQ
// TCP on loopback: the aggregated model must be exactly the example-weighted mean of the nodes'
// local models.

#include <gtest/gtest.h>

#include <cmath>

#include "coordinator/coordinator_service.h"
#include "core/subprocess.h"
#include "ingest/csv_source.h"
#include "models/model.h"
#include "node/node_session.h"
#include "process_helpers.h"
#include "protocol/zmq_transport.h"
#include "simulations/synthetic_cohort.h"

namespace cartable {
namespace {

constexpr double kTestFraction = 0.25;
constexpr uint64_t kSeed = 11;

struct School {
  std::string name;
  std::filesystem::path csv;
};

std::vector<School> WriteSchools(const std::filesystem::path& dir, int count) {
  simulations::CohortConfig cohort;
  cohort.schools = count;
  cohort.skills = 6;
  cohort.min_pupils = 20;
  cohort.max_pupils = 60;
  cohort.seed = kSeed;
  std::vector<School> schools;
  for (const auto& s : simulations::GenerateCohort(cohort)) {
    School school{s.name, dir / (s.name + ".csv")};
    EXPECT_TRUE(simulations::WriteLongCsv(s, school.csv).ok());
    schools.push_back(school);
  }
  return schools;
}

coordinator::RunConfig OneRound(size_t nodes) {
  coordinator::RunConfig run;
  run.run_id = 0xfeed;
  run.rounds = 1;
  run.expected_nodes = nodes;
  run.min_nodes = nodes;
  run.model.num_skills = 6;
  run.train = {2, 32, 0.05f, kSeed};
  run.join_timeout = std::chrono::seconds(60);
  run.round_timeout = std::chrono::seconds(60);
  return run;
}

// What FedAvg must produce, computed here without any networking: each school's local training from
// the same starting point with the same seed, then the example-weighted mean of the updates.
std::vector<float> ExpectedModel(const coordinator::RunConfig& run,
                                 const std::vector<School>& schools,
                                 const std::vector<float>& initial,
                                 const std::filesystem::path& key_dir) {
  std::vector<double> weighted(initial.size(), 0.0);
  double total = 0;
  for (const School& school : schools) {
    // The node pseudonymised its pupils with its own key, and split them by pseudonym: do the same.
    auto pseudonymizer =
        ingest::Pseudonymizer::LoadOrCreate(key_dir / (school.name + ".key")).value();
    auto log = ingest::LoadLongCsv(school.csv, &pseudonymizer).value();
    auto split = models::SplitByPupil(log, kTestFraction, kSeed);
    auto model = models::CreateModel(run.model).value();
    EXPECT_TRUE(model->SetParameters(initial).ok());
    models::TrainOptions options{static_cast<int>(run.train.local_epochs),
                                 static_cast<int>(run.train.batch_size), run.train.learning_rate,
                                 node::LocalTrainingSeed(run.train.seed, 1, school.name)};
    auto report = model->Train(split.train, options).value();
    std::vector<float> local = model->GetParameters();
    for (size_t i = 0; i < local.size(); ++i)
      weighted[i] += report.examples * double(local[i] - initial[i]);
    total += report.examples;
  }
  std::vector<float> expected(initial.size());
  for (size_t i = 0; i < initial.size(); ++i) expected[i] = float(initial[i] + weighted[i] / total);
  return expected;
}

TEST(FederationTest, ThreeNodeProcessesAggregateToTheWeightedMean) {
  testing::ScratchDir dir("cartable-federation");
  const std::vector<School> schools = WriteSchools(dir.path(), 3);
  const coordinator::RunConfig run = OneRound(schools.size());
  auto loop = coordinator::RoundLoop::Create(run, SystemClock::Get()).value();
  const std::vector<float> initial = loop->global_model();
  auto transport = protocol::ZmqServerTransport::Bind("tcp://127.0.0.1:*").value();
  ASSERT_EQ(transport->endpoint().rfind("tcp://127.0.0.1:", 0), 0u);

  std::vector<std::unique_ptr<ChildProcess>> nodes;
  for (const School& school : schools) {
    nodes.push_back(
        ChildProcess::Spawn(
            {CARTABLE_BINARY, "node", "--coordinator", transport->endpoint(), "--data",
             "csv:" + school.csv.string(), "--name", school.name, "--insecure", "--pseudonym-key",
             (dir.path() / (school.name + ".key")).string(), "--test-fraction",
             std::to_string(kTestFraction), "--split-seed", std::to_string(kSeed)},
            dir.path() / (school.name + ".log"))
            .value());
    EXPECT_NE(nodes.back()->pid(), ::getpid());
  }
  Status outcome = coordinator::ServeRun(*loop, *transport);
  ASSERT_TRUE(outcome.ok()) << outcome;
  for (auto& node : nodes) {
    auto code = node->WaitFor(std::chrono::seconds(30));
    ASSERT_TRUE(code.has_value()) << "a node process did not stop after the run";
    EXPECT_EQ(*code, 0) << testing::Slurp(dir.path() / "school-01.log");
  }

  ASSERT_EQ(loop->records().size(), 1u);
  EXPECT_EQ(loop->records()[0].nodes, 3u);
  ASSERT_TRUE(loop->records()[0].auc.has_value());
  const std::vector<float> expected = ExpectedModel(run, schools, initial, dir.path());
  const std::vector<float>& actual = loop->global_model();
  ASSERT_EQ(actual.size(), expected.size());
  double largest_change = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], 1e-6) << "parameter " << i;
    largest_change = std::max(largest_change, std::abs(double(actual[i] - initial[i])));
  }
  EXPECT_GT(largest_change, 1e-3) << "the round did not move the model at all";
}

TEST(FederationTest, RunFailsCleanlyWhenTooFewNodesJoin) {
  coordinator::RunConfig run = OneRound(3);
  run.join_timeout = std::chrono::milliseconds(300);
  auto loop = coordinator::RoundLoop::Create(run, SystemClock::Get()).value();
  auto transport = protocol::ZmqServerTransport::Bind("tcp://127.0.0.1:*").value();
  Status outcome = coordinator::ServeRun(*loop, *transport);
  EXPECT_EQ(outcome.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(outcome.message().find("joined"), std::string::npos);
}

TEST(FederationTest, NodeWithUnreadableDataExitsWithBadInput) {
  testing::ScratchDir dir("cartable-node-bad");
  const auto csv = dir.path() / "bad.csv";
  std::ofstream(csv) << "pupil_id,skill_id,correct\np1,3,yes\n";
  auto node = ChildProcess::Spawn({CARTABLE_BINARY, "node", "--coordinator", "tcp://127.0.0.1:1",
                                   "--data", "csv:" + csv.string(), "--pseudonym-key",
                                   (dir.path() / "pseudonym.key").string()},
                                  dir.path() / "node.log")
                  .value();
  auto code = node->WaitFor(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 2);
  const std::string log = testing::Slurp(dir.path() / "node.log");
  EXPECT_NE(log.find("bad.csv:2"), std::string::npos) << log;
  EXPECT_NE(log.find("correct"), std::string::npos) << log;
}

}  // namespace
}  // namespace cartable

namespace cartable {
namespace {

TEST(FederationTest, AGarbledFrameIsAnsweredWithAnErrorNamingTheProblem) {
  auto loop = coordinator::RoundLoop::Create(OneRound(1), SystemClock::Get()).value();
  auto transport = protocol::ZmqServerTransport::Bind("tcp://127.0.0.1:*").value();
  auto client = protocol::ZmqClientTransport::Connect(transport->endpoint()).value();
  std::string frame = protocol::Encode({0, 0, protocol::Hello{"school"}});
  frame[4] = 9;  // a protocol version from the future
  ASSERT_TRUE(client->Send(frame).ok());
  coordinator::ServeOptions options;
  int polls = 0;
  options.should_stop = [&] { return ++polls > 30; };  // about 3 s
  coordinator::ServeRun(*loop, *transport, options).IgnoreError();
  std::optional<std::string> reply;
  for (int i = 0; i < 20 && !reply; ++i)
    reply = client->Receive(std::chrono::milliseconds(100)).value();
  ASSERT_TRUE(reply.has_value());
  auto envelope = protocol::Decode(*reply).value();
  const auto* error = std::get_if<protocol::ErrorReply>(&envelope.body);
  ASSERT_NE(error, nullptr);
  EXPECT_NE(error->message.find("unsupported protocol version 9"), std::string::npos)
      << error->message;
}

}  // namespace
}  // namespace cartable
