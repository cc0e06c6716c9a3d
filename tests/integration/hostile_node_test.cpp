// An enrolled node that misbehaves, against a live federation: honest `cartable node` processes, the
// coordinator's round loop over real CURVE sockets, and one HostileNode that tampers with one message.
// Each test is the regression of an attack that once froze, corrupted or sank a run.

#include <gtest/gtest.h>

#include <cmath>

#include "enrolled_federation.h"
#include "exchange/contribution.h"

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
RunResult RunWithOneHostile(const EnrolledFederation& federation, const coordinator::RunConfig& run, int hostile,
                            testing::Tamper tamper, std::unique_ptr<testing::HostileNode>* kept = nullptr) {
  auto loop = coordinator::RoundLoop::Create(run, SystemClock::Get()).value();
  auto transport = federation.Bind();
  std::vector<std::unique_ptr<ChildProcess>> honest;
  for (int i = 0; i < static_cast<int>(federation.schools().size()); ++i) {
    if (i != hostile) honest.push_back(federation.StartHonest(i, transport->endpoint()));
  }
  auto attacker = federation.StartHostile(hostile, transport->endpoint(), std::move(tamper));
  RunResult result;
  result.outcome = coordinator::ServeRun(*loop, *transport);
  result.records = loop->records();
  result.model = loop->global_model();
  result.excluded = loop->excluded();
  for (auto& node : honest) node->WaitFor(std::chrono::seconds(30));
  if (kept) *kept = std::move(attacker);
  return result;
}

// Regression: a node claimed a negative number of examples; FedAvg divided by a total weight near 1e-4
// and the loss reached 57,629. Under secure aggregation the node can still put any weight in its masked
// vector, so the coordinator checks the sum: its weights must be what a cohort that trained gives.
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

}  // namespace
}  // namespace cartable
