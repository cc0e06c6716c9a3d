#include "simulations/school_faults.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "protocol/codec.h"
#include "protocol/inprocess_transport.h"

namespace cartable::simulations {
namespace {

using protocol::Stage;
using ::testing::HasSubstr;

const std::vector<Stage> kSecureStages = {Stage::kAdvertiseKeys, Stage::kShareKeys,
                                          Stage::kMaskedInput, Stage::kConsistencyCheck,
                                          Stage::kUnmask};

TEST(StageDropoutTest, SchoolsDropAtTheRateAndStagesAskedForAndTheSameSeedDropsTheSame) {
  const DropoutPlan any{0.3, std::nullopt, 7};
  std::map<Stage, int> at;
  int dropped = 0;
  const int draws = 20000;
  for (uint64_t school = 0; school < 200; ++school) {
    for (uint32_t round = 1; round <= 100; ++round) {
      const auto stage = DropoutStage(any, school, round, kSecureStages);
      EXPECT_EQ(stage, DropoutStage(any, school, round, kSecureStages));
      if (stage) {
        ++dropped;
        at[*stage] += 1;
      }
    }
  }
  // 0.3 of 20,000 draws: a standard deviation of 65 drops.
  EXPECT_NEAR(dropped, 0.3 * draws, 400);
  ASSERT_EQ(at.size(), kSecureStages.size());
  for (const auto& [stage, n] : at) EXPECT_NEAR(n, dropped / 5.0, 250) << static_cast<int>(stage);

  DropoutPlan masked{0.5, Stage::kMaskedInput, 7};
  DropoutPlan other_seed{0.5, Stage::kMaskedInput, 8};
  int differ = 0;
  for (uint64_t school = 0; school < 100; ++school) {
    const auto stage = DropoutStage(masked, school, 1, kSecureStages);
    if (stage) {
      EXPECT_EQ(*stage, Stage::kMaskedInput);
    }
    differ += stage.has_value() != DropoutStage(other_seed, school, 1, kSecureStages).has_value();
  }
  EXPECT_GT(differ, 20) << "another seed drops other schools";
  EXPECT_FALSE(DropoutStage({0, std::nullopt, 7}, 3, 1, kSecureStages));
  EXPECT_TRUE(DropoutStage({1, std::nullopt, 7}, 3, 1, kSecureStages));
}

TEST(StageDropoutTest, StagesAreNamedAndUnknownNamesRefusedSayingWhatThereIs) {
  EXPECT_EQ(DropoutStageNamed("masked").value(), Stage::kMaskedInput);
  EXPECT_EQ(DropoutStageNamed("any").value(), std::nullopt);
  EXPECT_EQ(DropoutStageName(Stage::kUnmask), "unmask");
  EXPECT_EQ(DropoutStageName(std::nullopt), "any");
  EXPECT_THAT(DropoutStageNamed("lunch").status().message(), HasSubstr("known: any, train"));
}

std::string FrameOf(uint32_t round, protocol::Body body) {
  return protocol::Encode({42, round, std::move(body)});
}

// The headers of every frame the server has received, until none comes for 50 ms.
std::vector<protocol::FrameHeader> Arrived(protocol::ServerTransport& server) {
  std::vector<protocol::FrameHeader> headers;
  while (auto delivery = server.Receive(std::chrono::milliseconds(50)).value())
    headers.push_back(protocol::DecodeHeader(delivery->frame.bytes(), 1 << 20).value());
  return headers;
}

std::vector<protocol::MessageType> TypesArrived(protocol::ServerTransport& server) {
  std::vector<protocol::MessageType> types;
  for (const auto& header : Arrived(server)) types.push_back(header.type);
  return types;
}

TEST(StageDropoutTest, ADroppedSchoolGoesSilentForTheRestOfTheRoundButHelloAndHeartbeat) {
  protocol::InProcessNetwork network;
  auto server = network.Serve().value();
  DropoutLog log;
  // Rate 1 at share: every round, the school goes silent at its first ShareKeys.
  DropoutTransport school(network.Connect(), {1.0, Stage::kShareKeys, 3}, 0, "école-1",
                          kSecureStages, log);
  const std::vector<std::string> frames = {
      FrameOf(0, protocol::Hello{"école-1", {}}),
      FrameOf(1, protocol::KeyAdvert{}),    // before the stage: passes
      FrameOf(1, protocol::ShareKeys{}),    // the stage: dropped, and the school goes silent
      FrameOf(1, protocol::MaskedInput{}),  // silent
      FrameOf(1, protocol::Heartbeat{}),    // still says it is there
      FrameOf(2, protocol::KeyAdvert{}),    // a new round: passes
  };
  for (const std::string& f : frames) ASSERT_TRUE(school.Send(f).ok());
  EXPECT_EQ(TypesArrived(*server),
            (std::vector<protocol::MessageType>{
                protocol::MessageType::kHello, protocol::MessageType::kKeyAdvert,
                protocol::MessageType::kHeartbeat, protocol::MessageType::kKeyAdvert}));
  const auto dropouts = log.Sorted();
  ASSERT_EQ(dropouts.size(), 1u);
  EXPECT_EQ(dropouts[0].school, "école-1");
  EXPECT_EQ(dropouts[0].attempt, 1u);
  EXPECT_EQ(dropouts[0].round, 0u) << "the transport knows the attempt, not the round";
  EXPECT_EQ(dropouts[0].stage, Stage::kShareKeys);
}

TEST(StragglerTest, SlowSchoolsAreDrawnAtTheRateWithExponentialDelaysOfTheMeanAskedFor) {
  const StragglerPlan plan{0.4, std::chrono::seconds(2), 11};
  int slow = 0;
  double total = 0;
  for (uint64_t school = 0; school < 200; ++school) {
    for (uint32_t attempt = 1; attempt <= 100; ++attempt) {
      const Duration d = StragglerDelay(plan, school, attempt);
      EXPECT_EQ(d, StragglerDelay(plan, school, attempt));
      if (d > Duration::zero()) {
        ++slow;
        total += ToSeconds(d);
      }
    }
  }
  EXPECT_NEAR(slow, 8000, 300);         // 0.4 of 20,000; a standard deviation of 69
  EXPECT_NEAR(total / slow, 2.0, 0.1);  // the mean of 8,000 exponentials: a deviation of 0.022
  EXPECT_EQ(StragglerDelay({0, std::chrono::seconds(2), 11}, 5, 1), Duration::zero());
}

TEST(StragglerTest, ASlowSchoolsFramesLeaveWhenDueInOrderAndItsHeartbeatsAtOnce) {
  protocol::InProcessNetwork network;
  auto server = network.Serve().value();
  ManualClock clock;
  DelayLog log;
  const StragglerPlan plan{1.0, std::chrono::seconds(3), 5};
  const Duration delay = StragglerDelay(plan, 0, 1);
  ASSERT_GT(delay, std::chrono::milliseconds(2));
  StragglerTransport school(network.Connect(), plan, 0, "lycée-2", log, clock);
  const auto arrived = [&] { return TypesArrived(*server); };
  ASSERT_TRUE(school.Send(FrameOf(1, protocol::KeyAdvert{})).ok());
  ASSERT_TRUE(school.Send(FrameOf(1, protocol::ShareKeys{})).ok());
  ASSERT_TRUE(school.Send(FrameOf(1, protocol::Heartbeat{})).ok());
  EXPECT_EQ(arrived(), (std::vector<protocol::MessageType>{protocol::MessageType::kHeartbeat}));
  clock.Advance(delay - std::chrono::milliseconds(1));
  ASSERT_TRUE(school.Receive(Duration::zero()).ok());
  EXPECT_TRUE(arrived().empty()) << "not yet due";
  clock.Advance(std::chrono::milliseconds(1));
  ASSERT_TRUE(school.Receive(Duration::zero()).ok());
  EXPECT_EQ(arrived(), (std::vector<protocol::MessageType>{protocol::MessageType::kKeyAdvert,
                                                           protocol::MessageType::kShareKeys}));
  const auto delays = log.Sorted();
  ASSERT_EQ(delays.size(), 1u) << "one delay per attempt";
  EXPECT_EQ(delays[0].school, "lycée-2");
  EXPECT_EQ(delays[0].attempt, 1u);
  EXPECT_EQ(delays[0].delay, delay);
}

TEST(StragglerTest, FramesHeldFromAnEarlierAttemptAreDiscardedOnceALaterOneBegins) {
  protocol::InProcessNetwork network;
  auto server = network.Serve().value();
  ManualClock clock;
  DelayLog log;
  // Slow in every attempt with rate 1; attempt 7's frame is held, attempt 8's replaces it.
  const StragglerPlan plan{1.0, std::chrono::seconds(3), 5};
  StragglerTransport school(network.Connect(), plan, 0, "école", log, clock);
  ASSERT_TRUE(school.Send(FrameOf(7, protocol::KeyAdvert{})).ok());
  ASSERT_TRUE(school.Send(FrameOf(8, protocol::KeyAdvert{})).ok());
  clock.Advance(std::chrono::hours(10));
  ASSERT_TRUE(school.Receive(Duration::zero()).ok());
  const auto arrived = Arrived(*server);
  ASSERT_EQ(arrived.size(), 1u);
  EXPECT_EQ(arrived[0].round, 8u);
  EXPECT_EQ(log.Sorted().size(), 2u);
}

TEST(CrashTest, SchoolsCrashAtTheRateWithExponentialDowntimesOfTheMeanAskedFor) {
  const CrashPlan plan{0.2, std::chrono::seconds(8), 13};
  int crashed = 0;
  double total = 0;
  const DropoutPlan dropouts{0.2, std::nullopt, 13};
  int both = 0;
  for (uint64_t school = 0; school < 200; ++school) {
    for (uint32_t attempt = 1; attempt <= 100; ++attempt) {
      const auto crash = CrashIn(plan, school, attempt, kSecureStages);
      EXPECT_EQ(crash, CrashIn(plan, school, attempt, kSecureStages));
      if (crash) {
        ++crashed;
        total += ToSeconds(crash->second);
        if (DropoutStage(dropouts, school, attempt, kSecureStages)) ++both;
      }
    }
  }
  EXPECT_NEAR(crashed, 4000, 250);         // 0.2 of 20,000; a standard deviation of 57
  EXPECT_NEAR(total / crashed, 8.0, 0.5);  // the mean of 4,000 exponentials: a deviation of 0.13
  EXPECT_NEAR(both, 800, 120) << "crashes are drawn apart from dropouts of the same seed";
}

// A school that crashes loses what it was sending and everything after, heartbeats included, hears
// nothing, and comes back once its downtime has passed: once, with a fresh session, and without
// what was sent to it while it was down.
TEST(CrashTest, ACrashedSchoolIsGoneUntilItsDowntimeThenComesBackOnceWithAFreshSession) {
  protocol::InProcessNetwork network;
  auto server = network.Serve().value();
  ManualClock clock;
  CrashLog log;
  // Rate 1 with share the only stage: every attempt, the school crashes at its first ShareKeys.
  const CrashPlan plan{1.0, std::chrono::seconds(4), 9};
  const std::vector<Stage> share = {Stage::kShareKeys};
  const Duration downtime = CrashIn(plan, 0, 1, share).value().second;
  ASSERT_GT(downtime, Duration::zero());
  int restarts = 0;
  CrashingSchool school(
      network.Connect(), plan, 0, "collège-3", share, log,
      [&] {
        ++restarts;
        return std::make_unique<node::NodeSession>("collège-3", models::PupilSplit{});
      },
      clock);
  ASSERT_TRUE(school.Send(FrameOf(0, protocol::Hello{"collège-3", {}})).ok());
  const protocol::PeerId peer = server->Receive(std::chrono::seconds(1)).value()->peer;
  for (const std::string& f :
       {FrameOf(1, protocol::KeyAdvert{}), FrameOf(1, protocol::ShareKeys{}),
        FrameOf(1, protocol::MaskedInput{}), FrameOf(1, protocol::Heartbeat{}),
        FrameOf(0, protocol::Hello{"collège-3", {}})}) {
    ASSERT_TRUE(school.Send(f).ok());
  }
  EXPECT_EQ(TypesArrived(*server),
            (std::vector<protocol::MessageType>{protocol::MessageType::kKeyAdvert}));
  const auto crashes = log.Sorted();
  ASSERT_EQ(crashes.size(), 1u);
  EXPECT_EQ(crashes[0].school, "collège-3");
  EXPECT_EQ(crashes[0].attempt, 1u);
  EXPECT_EQ(crashes[0].stage, Stage::kShareKeys);
  EXPECT_EQ(crashes[0].downtime, downtime);

  ASSERT_TRUE(server->Send(peer, FrameOf(1, protocol::Heartbeat{})).ok());
  EXPECT_TRUE(school.Down(clock.Now()));
  EXPECT_FALSE(school.Receive(Duration::zero()).value().has_value())
      << "a dead process hears nothing";
  clock.Advance(downtime - std::chrono::milliseconds(1));
  EXPECT_TRUE(school.Down(clock.Now()));
  EXPECT_EQ(school.Restarted(clock.Now()), nullptr);
  EXPECT_EQ(restarts, 0);
  clock.Advance(std::chrono::milliseconds(1));
  EXPECT_FALSE(school.Down(clock.Now()));
  const std::unique_ptr<node::NodeSession> fresh = school.Restarted(clock.Now());
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fresh->name(), "collège-3");
  EXPECT_EQ(school.Restarted(clock.Now()), nullptr) << "once per crash";
  EXPECT_EQ(restarts, 1);
  EXPECT_FALSE(school.Receive(Duration::zero()).value().has_value())
      << "what was sent to it while it was down is lost";

