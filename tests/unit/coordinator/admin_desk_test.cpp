// The researchers' admin desk: status documents from a snapshot of the run, and "stop" ending the
// run cleanly after the current round, with the admin's name on the record.

#include "coordinator/admin_desk.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "loop_messages.h"

namespace cartable::coordinator {
namespace {

using protocol::Envelope;
using std::chrono::seconds;

RunConfig TwoRounds() {
  RunConfig config;
  config.run_id = 42;
  config.rounds = 2;
  config.expected_nodes = 2;
  config.min_nodes = 2;
  config.model.num_skills = 2;  // 9 parameters
  config.join_timeout = seconds(600);
  config.round_timeout = seconds(600);
  config.node_timeout = seconds(600);
  config.secagg.enabled = false;
  return config;
}

Envelope Update(uint32_t round) { return Envelope{42, round, PackedUpdate(9, 0.5f, 10, 0.25)}; }

Envelope Evaluation(uint32_t round) {
  models::SummableMetrics m =
      models::SummableMetrics::Of(std::vector<float>{0.2f, 0.9f}, std::vector<uint8_t>{0, 1})
          .value();
  return Envelope{
      42, round,
      protocol::EvaluateResult{{m.positive_histogram, m.negative_histogram, m.log_loss_sum,
                                m.correct, m.count, m.squared_error_sum, m.count}}};
}

Envelope Request(const std::string& command) {
  return Envelope{0, 0, protocol::AdminRequest{command}};
}

const protocol::AdminReply& ReplyOf(const AdminAnswer& answer) {
  return std::get<protocol::AdminReply>(answer.reply.body);
}

nlohmann::json DocumentOf(const AdminAnswer& answer) {
  const auto& json = ReplyOf(answer).json;
  return nlohmann::json::parse(std::string(json.begin(), json.end()));
}

class AdminDeskTest : public ::testing::Test {
 protected:
  void SetUp() override { loop_ = RoundLoop::Create(TwoRounds(), clock_).value(); }
  std::vector<Outgoing> Join(const std::string& peer) {
    return loop_->OnMessage(peer, HelloFrom("school-" + peer));
  }
  std::vector<Outgoing> FinishRound(uint32_t round) {
    for (const char* p : {"a", "b"}) loop_->OnMessage(p, Update(round));
    loop_->OnMessage("a", Evaluation(round));
    return loop_->OnMessage("b", Evaluation(round));
  }
  ManualClock clock_;
  std::unique_ptr<RoundLoop> loop_;
  AdminDesk desk_;
};

TEST_F(AdminDeskTest, StatusNamesTheNodesAndHowLongSinceEachWasHeard) {
  Join("b");
  clock_.Advance(seconds(3));
  Join("a");
  AdminAnswer answer = desk_.Answer(Request("status"), "alice", loop_->Snapshot());
  EXPECT_EQ(ReplyOf(answer).code, 0u);
  EXPECT_FALSE(answer.stop_by.has_value());
  nlohmann::json doc = DocumentOf(answer);
  EXPECT_EQ(doc["run_id"], 42);
  EXPECT_EQ(doc["model"], "pfa");
  EXPECT_EQ(doc["rounds_planned"], 2);
  EXPECT_EQ(doc["rounds_completed"], 0);
  // Two nodes were expected, so the first round has started.
  EXPECT_EQ(doc["stage"], "training");
  EXPECT_EQ(doc["round"], 1);
  ASSERT_EQ(doc["nodes"].size(), 2u);
  EXPECT_EQ(doc["nodes"][0]["name"], "school-a");
  EXPECT_DOUBLE_EQ(doc["nodes"][0]["seconds_since_heard"].get<double>(), 0.0);
  EXPECT_EQ(doc["nodes"][1]["name"], "school-b");
  EXPECT_DOUBLE_EQ(doc["nodes"][1]["seconds_since_heard"].get<double>(), 3.0);
  EXPECT_TRUE(doc["last_round"].is_null());
  EXPECT_TRUE(doc["stop_requested_by"].is_null());
}

TEST_F(AdminDeskTest, StatusCarriesTheLastCompletedRound) {
  Join("a");
  Join("b");
  FinishRound(1);
  nlohmann::json doc = DocumentOf(desk_.Answer(Request("status"), "alice", loop_->Snapshot()));
  EXPECT_EQ(doc["rounds_completed"], 1);
  EXPECT_EQ(doc["round"], 2);
  EXPECT_EQ(doc["last_round"]["round"], 1);
  EXPECT_EQ(doc["last_round"]["nodes"], 2);
  EXPECT_NEAR(doc["last_round"]["train_loss"].get<double>(), 0.25, 1e-6);
  EXPECT_DOUBLE_EQ(doc["last_round"]["auc"].get<double>(), 1.0);
}

TEST_F(AdminDeskTest, StopEndsTheRunCleanlyAfterTheCurrentRoundAndNamesWhoAsked) {
  Join("a");
  Join("b");  // round 1 starts
  AdminAnswer answer = desk_.Answer(Request("stop"), "alice", loop_->Snapshot());
  EXPECT_EQ(ReplyOf(answer).code, 0u);
  EXPECT_NE(ReplyOf(answer).message.find("after round 1"), std::string::npos)
      << ReplyOf(answer).message;
  ASSERT_EQ(answer.stop_by, "alice");
  EXPECT_EQ(DocumentOf(answer)["stop_requested_by"], "alice");
  EXPECT_TRUE(loop_->StopAfterRound(*answer.stop_by).empty()) << "the round in progress goes on";
  EXPECT_FALSE(loop_->done());
  std::vector<Outgoing> last = FinishRound(1);
  EXPECT_TRUE(loop_->done());
  EXPECT_TRUE(loop_->outcome().ok()) << loop_->outcome();
  EXPECT_EQ(loop_->records().size(), 1u) << "round 2 of 2 never started";
  EXPECT_EQ(loop_->stopped_by(), "alice");
  ASSERT_EQ(last.size(), 2u);
  const auto* shutdown = std::get_if<protocol::Shutdown>(&last[0].envelope->body);
  ASSERT_NE(shutdown, nullptr);
  EXPECT_NE(shutdown->reason.find("stopped by admin 'alice'"), std::string::npos)
      << shutdown->reason;
  // Once the run is over, there is nothing left to stop.
  AdminAnswer late = desk_.Answer(Request("stop"), "bob", loop_->Snapshot());
  EXPECT_EQ(ReplyOf(late).code, static_cast<uint32_t>(StatusCode::kFailedPrecondition));
  EXPECT_FALSE(late.stop_by.has_value());
}

TEST_F(AdminDeskTest, ASecondStopIsAcknowledgedWithoutChangingWhoAsked) {
  Join("a");
  Join("b");
  loop_->StopAfterRound("alice");
  AdminAnswer again = desk_.Answer(Request("stop"), "bob", loop_->Snapshot());
  EXPECT_EQ(ReplyOf(again).code, 0u);
  EXPECT_NE(ReplyOf(again).message.find("'alice'"), std::string::npos);
  EXPECT_FALSE(again.stop_by.has_value());
}

TEST_F(AdminDeskTest, StopBeforeAnyRoundEndsTheRunAtOnce) {
  Join("a");
  std::vector<Outgoing> out = loop_->StopAfterRound("alice");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<protocol::Shutdown>(out[0].envelope->body));
  EXPECT_TRUE(loop_->done());
  EXPECT_TRUE(loop_->outcome().ok());
  EXPECT_EQ(loop_->stopped_by(), "alice");
  EXPECT_TRUE(loop_->records().empty());
}

TEST_F(AdminDeskTest, ARunThatCompletesIsNotRecordedAsStopped) {
  Join("a");
  Join("b");
  FinishRound(1);
  loop_->StopAfterRound("alice");  // during the last round
  FinishRound(2);
  EXPECT_TRUE(loop_->done());
  EXPECT_EQ(loop_->records().size(), 2u);
  EXPECT_FALSE(loop_->stopped_by().has_value());
}

TEST_F(AdminDeskTest, UnknownCommandsAndOtherMessagesAreRefusedWithAReason) {
  AdminAnswer unknown = desk_.Answer(Request("reboot"), "alice", loop_->Snapshot());
  EXPECT_EQ(ReplyOf(unknown).code, static_cast<uint32_t>(StatusCode::kInvalidArgument));
  EXPECT_NE(ReplyOf(unknown).message.find("status and stop"), std::string::npos);
  AdminAnswer hello =
      desk_.Answer(Envelope{0, 0, protocol::Hello{"lycee-a"}}, "alice", loop_->Snapshot());
  EXPECT_EQ(ReplyOf(hello).code, static_cast<uint32_t>(StatusCode::kInvalidArgument));
  EXPECT_NE(ReplyOf(hello).message.find("Hello"), std::string::npos);
  EXPECT_FALSE(hello.stop_by.has_value());
}

TEST_F(AdminDeskTest, AnUnauthenticatedAdminIsNamedSo) {
  Join("a");
  EXPECT_EQ(desk_.Answer(Request("stop"), "", loop_->Snapshot()).stop_by, "unauthenticated");
}

TEST_F(AdminDeskTest, ADocumentOverTheCapLeavesOutTheNodesOrIsRefused) {
  for (int i = 0; i < 40; ++i) {
    loop_->OnMessage("peer-" + std::to_string(i), HelloFrom("node-" + std::to_string(i)));
  }
  AdminDesk small({/*max_document_bytes=*/600});
  AdminAnswer answer = small.Answer(Request("status"), "alice", loop_->Snapshot());
  ASSERT_EQ(ReplyOf(answer).code, 0u) << ReplyOf(answer).message;
  EXPECT_LE(ReplyOf(answer).json.size(), 600u);
  nlohmann::json doc = DocumentOf(answer);
  EXPECT_TRUE(doc["nodes"].is_null());
  EXPECT_EQ(doc["nodes_left_out"], 40);
  AdminDesk tiny({/*max_document_bytes=*/20});
  EXPECT_EQ(ReplyOf(tiny.Answer(Request("status"), "alice", loop_->Snapshot())).code,
            static_cast<uint32_t>(StatusCode::kOutOfRange));
}

}  // namespace
}  // namespace cartable::coordinator
