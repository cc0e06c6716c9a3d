// The SQLite run store keeps runs, their states, round records and checkpoints exactly, across
// reopening, and refuses files it cannot trust.

#include "coordinator/run_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace cartable::coordinator {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class RunStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cartable_run_store_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(fs::create_directories(dir_));
    path_ = dir_ / "runs.db";
    Open();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Closes the store (if open) and opens it again.
  void Open() {
    store_.reset();
    auto opened = OpenSqliteRunStore(path_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = std::move(opened).value();
  }

  uint64_t Submit(const std::string& name, int64_t submitted_ms = 1000) {
    StoredRun run;
    run.submitter = "researcher";
    run.name = name;
    run.plan = "[model]\nname = \"pfa\"\n";
    run.plan_hash = std::string(64, 'a');
    run.submitted_ms = submitted_ms;
    run.rounds_planned = 10;
    auto id = store_->Submit(run);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : 0;
  }

  StoredRun Get(uint64_t id) {
    auto found = store_->Find(id);
    EXPECT_TRUE(found.ok()) << found.status();
    EXPECT_TRUE(found.ok() && found->has_value()) << "run " << id << " missing";
    return found.ok() && found->has_value() ? **found : StoredRun{};
  }

  std::vector<std::string> NamesListed(size_t limit) {
    auto runs = store_->List(limit);
    EXPECT_TRUE(runs.ok()) << runs.status();
    std::vector<std::string> names;
    if (runs.ok())
      for (const StoredRun& run : *runs) names.push_back(run.name);
    return names;
  }

  std::optional<uint64_t> NextId() {
    auto next = store_->Next();
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || !next->has_value()) return std::nullopt;
    return (*next)->id;
  }

  fs::path dir_;
  fs::path path_;
  std::unique_ptr<RunStore> store_;
};

// Values whose bits a lossy round trip (text, a narrower type) would change.
Checkpoint OddCheckpoint(uint32_t round) {
  return Checkpoint{round,
                    round + 2,
                    {1e-38f, -0.0f, std::numeric_limits<float>::denorm_min(), 3.4028235e38f, 0.1f,
                     -1.0f / 3.0f, static_cast<float>(round)},
                    {5e-324, -0.0, 0.1, 1.0 / 3.0, -1e308, static_cast<double>(round)}};
}

template <typename T>
std::vector<uint64_t> Bits(const std::vector<T>& values) {
  std::vector<uint64_t> bits;
  for (T v : values) {
    if constexpr (sizeof(T) == 4) {
      bits.push_back(std::bit_cast<uint32_t>(v));
    } else {
      bits.push_back(std::bit_cast<uint64_t>(v));
    }
  }
  return bits;
}

void ExpectSameBits(const Checkpoint& got, const Checkpoint& want) {
  EXPECT_EQ(got.rounds_completed, want.rounds_completed);
  EXPECT_EQ(got.attempts, want.attempts);
  EXPECT_EQ(Bits(got.global_model), Bits(want.global_model));
  EXPECT_EQ(Bits(got.strategy_state), Bits(want.strategy_state));
}

TEST_F(RunStoreTest, SubmitGivesGrowingIdsAndFindReturnsWhatWasSubmitted) {
  const uint64_t first = Submit("first", 1111);
  const uint64_t second = Submit("second");
  EXPECT_GT(first, 0u);
  EXPECT_GT(second, first);
  const StoredRun run = Get(first);
  EXPECT_EQ(run.id, first);
  EXPECT_EQ(run.submitter, "researcher");
  EXPECT_EQ(run.name, "first");
  EXPECT_EQ(run.plan, "[model]\nname = \"pfa\"\n");
  EXPECT_EQ(run.plan_hash, std::string(64, 'a'));
  EXPECT_EQ(run.state, RunState::kQueued);
  EXPECT_EQ(run.reason, "");
  EXPECT_EQ(run.submitted_ms, 1111);
  EXPECT_EQ(run.started_ms, 0);
  EXPECT_EQ(run.ended_ms, 0);
  EXPECT_EQ(run.rounds_planned, 10u);
  EXPECT_EQ(run.rounds_completed, 0u);
}