  // Back: it talks again, and crashes at most once an attempt.
  ASSERT_TRUE(school.Send(FrameOf(1, protocol::ShareKeys{})).ok());
  ASSERT_TRUE(school.Send(FrameOf(2, protocol::ShareKeys{})).ok());
  EXPECT_EQ(TypesArrived(*server),
            (std::vector<protocol::MessageType>{protocol::MessageType::kShareKeys}));
  EXPECT_EQ(log.Sorted().size(), 2u);
}

TEST(ByzantineTest, AttacksAreReadAndUnknownOnesRefusedSayingWhatThereIs) {
  ByzantinePlan plan;
  ASSERT_TRUE(ParseAttack("scale:-3", plan).ok());
  EXPECT_EQ(plan.attack, ByzantinePlan::Attack::kScale);
  EXPECT_EQ(plan.strength, -3);
  EXPECT_EQ(AttackName(plan), "scale:-3");
  ASSERT_TRUE(ParseAttack("noise:0.5", plan).ok());
  EXPECT_EQ(AttackName(plan), "noise:0.5");
  for (const char* bad : {"noise:-1", "scale:", "scale:x", "noise:inf", "flip", "scale:2x"})
    EXPECT_THAT(ParseAttack(bad, plan).message(), HasSubstr("known: sign_flip")) << bad;
}

TEST(ByzantineTest, TheShareAskedForIsByzantineAndStaysTheSame) {
  const ByzantinePlan plan{0.3, ByzantinePlan::Attack::kSignFlip, 1, 4, 9};
  const std::vector<bool> chosen = ByzantineSchools(plan, 10);
  EXPECT_EQ(std::count(chosen.begin(), chosen.end(), true), 3);
  EXPECT_EQ(chosen, ByzantineSchools(plan, 10));
  const std::vector<bool> none = ByzantineSchools({}, 10);
  EXPECT_EQ(std::count(none.begin(), none.end(), true), 0);
}

TEST(ByzantineTest, TamperingChangesOnlyTheDeltaAndStaysWithinWhatTheCoordinatorAdmits) {
  // ωΔ for ω = 0.5 and r = 4: each value within ±2; then ω and ω·loss.
  const std::vector<float> honest = {0.5f, -1.0f, 1.5f, 0.5f, 0.25f};
  ByzantinePlan plan{1, ByzantinePlan::Attack::kSignFlip, 1, 4, 3};
  EXPECT_EQ(Tampered(plan, 0, 1, honest), (std::vector<float>{-0.5f, 1.0f, -1.5f, 0.5f, 0.25f}));
  plan.attack = ByzantinePlan::Attack::kScale;
  plan.strength = 10;
  EXPECT_EQ(Tampered(plan, 0, 1, honest), (std::vector<float>{2.0f, -2.0f, 2.0f, 0.5f, 0.25f}));
  plan.attack = ByzantinePlan::Attack::kNoise;
  plan.strength = 1;
  const std::vector<float> noisy = Tampered(plan, 0, 1, honest);
  EXPECT_EQ(noisy, Tampered(plan, 0, 1, honest)) << "drawn from the seed";
  EXPECT_NE(noisy, Tampered(plan, 0, 2, honest)) << "afresh in each attempt";
  EXPECT_NE(noisy, honest);
  for (size_t j = 0; j < 3; ++j) EXPECT_LE(std::abs(noisy[j]), 2.0f);
  EXPECT_EQ(noisy[3], 0.5f);
  EXPECT_EQ(noisy[4], 0.25f);
}

TEST(ByzantineTest, OnlyTrainResultsAreReencodedTampered) {
  protocol::InProcessNetwork network;
  auto server = network.Serve().value();
  std::atomic<size_t> tampered{0};
  ByzantineTransport school(network.Connect(), {1, ByzantinePlan::Attack::kSignFlip, 1, 4, 3}, 0,
                            tampered);
  ASSERT_TRUE(school.Send(FrameOf(2, protocol::Heartbeat{})).ok());
  ASSERT_TRUE(school.Send(FrameOf(2, protocol::TrainResult{{0.5f, -1.0f, 0.5f, 0.25f}})).ok());
  auto first = server->Receive(std::chrono::milliseconds(50)).value();
  auto second = server->Receive(std::chrono::milliseconds(50)).value();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(protocol::DecodeHeader(first->frame.bytes(), 1 << 20)->type,
            protocol::MessageType::kHeartbeat);
  auto result = protocol::Decode(second->frame.bytes());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->round, 2u);
  EXPECT_EQ(std::get<protocol::TrainResult>(result->body).contribution,
            (std::vector<float>{-0.5f, 1.0f, 0.5f, 0.25f}));
  EXPECT_EQ(tampered.load(), 1u);
}

}  // namespace
}  // namespace cartable::simulations
