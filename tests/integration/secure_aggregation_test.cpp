// Secure aggregation end to end: a coordinator in this process and 10 `cartable node` processes over
// ZeroMQ with CURVE and a roster of identity keys. In round 2, three nodes are killed (SIGKILL) right
// after ShareKeys, while the others train: the survivors' sum is still unmasked, the round completes with
// 7 nodes, and the run goes on with them.

#include <gtest/gtest.h>

#include <signal.h>

#include <cmath>

#include "coordinator/coordinator_service.h"
#include "core/subprocess.h"
#include "node/identity.h"
#include "process_helpers.h"
#include "protocol/codec.h"
#include "protocol/curve_keys.h"
#include "protocol/zmq_transport.h"
#include "simulations/synthetic_cohort.h"

namespace cartable {
namespace {

// Forwards to the real transport, and runs `before` once, just before the first frame of `type` in
// `round` leaves: a hook on the wire, so the test acts at an exact point of the protocol.
class HookedTransport : public protocol::ServerTransport {
 public:
  HookedTransport(protocol::ServerTransport& inner, protocol::MessageType type, uint32_t round,
                  std::function<void()> before)
      : inner_(inner), type_(type), round_(round), before_(std::move(before)) {}
  Status Send(const protocol::PeerId& peer, std::string_view frame) override {
    Check(frame);
    return inner_.Send(peer, frame);
  }
  Status SendShared(const protocol::PeerId& peer, std::shared_ptr<const std::string> frame) override {
    Check(*frame);
    return inner_.SendShared(peer, std::move(frame));
  }
  StatusOr<std::optional<protocol::Delivery>> Receive(Duration timeout) override {
    return inner_.Receive(timeout);
  }
  std::string endpoint() const override { return inner_.endpoint(); }

 private:
  void Check(std::string_view frame) {
    auto header = protocol::DecodeHeader(frame, protocol::kDefaultMaxPayloadBytes);
    if (before_ && header.ok() && header->type == type_ && header->round == round_) {
      auto hook = std::move(before_);
      before_ = nullptr;
      hook();
    }
  }
  protocol::ServerTransport& inner_;
  protocol::MessageType type_;
  uint32_t round_;
  std::function<void()> before_;
};

TEST(SecureAggregationTest, TenNodesThreeKilledAfterShareKeys) {
  testing::ScratchDir dir("cartable-secagg");
  constexpr int kNodes = 10;
  simulations::CohortConfig cohort;
  cohort.schools = kNodes;
  cohort.skills = 6;
  cohort.min_pupils = 20;
  cohort.max_pupils = 40;
  cohort.seed = 21;
  const auto schools = simulations::GenerateCohort(cohort);

  // Enrolment as an academy would do it: a key pair per node, the allow-list and the roster.
  auto coordinator_keys = protocol::GenerateCurveKeyPair().value();
  ASSERT_TRUE(protocol::WriteCurveKeyPair(dir.path(), "coordinator", coordinator_keys).ok());
  for (const auto& school : schools) {
    auto pair = protocol::GenerateCurveKeyPair().value();
    ASSERT_TRUE(protocol::WriteCurveKeyPair(dir.path() / "keys", school.name, pair).ok());
    ASSERT_TRUE(protocol::WriteCurveKeyPair(dir.path() / "allowed", school.name,
                                            protocol::CurveKeyPair{pair.public_key,
                                                                   protocol::CurveSecretKey(pair.secret_key.z85())})
                    .ok());
    auto identity = node::SigningKeyFromCurveSecret(pair.secret_key).value();
    ASSERT_TRUE(node::WriteSigningPublicKey(dir.path() / "roster", school.name, identity.PublicKey()).ok());
    ASSERT_TRUE(simulations::WriteLongCsv(school, dir.path() / (school.name + ".csv")).ok());
  }
  // The allow-list needs only the public halves.
  for (const auto& school : schools) std::filesystem::remove(dir.path() / "allowed" / (school.name + ".key"));

  coordinator::RunConfig run;
  run.rounds = 4;
  run.expected_nodes = kNodes;
  run.min_nodes = 5;
  run.model.num_skills = 6;
  run.round_timeout = std::chrono::seconds(4);
  run.secagg.neighbours = 6;  // sparse: 6 neighbours each, threshold 4
  auto loop = coordinator::RoundLoop::Create(run, SystemClock::Get()).value();
  auto zmq = protocol::ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", coordinator_keys,
                                                     dir.path() / "allowed")
                 .value();

  std::vector<std::unique_ptr<ChildProcess>> nodes;
  for (const auto& school : schools) {
    nodes.push_back(ChildProcess::Spawn(
                        {CARTABLE_BINARY, "node", "--coordinator", zmq->endpoint(), "--data",
                         "csv:" + (dir.path() / (school.name + ".csv")).string(), "--name", school.name,
                         "--key", (dir.path() / "keys" / (school.name + ".key")).string(),
                         "--coordinator-key", (dir.path() / "coordinator.pub").string(), "--roster",
                         (dir.path() / "roster").string(), "--pseudonym-key",
                         (dir.path() / (school.name + ".pseudonym")).string(), "--idle-timeout", "60"},
                        dir.path() / (school.name + ".log"))
                        .value());
  }
  const std::vector<int> killed = {1, 4, 8};
  HookedTransport transport(*zmq, protocol::MessageType::kShareDelivery, 2, [&] {
    for (int i : killed) {
      nodes[static_cast<size_t>(i)]->Signal(SIGKILL);
      nodes[static_cast<size_t>(i)]->WaitFor(std::chrono::seconds(10));
    }
  });
  Status outcome = coordinator::ServeRun(*loop, transport);
  ASSERT_TRUE(outcome.ok()) << outcome << "\n" << testing::Slurp(dir.path() / (schools[0].name + ".log"));

  const auto& records = loop->records();
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].nodes, 10u);
  EXPECT_EQ(records[1].nodes, 7u) << "the killed nodes' inputs cannot be in the sum";
  std::set<std::string> dropped(records[1].dropped.begin(), records[1].dropped.end());
  for (int i : killed) EXPECT_TRUE(dropped.contains(schools[static_cast<size_t>(i)].name));
  for (size_t r = 1; r < records.size(); ++r) {
    ASSERT_TRUE(records[r].auc.has_value());
    EXPECT_GT(*records[r].auc, 0.6);
    EXPECT_TRUE(std::isfinite(records[r].train_loss));
  }
  EXPECT_EQ(records.back().nodes, 7u);
  for (float v : loop->global_model()) EXPECT_TRUE(std::isfinite(v));
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (std::find(killed.begin(), killed.end(), static_cast<int>(i)) != killed.end()) continue;
    auto code = nodes[i]->WaitFor(std::chrono::seconds(20));
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << testing::Slurp(dir.path() / (schools[i].name + ".log"));
  }
}

}  // namespace
}  // namespace cartable
