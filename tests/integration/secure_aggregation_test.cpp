// Secure aggregation end to end: a coordinator in this process and 10 `cartable node` processes
// over ZeroMQ with CURVE and a roster of identity keys. In round 2, three nodes are killed
// (SIGKILL) right after ShareKeys, while the others train: the survivors' sum is still unmasked,
// the round completes with 7 nodes, and the run goes on with them. And a sealed share altered on
// its way no longer makes its recipient leave the round.

#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>

#include "coordinator/coordinator_service.h"
#include "core/subprocess.h"
#include "federation_fixtures.h"
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
  Status SendShared(const protocol::PeerId& peer,
                    std::shared_ptr<const std::string> frame) override {
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

// Forwards to the real transport, but flips one bit of the first sealed share in the first
// ShareDelivery of `round` it sends: what a relay, or the share's owner, slipping in a share that
// does not open looks like to its recipient.
class ShareTamperingTransport : public protocol::ServerTransport {
 public:
  ShareTamperingTransport(protocol::ServerTransport& inner, uint32_t round)
      : inner_(inner), round_(round) {}
  Status Send(const protocol::PeerId& peer, std::string_view frame) override {
    return inner_.Send(peer, Tamper(frame));
  }
  Status SendShared(const protocol::PeerId& peer,
                    std::shared_ptr<const std::string> frame) override {
    return inner_.Send(peer, Tamper(*frame));
  }
  StatusOr<std::optional<protocol::Delivery>> Receive(Duration timeout) override {
    return inner_.Receive(timeout);
  }
  std::string endpoint() const override { return inner_.endpoint(); }
  // The sealed share altered, once it was: its owner and its recipient.
  std::optional<std::pair<uint32_t, uint32_t>> tampered() const { return tampered_; }

 private:
  std::string Tamper(std::string_view frame) {
    auto header = protocol::DecodeHeader(frame, protocol::kDefaultMaxPayloadBytes);
    if (tampered_ || !header.ok() || header->type != protocol::MessageType::kShareDelivery ||
        header->round != round_) {
      return std::string(frame);
    }
    auto envelope = protocol::Decode(frame);
    auto* delivery =
        envelope.ok() ? std::get_if<protocol::ShareDelivery>(&envelope->body) : nullptr;
    if (delivery == nullptr || delivery->shares.empty()) return std::string(frame);
    protocol::SealedShare& share = delivery->shares.front();
    share.ciphertext[share.ciphertext.size() / 2] ^= 0x01;
    tampered_ = std::pair(share.from, share.to);
    return protocol::Encode(*envelope);
  }
  protocol::ServerTransport& inner_;
  uint32_t round_;
  std::optional<std::pair<uint32_t, uint32_t>> tampered_;
};

// Before, the recipient refused the whole round over one bad share and was dropped from it. Now it
// reports the share's owner and goes on: every node's update is in the sum, round after round.
TEST(SecureAggregationTest, ASealedShareAlteredOnItsWayNoLongerDropsItsRecipient) {
  testing::ScratchDir dir("cartable-secagg-tamper");
  constexpr int kNodes = 5;  // full graph: 4 holders per secret, threshold 3
  const std::vector<std::filesystem::path> csvs = testing::WriteSmallSchools(dir.path(), kNodes);
  coordinator::RunConfig run;
  run.rounds = 2;
  run.expected_nodes = kNodes;
  run.min_nodes = kNodes;
  run.model.num_skills = 6;
  run.round_timeout = std::chrono::seconds(30);
  auto loop = coordinator::RoundLoop::Create(run, SystemClock::Get()).value();
  auto zmq = protocol::ZmqServerTransport::Bind("tcp://127.0.0.1:*").value();
  std::vector<std::unique_ptr<ChildProcess>> nodes;
  for (const auto& csv : csvs) {
    const std::string name = csv.stem().string();
    nodes.push_back(
        ChildProcess::Spawn({CARTABLE_BINARY, "node", "--coordinator", zmq->endpoint(), "--data",
                             "csv:" + csv.string(), "--name", name, "--insecure", "--pseudonym-key",
                             (dir.path() / (name + ".pseudonym")).string(), "--idle-timeout", "60"},
                            dir.path() / (name + ".log"))
            .value());
  }
  ShareTamperingTransport transport(*zmq, 1);
  Status outcome = coordinator::ServeRun(*loop, transport);
  ASSERT_TRUE(outcome.ok()) << outcome;
  ASSERT_TRUE(transport.tampered().has_value()) << "no ShareDelivery went out in round 1";

  ASSERT_EQ(loop->records().size(), 2u);
  for (const auto& record : loop->records()) {
    EXPECT_EQ(record.nodes, static_cast<size_t>(kNodes)) << "round " << record.round;
    EXPECT_TRUE(record.dropped.empty())
        << "round " << record.round << " dropped " << record.dropped.front();
  }
  // The cohort is sorted by name, so member m is the m-th school; its log tells what it did.
  const auto [owner, holder] = *transport.tampered();
  const std::string log = testing::Slurp(dir.path() / (csvs[holder].stem().string() + ".log"));
  EXPECT_NE(log.find("the shares of secure-aggregation member " + std::to_string(owner) +
                     " are unusable"),
            std::string::npos)
      << log;
  for (auto& node : nodes) {
    auto code = node->WaitFor(std::chrono::seconds(30));
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0);
  }
}

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
    ASSERT_TRUE(protocol::WriteCurveKeyPair(
                    dir.path() / "allowed", school.name,
                    protocol::CurveKeyPair{pair.public_key,
                                           protocol::CurveSecretKey(pair.secret_key.z85())})
                    .ok());
    auto identity = node::SigningKeyFromCurveSecret(pair.secret_key).value();
    ASSERT_TRUE(
        node::WriteSigningPublicKey(dir.path() / "roster", school.name, identity.PublicKey()).ok());
    ASSERT_TRUE(simulations::WriteLongCsv(school, dir.path() / (school.name + ".csv")).ok());
  }
  // The allow-list needs only the public halves.
  for (const auto& school : schools)
    std::filesystem::remove(dir.path() / "allowed" / (school.name + ".key"));

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
    nodes.push_back(
        ChildProcess::Spawn(
            {CARTABLE_BINARY, "node", "--coordinator", zmq->endpoint(), "--data",
             "csv:" + (dir.path() / (school.name + ".csv")).string(), "--name", school.name,
             "--key", (dir.path() / "keys" / (school.name + ".key")).string(), "--coordinator-key",
             (dir.path() / "coordinator.pub").string(), "--roster",
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
  ASSERT_TRUE(outcome.ok()) << outcome << "\n"
                            << testing::Slurp(dir.path() / (schools[0].name + ".log"));

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