TEST_F(RunStoreTest, FindOfAnUnknownIdIsNullopt) {
  Submit("only");
  auto found = store_->Find(9999);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_FALSE(found->has_value());
}

TEST_F(RunStoreTest, ListIsNewestFirstAndHonoursTheLimit) {
  EXPECT_TRUE(NamesListed(10).empty());
  Submit("a");
  Submit("b");
  Submit("c");
  EXPECT_THAT(NamesListed(10), ElementsAre("c", "b", "a"));
  EXPECT_THAT(NamesListed(2), ElementsAre("c", "b"));
  EXPECT_TRUE(NamesListed(0).empty());
}

TEST_F(RunStoreTest, NextIsARunningRunBeforeAnyQueuedOneElseTheOldestQueued) {
  EXPECT_EQ(NextId(), std::nullopt);
  const uint64_t a = Submit("a");
  const uint64_t b = Submit("b");
  const uint64_t c = Submit("c");
  EXPECT_EQ(NextId(), a);
  ASSERT_TRUE(store_->SetState(c, RunState::kRunning, "", 2000).ok());
  EXPECT_EQ(NextId(), c);  // left running by a coordinator that stopped: resumed first
  ASSERT_TRUE(store_->SetState(c, RunState::kEnded, "", 3000).ok());
  ASSERT_TRUE(store_->SetState(a, RunState::kCancelled, "by admin", 3000).ok());
  EXPECT_EQ(NextId(), b);
  ASSERT_TRUE(store_->SetState(b, RunState::kFailed, "too few nodes", 4000).ok());
  EXPECT_EQ(NextId(), std::nullopt);
}

TEST_F(RunStoreTest, SetStateStampsStartAndEndAndKeepsTheReason) {
  const uint64_t id = Submit("run");
  ASSERT_TRUE(store_->SetState(id, RunState::kRunning, "", 2000).ok());
  StoredRun run = Get(id);
  EXPECT_EQ(run.state, RunState::kRunning);
  EXPECT_EQ(run.started_ms, 2000);
  EXPECT_EQ(run.ended_ms, 0);
  // Running again (a resumed run) keeps the first start.
  ASSERT_TRUE(store_->SetState(id, RunState::kRunning, "", 2500).ok());
  EXPECT_EQ(Get(id).started_ms, 2000);
  ASSERT_TRUE(store_->SetState(id, RunState::kFailed, "round 3: too few nodes", 5000).ok());
  run = Get(id);
  EXPECT_EQ(run.state, RunState::kFailed);
  EXPECT_EQ(run.reason, "round 3: too few nodes");
  EXPECT_EQ(run.started_ms, 2000);
  EXPECT_EQ(run.ended_ms, 5000);
}

TEST_F(RunStoreTest, AQueuedRunCancelledNeverStarted) {
  const uint64_t id = Submit("run");
  ASSERT_TRUE(store_->SetState(id, RunState::kCancelled, "admin", 1500).ok());
  const StoredRun run = Get(id);
  EXPECT_EQ(run.state, RunState::kCancelled);
  EXPECT_EQ(run.started_ms, 0);
  EXPECT_EQ(run.ended_ms, 1500);
}

