// The researchers' desk over a real SQLite store: a researcher's submissions are capped, a plan
// too large is refused before it is parsed, and what one researcher does leaves another's runs and
// quota alone.

#include "coordinator/run_desk.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace cartable::coordinator {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPlan = R"toml(
name = "capped"
rounds = 2
[model]
name = "pfa"
[data]
skills = 4
[nodes]
min = 3
)toml";

class RunDeskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cartable_run_desk_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(fs::create_directories(dir_));
    auto opened = OpenSqliteRunStore(dir_ / "runs.db");
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = std::move(opened).value();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  RunDesk Desk(uint64_t cap) {
    RunDeskOptions options;
    options.runs_dir = dir_ / "runs";
    options.max_unfinished_runs = cap;
    options.operators = {"operator"};
    options.now_ms = [] { return int64_t{1000}; };
    return RunDesk(*store_, options);
  }

  static protocol::AdminReply Ask(RunDesk& desk, const std::string& who, const std::string& command,
                                  uint64_t run_id = 0, const std::string& document = "",
                                  uint64_t offset = 0) {
    protocol::AdminRequest request;
    request.command = command;
    request.run_id = run_id;
    request.offset = offset;
    request.document.assign(document.begin(), document.end());
    AdminAnswer answer = desk.Answer({run_id, 0, request}, who, nullptr);
    return std::get<protocol::AdminReply>(answer.reply.body);
  }

  static uint64_t RunId(const protocol::AdminReply& reply) {
    return nlohmann::json::parse(std::string(reply.json.begin(), reply.json.end()))["run_id"];
  }

  fs::path dir_;
  std::unique_ptr<RunStore> store_;
};

TEST_F(RunDeskTest, AResearcherBeyondTheCapIsRefusedAndOthersAreNot) {
  RunDesk desk = Desk(2);
  const protocol::AdminReply first = Ask(desk, "alice", "submit", 0, kPlan);
  ASSERT_EQ(first.code, 0U) << first.message;
  ASSERT_EQ(Ask(desk, "alice", "submit", 0, kPlan).code, 0U);

  const protocol::AdminReply refused = Ask(desk, "alice", "submit", 0, kPlan);
  EXPECT_EQ(refused.code, static_cast<uint32_t>(StatusCode::kResourceExhausted));
  EXPECT_NE(refused.message.find("2 runs queued or running"), std::string::npos) << refused.message;
  EXPECT_EQ(Ask(desk, "bob", "submit", 0, kPlan).code, 0U) << "bob's quota is his own";
  EXPECT_EQ(Ask(desk, "operator", "cancel", RunId(first)).code, 0U);
  EXPECT_EQ(Ask(desk, "alice", "submit", 0, kPlan).code, 0U) << "a cancelled run frees its place";
  EXPECT_NE(Ask(desk, "alice", "submit", 0, kPlan).code, 0U);
  auto counts = store_->CountByState();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)[RunState::kQueued], 3U);  // alice's 2 (one cancelled, one more) and bob's
  EXPECT_EQ((*counts)[RunState::kCancelled], 1U);
}

TEST_F(RunDeskTest, CountUnfinishedCountsQueuedAndRunningRunsOfThatSubmitterOnly) {
  RunDesk desk = Desk(10);
  const uint64_t a = RunId(Ask(desk, "alice", "submit", 0, kPlan));
  const uint64_t b = RunId(Ask(desk, "alice", "submit", 0, kPlan));
  RunId(Ask(desk, "alice", "submit", 0, kPlan));
  RunId(Ask(desk, "bob", "submit", 0, kPlan));
  ASSERT_TRUE(store_->SetState(a, RunState::kRunning, "", 2000).ok());
  ASSERT_TRUE(store_->SetState(b, RunState::kRunning, "", 2000).ok());
  ASSERT_TRUE(store_->SetState(b, RunState::kEnded, "", 3000).ok());
  EXPECT_EQ(store_->CountUnfinished("alice").value(), 2U);
  EXPECT_EQ(store_->CountUnfinished("bob").value(), 1U);
  EXPECT_EQ(store_->CountUnfinished("nobody").value(), 0U);
}

TEST_F(RunDeskTest, APlanTooLargeIsRefusedBeforeItIsReadAndNothingIsStored) {
  RunDesk desk = Desk(10);
  std::string huge = kPlan;
  huge += "# " + std::string(kMaxPlanBytes, 'x') + "\n";
  const protocol::AdminReply refused = Ask(desk, "alice", "submit", 0, huge);
  EXPECT_EQ(refused.code, static_cast<uint32_t>(StatusCode::kInvalidArgument));
  EXPECT_NE(refused.message.find("plans are at most 65536"), std::string::npos) << refused.message;
  EXPECT_EQ(store_->CountUnfinished("alice").value(), 0U);
}

// A long run's round records do not fit one reply: status pages them from the offset asked for,
// each page within the reply's limit, and the pages put together are every record in order.
TEST_F(RunDeskTest, StatusPagesALongRunsRoundRecords) {
  RunDesk desk = Desk(10);
  const uint64_t id = RunId(Ask(desk, "alice", "submit", 0, kPlan));
  constexpr uint32_t kRounds = 120;
  const std::string padding(20000, 'x');  // 120 records of 20 kB: 2.4 MB, over 1 MiB
  for (uint32_t round = 1; round <= kRounds; ++round) {
    const std::string record = nlohmann::json{{"round", round}, {"note", padding}}.dump();
    ASSERT_TRUE(store_->SaveRound(id, Checkpoint{round, round, {}, {}}, record).ok());
  }
  std::vector<uint32_t> seen;
  for (int pages = 0; seen.size() < kRounds && pages < 10; ++pages) {
    const protocol::AdminReply reply = Ask(desk, "alice", "status", id, "", seen.size());
    ASSERT_EQ(reply.code, 0U) << reply.message;
    EXPECT_LE(reply.json.size(), protocol::kMaxAdminDocumentBytes);
    const auto doc = nlohmann::json::parse(std::string(reply.json.begin(), reply.json.end()));
    EXPECT_EQ(doc["rounds_from"], seen.size());
    ASSERT_FALSE(doc["rounds"].empty());
    for (const auto& r : doc["rounds"]) seen.push_back(r["round"]);
  }
  ASSERT_EQ(seen.size(), kRounds);
  for (uint32_t i = 0; i < kRounds; ++i) EXPECT_EQ(seen[i], i + 1);
  // Past the end: no rounds, not an error.
  const protocol::AdminReply past = Ask(desk, "alice", "status", id, "", 500);
  EXPECT_EQ(past.code, 0U);
  EXPECT_TRUE(
      nlohmann::json::parse(std::string(past.json.begin(), past.json.end()))["rounds"].empty());
}

}  // namespace
}  // namespace cartable::coordinator
