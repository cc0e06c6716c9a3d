// An enrolled node that misbehaves, against a live federation: honest `cartable node` processes,
// the coordinator's round loop over real CURVE sockets, and one HostileNode that tampers with one
// message. Each test is the regression of an attack that once froze, corrupted or sank a run.

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>

#include "enrolled_federation.h"
#include "exchange/contribution.h"
#include "exchange/evaluation_vector.h"

namespace cartable {
namespace {

using testing::EnrolledFederation;

struct RunResult {
  Status outcome;
  std::vector<coordinator::RoundRecord> records;
  std::vector<float> model;
  std::set<std::string> excluded;
};

// Runs `run` with school `hostile` tampering and every other school honest.
RunResult RunWithOneHostile(
    const EnrolledFederation& federation, const coordinator::RunConfig& run, int hostile,
    testing::Tamper tamper, std::unique_ptr<testing::HostileNode>* kept = nullptr,
    const std::vector<std::string>& honest_flags = {},
    std::shared_ptr<const models::PupilAttributes> hostile_attributes = nullptr) {
  auto loop = coordinator::RoundLoop::Create(run, SystemClock::Get()).value();
  auto transport = federation.Bind();
  std::vector<std::unique_ptr<ChildProcess>> honest;
  for (int i = 0; i < static_cast<int>(federation.schools().size()); ++i) {
    if (i != hostile)
      honest.push_back(federation.StartHonest(i, transport->endpoint(), honest_flags));
  }
  auto attacker = federation.StartHostile(hostile, transport->endpoint(), std::move(tamper),
                                          std::move(hostile_attributes));
  RunResult result;
  result.outcome = coordinator::ServeRun(*loop, *transport);
  result.records = loop->records();
  result.model = loop->global_model();
  result.excluded = loop->excluded();
  for (auto& node : honest) node->WaitFor(std::chrono::seconds(30));
  if (kept) *kept = std::move(attacker);
  return result;
}

// Puts every pupil of `federation` in a group, "high" or "low" from its id: a `group` column in
// each school's answer log (for `cartable node --attributes group`), and the attributes the session
// of school `hostile`, which runs in this process, holds.
std::shared_ptr<const models::PupilAttributes> GroupEveryPupil(const EnrolledFederation& federation,
                                                               const std::filesystem::path& dir,
                                                               int hostile) {
  auto band = [](const std::string& id) {
    return std::hash<std::string>{}(id) % 2 == 0 ? "low" : "high";
  };
  for (int i = 0; i < static_cast<int>(federation.schools().size()); ++i) {
    const auto csv = dir / (federation.name(i) + ".csv");
    std::istringstream in(testing::Slurp(csv));
    std::string line;
    std::getline(in, line);
    std::string with_group = line + ",group\n";
    while (std::getline(in, line))
      with_group += line + "," + band(line.substr(0, line.find(','))) + "\n";
    std::ofstream(csv) << with_group;
  }
  auto attributes = std::make_shared<models::PupilAttributes>();
  for (const auto& pupil : federation.schools()[static_cast<size_t>(hostile)].pupils)
    (*attributes)["group"][pupil.id] = band(pupil.id);
  return attributes;
}

// Regression: a node claimed a negative number of examples; FedAvg divided by a total weight near
// 1e-4 and the loss reached 57,629. Under secure aggregation the node can still put any weight in
// its masked vector, so the coordinator checks the sum: its weights must be what a cohort that
// trained gives.
TEST(HostileNodeTest, ANegativeWeightCannotBlowUpTheModel) {
  testing::ScratchDir dir("cartable-hostile-weight");
  EnrolledFederation federation(dir.path(), 5);
  std::unique_ptr<testing::HostileNode> attacker;
  RunResult result = RunWithOneHostile(
      federation, federation.Run(3), 4,
      [](protocol::Envelope& e) {
        auto* input = std::get_if<protocol::MaskedInput>(&e.body);
        if (input == nullptr || input->words32.size() < 2) return false;
        // Masks are added modulo 2^32, so what is added to a masked word is added to the sum: take
        // a large weight off the weight slot (two before the end).
        input->words32[input->words32.size() - 2] -= 0x10000000u;
        return true;
      },
      &attacker);
  EXPECT_GT(attacker->tampered(), 0);
  for (float v : result.model) {
    ASSERT_TRUE(std::isfinite(v));
    EXPECT_LT(std::abs(v), 3 * 4.0f) << "no update may leave the value range in any round";
  }
  for (const auto& r : result.records) EXPECT_LT(r.train_loss, 5.0);
  if (!result.outcome.ok()) {
    EXPECT_NE(result.outcome.message().find("weight"), std::string::npos) << result.outcome;
  }
}

// A node masks made-up evaluation statistics (answers its histograms do not hold): the coordinator
// cannot see whose they are, but the unmasked sum is not one honest evaluations give, so the round
// goes without federation metrics, and training and the run go on.
TEST(HostileNodeTest, MadeUpEvaluationStatisticsCostTheRoundItsMetricsNeverTheRun) {
  testing::ScratchDir dir("cartable-hostile-evaluation");
  EnrolledFederation federation(dir.path(), 5);
  std::unique_ptr<testing::HostileNode> attacker;
  const size_t count_slot = 2 * models::kDefaultHistogramBins + 1;
  RunResult result = RunWithOneHostile(
      federation, federation.Run(2), 4,
      [count_slot](protocol::Envelope& e) {
        auto* input = std::get_if<protocol::MaskedInput>(&e.body);
        if (input == nullptr || input->words64.size() != exchange::EvaluationVectorSize())
          return false;
        input->words64[count_slot] += 1000;  // masks cancel: the sum's count grows by 1000
        return true;
      },
      &attacker);
  ASSERT_TRUE(result.outcome.ok()) << result.outcome;
  EXPECT_GT(attacker->tampered(), 0);
  ASSERT_EQ(result.records.size(), 2u);
  for (const auto& r : result.records) {
    EXPECT_EQ(r.nodes, 5u) << "training is untouched";
    EXPECT_FALSE(r.auc.has_value()) << "a sum no honest evaluation gives yields no metric";
    EXPECT_EQ(r.evaluated, 0u);
  }
}

// The last round of a run with fairness asks for subgroups: a node masks pupils its subgroup does
// not hold. The sum's block for that subgroup has more pupils than answers, so the last round goes
// without metrics or fairness table; the first round, not broken down, keeps its metrics, and
// training and the run go on.
TEST(HostileNodeTest, MadeUpSubgroupStatisticsCostTheLastRoundItsTableNeverTheRun) {
  testing::ScratchDir dir("cartable-hostile-subgroups");
  EnrolledFederation federation(dir.path(), 5);
  const auto attributes = GroupEveryPupil(federation, dir.path(), 4);
  coordinator::RunConfig run = federation.Run(2);
  run.fairness = {{"group", {"high", "low"}}};
  std::unique_ptr<testing::HostileNode> attacker;
  // The pupils of the first subgroup: the last value of the second block.
  const size_t pupils_slot = 2 * exchange::EvaluationVectorSize() - 1;
  RunResult result = RunWithOneHostile(
      federation, run, 4,
      [pupils_slot](protocol::Envelope& e) {
        auto* input = std::get_if<protocol::MaskedInput>(&e.body);
        if (input == nullptr || input->words64.size() != exchange::EvaluationVectorSize(2))
          return false;
        input->words64[pupils_slot] += 1000;
        return true;
      },
      &attacker, {"--attributes", "group"}, attributes);
  ASSERT_TRUE(result.outcome.ok()) << result.outcome;
  EXPECT_EQ(attacker->tampered(), 1);
  ASSERT_EQ(result.records.size(), 2u);
  EXPECT_TRUE(result.records[0].auc.has_value()) << "the first round asks for no subgroup";
  EXPECT_FALSE(result.records[0].fairness.has_value());
  EXPECT_EQ(result.records[1].nodes, 5u) << "training is untouched";
  EXPECT_FALSE(result.records[1].auc.has_value());
  EXPECT_FALSE(result.records[1].fairness.has_value());
}

// The control: the same run with no tampering ends with the table, so the test above can fail.
TEST(HostileNodeTest, TheSameRunUntamperedEndsWithItsFairnessTable) {
  testing::ScratchDir dir("cartable-subgroups-control");
  EnrolledFederation federation(dir.path(), 5);
  const auto attributes = GroupEveryPupil(federation, dir.path(), 4);
  coordinator::RunConfig run = federation.Run(2);
  run.fairness = {{"group", {"high", "low"}}};
  run.min_group_pupils = 5;
  RunResult result = RunWithOneHostile(
      federation, run, 4, [](protocol::Envelope&) { return false; }, nullptr,
      {"--attributes", "group"}, attributes);
  ASSERT_TRUE(result.outcome.ok()) << result.outcome;
  ASSERT_EQ(result.records.size(), 2u);
  ASSERT_TRUE(result.records[1].fairness.has_value());
  for (const auto& row : result.records[1].fairness->rows) EXPECT_FALSE(row.suppressed);
}

// Regression: a Hello presenting another identity key than the node's enrolled one was accepted,
// and every roster-checking node then refused each attempt at the round. With keygen's
// NAME.sign.pub in its allow-list, the coordinator checks the key itself and refuses the Hello.
TEST(HostileNodeTest, AHelloWithAnotherIdentityKeyIsRefusedAndTheRunGoesOnWithoutIt) {
  testing::ScratchDir dir("cartable-hostile-hello");
  EnrolledFederation federation(dir.path(), 5);
  coordinator::RunConfig run = federation.Run(2);
  run.expected_nodes = 4;  // the four honest schools
  std::unique_ptr<testing::HostileNode> attacker;
  RunResult result = RunWithOneHostile(
      federation, run, 4,
      [](protocol::Envelope& e) {
        auto* hello = std::get_if<protocol::Hello>(&e.body);
        if (hello == nullptr) return false;
        hello->signing_key[0] ^= 1;
        return true;
      },
      &attacker);
  ASSERT_TRUE(result.outcome.ok()) << result.outcome;
  ASSERT_EQ(result.records.size(), 2u);
  for (const auto& r : result.records) EXPECT_EQ(r.nodes, 4u);
  ASSERT_TRUE(attacker->WaitDone(std::chrono::seconds(10)));
  EXPECT_EQ(attacker->outcome().code(), StatusCode::kPermissionDenied) << attacker->outcome();
  EXPECT_NE(attacker->outcome().message().find(".sign.pub"), std::string::npos)
      << attacker->outcome();
}

// Regression: a node's error text was logged verbatim, so a node could write a forged "round 5/5"
// line and terminal escape codes into the coordinator's log.
TEST(HostileNodeTest, WhatANodeSaysCannotForgeALogLine) {
  testing::ScratchDir dir("cartable-hostile-log");
  EnrolledFederation federation(dir.path(), 5);
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  spdlog::default_logger()->sinks().push_back(sink);
  RunResult result = RunWithOneHostile(federation, federation.Run(1), 4, [](protocol::Envelope& e) {
    if (!std::holds_alternative<protocol::KeyAdvert>(e.body)) return false;
    e.body = protocol::ErrorReply{
        8, "refused\nround   5/5  nodes  5  train loss 0.1000  held-out AUC 0.9999\x1b[2J", {}};
    return true;
  });
  spdlog::default_logger()->sinks().pop_back();
  EXPECT_TRUE(result.outcome.ok()) << result.outcome;
  const std::string log = captured.str();
  EXPECT_NE(log.find("round   5/5"), std::string::npos) << "the node's text is in the log, escaped";
  EXPECT_EQ(log.find("\nround   5/5"), std::string::npos) << "but never at the start of a line";
  EXPECT_EQ(log.find('\x1b'), std::string::npos) << "and no escape code reaches the terminal";
}

// Regression: a holder revealed a self-seed share with one value changed at Unmask; the server
// rebuilt the seed from the first t shares with nothing to check it against, and the run ended with
// exit 0 and a ruined model. Every share is now checked against its owner's commitment: the holder
// is blamed, its shares are discarded, the surplus rebuilds the seed, and the holder takes no
// further part in the run.
TEST(HostileNodeTest, AnAlteredRevealedShareIsCaughtAndItsHolderLeavesTheRun) {
  testing::ScratchDir dir("cartable-hostile-share");
  EnrolledFederation federation(dir.path(), 5);
  std::unique_ptr<testing::HostileNode> attacker;
  RunResult result = RunWithOneHostile(
      federation, federation.Run(2), 4,
      [](protocol::Envelope& e) {
        auto* response = std::get_if<protocol::UnmaskResponse>(&e.body);
        if (response == nullptr || response->self_seed_shares.empty()) return false;
        response->self_seed_shares[0].share.back() ^= 0x5a;
        return true;
      },
      &attacker);
  ASSERT_TRUE(result.outcome.ok()) << result.outcome;
  EXPECT_GT(attacker->tampered(), 0);
  EXPECT_TRUE(result.excluded.contains(federation.name(4)));
  ASSERT_EQ(result.records.size(), 2u);
  EXPECT_EQ(result.records[0].nodes, 5u)
      << "the sum keeps the holder's own input, unmasked exactly";
  EXPECT_EQ(result.records[1].nodes, 4u) << "then the run goes on without it";
  for (const auto& r : result.records) EXPECT_LT(r.train_loss, 1.0);
  for (float v : result.model) ASSERT_TRUE(std::isfinite(v));
}

// Regression: a revealed share repeated (so two shares with the same x) failed the whole run at
// once.
TEST(HostileNodeTest, ARepeatedRevealedShareIsBlamedWithoutFailingTheRound) {
  testing::ScratchDir dir("cartable-hostile-repeat");
  EnrolledFederation federation(dir.path(), 5);
  RunResult result = RunWithOneHostile(federation, federation.Run(1), 4, [](protocol::Envelope& e) {
    auto* response = std::get_if<protocol::UnmaskResponse>(&e.body);
    if (response == nullptr || response->self_seed_shares.empty()) return false;
    response->self_seed_shares.push_back(response->self_seed_shares[0]);
    return true;
  });
  ASSERT_TRUE(result.outcome.ok()) << result.outcome;
  ASSERT_EQ(result.records.size(), 1u);
  EXPECT_TRUE(result.excluded.contains(federation.name(4)));
}

// Regression: one flipped bit in a sealed share made its recipient refuse the round, and the round
// was retried with the culprit three times. The recipient now reports the pair and stays; the round
// ends.
TEST(HostileNodeTest, AFlippedBitInASealedShareDoesNotSinkTheRound) {
  testing::ScratchDir dir("cartable-hostile-sealed");
  EnrolledFederation federation(dir.path(), 5);
  RunResult result = RunWithOneHostile(federation, federation.Run(2), 4, [](protocol::Envelope& e) {
    auto* shares = std::get_if<protocol::ShareKeys>(&e.body);
    if (shares == nullptr || shares->shares.empty()) return false;
    shares->shares[0].ciphertext[0] ^= 1;
    return true;
  });
  ASSERT_TRUE(result.outcome.ok()) << result.outcome;
  ASSERT_EQ(result.records.size(), 2u);
  for (const auto& r : result.records) EXPECT_EQ(r.nodes, 5u);
}

// Regression: without identity keys in the coordinator's allow-list, a Hello with a wrong signing
// key was taken, and every roster-checking node refused each attempt. The nodes now name the member
// their roster disowns, and the retry leaves it out.
TEST(HostileNodeTest, NodesNameAMemberTheirRosterDisownsAndTheRetryLeavesItOut) {
  testing::ScratchDir dir("cartable-hostile-roster");
  EnrolledFederation federation(dir.path(), 5, 21, /*identity_keys_in_allow_list=*/false);
  RunResult result = RunWithOneHostile(federation, federation.Run(1), 4, [](protocol::Envelope& e) {
    auto* hello = std::get_if<protocol::Hello>(&e.body);
    if (hello == nullptr) return false;
    hello->signing_key[0] ^= 1;
    return true;
  });
  ASSERT_TRUE(result.outcome.ok()) << result.outcome;
  ASSERT_EQ(result.records.size(), 1u);
  EXPECT_EQ(result.records[0].nodes, 4u);
}

}  // namespace
}  // namespace cartable