// The metrics endpoint counts runs through a second connection to the daemon's database.
TEST_F(RunStoreTest, CountByStateSeesEveryStateAndAnotherConnectionsWrites) {
  auto reader = OpenSqliteRunStore(path_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto empty = (*reader)->CountByState();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
  const uint64_t a = Submit("a");
  const uint64_t b = Submit("b");
  Submit("c");
  ASSERT_TRUE(store_->SetState(a, RunState::kRunning, "", 1100).ok());
  ASSERT_TRUE(store_->SetState(b, RunState::kCancelled, "admin", 1200).ok());
  auto counts = (*reader)->CountByState();
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(*counts,
            (std::map<RunState, uint64_t>{
                {RunState::kQueued, 1}, {RunState::kRunning, 1}, {RunState::kCancelled, 1}}));
}

TEST_F(RunStoreTest, SetStateRefusesToLeaveAFinalStateOrTouchAnUnknownRun) {
  for (RunState final_state : {RunState::kEnded, RunState::kCancelled, RunState::kFailed}) {
    SCOPED_TRACE(RunStateName(final_state));
    const uint64_t id = Submit("run");
    ASSERT_TRUE(store_->SetState(id, RunState::kRunning, "", 2000).ok());
    ASSERT_TRUE(store_->SetState(id, final_state, "why", 3000).ok());
    for (RunState next : {RunState::kQueued, RunState::kRunning, RunState::kEnded}) {
      const Status refused = store_->SetState(id, next, "again", 4000);
      EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused;
    }
    const StoredRun run = Get(id);
    EXPECT_EQ(run.state, final_state);
    EXPECT_EQ(run.reason, "why");
    EXPECT_EQ(run.ended_ms, 3000);
  }
  const Status unknown = store_->SetState(12345, RunState::kRunning, "", 1);
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound) << unknown;
  EXPECT_THAT(unknown.message(), HasSubstr("12345"));
}

TEST_F(RunStoreTest, ACheckpointComesBackBitForBitWithTheRecordsInOrder) {
  const uint64_t id = Submit("run");
  auto none = store_->LoadCheckpoint(id);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());
  for (uint32_t round = 1; round <= 3; ++round) {
    ASSERT_TRUE(
        store_->SaveRound(id, OddCheckpoint(round), "{\"round\":" + std::to_string(round) + "}")
            .ok());
  }
  auto loaded = store_->LoadCheckpoint(id);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_TRUE(loaded->has_value());
  ExpectSameBits(**loaded, OddCheckpoint(3));
  auto records = store_->RoundRecords(id);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_THAT(*records, ElementsAre("{\"round\":1}", "{\"round\":2}", "{\"round\":3}"));
  EXPECT_EQ(Get(id).rounds_completed, 3u);
}

TEST_F(RunStoreTest, AnEmptyModelAndStateRoundTrip) {
  const uint64_t id = Submit("run");
  ASSERT_TRUE(store_->SaveRound(id, Checkpoint{1, 1, {}, {}}, "{}").ok());
  auto loaded = store_->LoadCheckpoint(id);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_TRUE((*loaded)->global_model.empty());
  EXPECT_TRUE((*loaded)->strategy_state.empty());
}

TEST_F(RunStoreTest, CheckpointsOfDifferentRunsAreKeptApart) {
  const uint64_t a = Submit("a");
  const uint64_t b = Submit("b");
  ASSERT_TRUE(store_->SaveRound(a, OddCheckpoint(1), "a1").ok());
  ASSERT_TRUE(store_->SaveRound(b, OddCheckpoint(7), "b7").ok());
  ExpectSameBits(**store_->LoadCheckpoint(a), OddCheckpoint(1));
  ExpectSameBits(**store_->LoadCheckpoint(b), OddCheckpoint(7));
  EXPECT_THAT(*store_->RoundRecords(a), ElementsAre("a1"));
  EXPECT_THAT(*store_->RoundRecords(b), ElementsAre("b7"));
}

TEST_F(RunStoreTest, SavingARoundTwiceFailsAndLeavesTheEarlierCheckpointWhole) {
  const uint64_t id = Submit("run");
  ASSERT_TRUE(store_->SaveRound(id, OddCheckpoint(2), "first").ok());
  Checkpoint other = OddCheckpoint(2);
  other.attempts = 99;
  other.global_model.assign(3, 7.0f);
  other.strategy_state.assign(5, 9.0);
  EXPECT_FALSE(store_->SaveRound(id, other, "second").ok());
  // The transaction rolled back: neither the checkpoint nor the progress moved.
  ExpectSameBits(**store_->LoadCheckpoint(id), OddCheckpoint(2));
  EXPECT_THAT(*store_->RoundRecords(id), ElementsAre("first"));
  // And the store goes on working.
  ASSERT_TRUE(store_->SaveRound(id, OddCheckpoint(3), "third").ok());
  EXPECT_THAT(*store_->RoundRecords(id), ElementsAre("first", "third"));
  ExpectSameBits(**store_->LoadCheckpoint(id), OddCheckpoint(3));
}

// Regression: without PRAGMA foreign_keys the schema's REFERENCES runs(id) was not enforced, and
// SaveRound for a run that does not exist left an orphan record and checkpoint.
TEST_F(RunStoreTest, SavingARoundOfAnUnknownRunIsRefused) {
  Submit("run");
  EXPECT_FALSE(store_->SaveRound(777, OddCheckpoint(1), "orphan").ok());
  auto orphan = store_->LoadCheckpoint(777);
  ASSERT_TRUE(orphan.ok()) << orphan.status();
  EXPECT_FALSE(orphan->has_value());
}

TEST_F(RunStoreTest, ReopeningKeepsEverythingAndIdsGoOnGrowing) {
  const uint64_t a = Submit("a");
  const uint64_t b = Submit("b");
  ASSERT_TRUE(store_->SetState(a, RunState::kRunning, "", 2000).ok());
  ASSERT_TRUE(store_->SaveRound(a, OddCheckpoint(1), "r1").ok());
  ASSERT_TRUE(store_->SetState(b, RunState::kCancelled, "admin", 2500).ok());
  Open();
  EXPECT_THAT(NamesListed(10), ElementsAre("b", "a"));
  const StoredRun run = Get(a);
  EXPECT_EQ(run.state, RunState::kRunning);
  EXPECT_EQ(run.started_ms, 2000);
  EXPECT_EQ(run.rounds_completed, 1u);
  EXPECT_EQ(Get(b).state, RunState::kCancelled);
  EXPECT_EQ(NextId(), a);
  ExpectSameBits(**store_->LoadCheckpoint(a), OddCheckpoint(1));
  EXPECT_THAT(*store_->RoundRecords(a), ElementsAre("r1"));
  const uint64_t c = Submit("c");
  EXPECT_GT(c, b);
  Open();
  EXPECT_GT(Submit("d"), c);
}

TEST_F(RunStoreTest, AFileThatIsNotADatabaseIsRefusedNamingIt) {
  store_.reset();
  const fs::path garbage = dir_ / "garbage.db";
  {
    std::ofstream out(garbage, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>((i * 131 + 7) & 0xff));
  }
  auto opened = OpenSqliteRunStore(garbage);
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(opened.status().message(), HasSubstr(garbage.string()));
  EXPECT_THAT(opened.status().message(), HasSubstr("not a database"));
}

TEST_F(RunStoreTest, ADirectoryThatDoesNotExistIsAnErrorNamingThePath) {
  const fs::path nowhere = dir_ / "missing" / "runs.db";
  auto opened = OpenSqliteRunStore(nowhere);
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(opened.status().message(), HasSubstr(nowhere.string()));
}

TEST_F(RunStoreTest, ADatabaseOfANewerSchemaIsRefused) {
  Submit("a");
  store_.reset();  // the last connection checkpoints the WAL into the file and removes it
  ASSERT_FALSE(fs::exists(path_.string() + "-wal"));
  {
    // The user version is the big-endian 32-bit integer at offset 60 of the database header
    // (https://www.sqlite.org/fileformat.html): what PRAGMA user_version = 99 writes.
    std::fstream file(path_, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(60);
    const char version[4] = {0, 0, 0, 99};
    file.write(version, sizeof(version));
    ASSERT_TRUE(file.good());
  }
  auto opened = OpenSqliteRunStore(path_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kFailedPrecondition) << opened.status();
  EXPECT_THAT(opened.status().message(),
              AllOf(HasSubstr(path_.string()), HasSubstr("99"), HasSubstr("newer")));
}

}  // namespace
}  // namespace cartable::coordinator
