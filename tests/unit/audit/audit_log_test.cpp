#include "audit/audit_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "audit_fixture.h"

namespace cartable::audit::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using Json = nlohmann::ordered_json;

using AuditLogTest = AuditTest;

TEST_F(AuditLogTest, FreshLogVerifiesAndItsHeadIsTheLastEntrysHash) {
  const auto path = dir_ / "audit.jsonl";
  auto log = AuditLog::Open(path, Clock());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->head(), kGenesisHash);
  EXPECT_EQ((*log)->size(), 0u);
  for (size_t i = 0; i < 5; ++i) ASSERT_TRUE((*log)->Append(EventOf(i), DataOf(i)).ok());

  const auto lines = Lines(path);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ((*log)->size(), 5u);
  EXPECT_EQ((*log)->head(), HashOf(lines[4]));
  auto verified = VerifyAuditLog(path);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->entries, 5u);
  EXPECT_EQ(verified->head, (*log)->head());
}

// The format, pinned: the line is built here by hand and its hash was computed by sha256sum, not
// by cartable. A change to any byte the log writes fails this test.
TEST_F(AuditLogTest, FirstEntryIsTheDocumentedBytes) {
  const auto path = dir_ / "audit.jsonl";
  auto log = AuditLog::Open(path, [] { return kStartMs; });
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE((*log)
                  ->Append("run_submitted", {{"run_id", "r-1"},
                                             {"by", "alice"},
                                             {"cohort", 12},
                                             {"note", "\xc3\xa9l\xc3\xa8ve \"A\"\n"}})
                  .ok());
  const std::string hashed =
      "{\"seq\":0,\"time\":\"2026-12-05T13:01:02.123Z\",\"event\":\"run_submitted\",\"prev\":\"" +
      std::string(64, '0') +
      "\",\"data\":{\"run_id\":\"r-1\",\"by\":\"alice\",\"cohort\":12,\"note\":"
      "\"\xc3\xa9l\xc3\xa8ve \\\"A\\\"\\n\"}}";
  const std::string hash = "3c127005d6d645f96e0cf3a875a2a7e0b088a6eb69805869221ee979ff79ba09";
  EXPECT_EQ(Slurp(path), hashed.substr(0, hashed.size() - 1) + ",\"hash\":\"" + hash + "\"}\n");
  EXPECT_EQ((*log)->head(), hash);
}

TEST_F(AuditLogTest, EntryTimesComeFromTheClock) {
  const auto path = dir_ / "audit.jsonl";
  int64_t now = -1;  // 1 ms before 1970: the milliseconds stay positive
  auto log = AuditLog::Open(path, [&now] { return now; });
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE((*log)->Append("a", Json::object()).ok());
  now = kStartMs + 877;
  ASSERT_TRUE((*log)->Append("b", Json::object()).ok());
  const auto lines = Lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(Json::parse(lines[0])["time"], "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(Json::parse(lines[1])["time"], "2026-12-05T13:01:03.000Z");
}

TEST_F(AuditLogTest, ReopeningContinuesTheChain) {
  const auto path = WriteLog(3);
  const std::string head = HashOf(Lines(path)[2]);
  {
    auto log = AuditLog::Open(path, Clock());
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->size(), 3u);
    EXPECT_EQ((*log)->head(), head);
    ASSERT_TRUE((*log)->Append("round_completed", {{"model_hash", std::string(64, 'b')}}).ok());
    ASSERT_TRUE((*log)->Append("run_ended", Json::object()).ok());
  }
  const auto lines = Lines(path);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(Json::parse(lines[3])["seq"], 3);
  EXPECT_EQ(Json::parse(lines[3])["prev"], head);
  EXPECT_EQ(Json::parse(lines[4])["prev"], HashOf(lines[3]));
  auto verified = VerifyAuditLog(path);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->entries, 5u);
  EXPECT_EQ(verified->head, HashOf(lines[4]));
}

TEST_F(AuditLogTest, CreatesItsDirectoryAndAFileOfMode0644) {
  const auto path = dir_ / "state" / "node" / "audit.jsonl";
  auto log = AuditLog::Open(path, Clock());
  ASSERT_TRUE(log.ok()) << log.status();
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0644u);
  EXPECT_EQ(info.st_size, 0);
}

TEST_F(AuditLogTest, AnEmptyFileOpensAtTheGenesisHead) {
  const auto path = dir_ / "audit.jsonl";
  Put(path, "");
  auto log = AuditLog::Open(path, Clock());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->size(), 0u);
  EXPECT_EQ((*log)->head(), kGenesisHash);
}

TEST_F(AuditLogTest, RefusesEventNamesOutsideLowerCaseDigitsAndUnderscore) {
  const auto path = dir_ / "audit.jsonl";
  auto log = AuditLog::Open(path, Clock());
  ASSERT_TRUE(log.ok()) << log.status();
  for (const std::string& event :
       std::vector<std::string>{"", "Round_started", "round-started", "round started",
                                "\xc3\xa9v\xc3\xa8nement", "run\n", std::string(65, 'a')}) {
    Status appended = (*log)->Append(event, Json::object());
    EXPECT_EQ(appended.code(), StatusCode::kInvalidArgument) << event;
    EXPECT_THAT(appended.message(), HasSubstr("1 to 64 of a-z, 0-9 and _"));
  }
  EXPECT_TRUE((*log)->Append(std::string(64, 'a'), Json::object()).ok());
  EXPECT_TRUE((*log)->Append("round_2_started", Json::object()).ok());
  EXPECT_EQ((*log)->size(), 2u);
  EXPECT_EQ(Lines(path).size(), 2u);
}

TEST_F(AuditLogTest, RefusesDataThatIsNotAnObjectOrNestsTooDeep) {
  const auto path = dir_ / "audit.jsonl";
  auto log = AuditLog::Open(path, Clock());
  ASSERT_TRUE(log.ok()) << log.status();
  for (const Json& data : {Json::array({1, 2}), Json("text"), Json(3), Json()}) {
    Status appended = (*log)->Append("node_joined", data);
    EXPECT_EQ(appended.code(), StatusCode::kInvalidArgument) << data;
    EXPECT_THAT(appended.message(), HasSubstr("data must be a JSON object, not"));
  }
  Json deep = Json::object();
  for (size_t i = 0; i < kMaxNesting; ++i) deep = Json{{"in", deep}};
  EXPECT_THAT((*log)->Append("node_joined", deep).message(), HasSubstr("nests deeper"));
  EXPECT_EQ(Slurp(path), "");
  EXPECT_EQ((*log)->size(), 0u);
}

TEST_F(AuditLogTest, RefusesAnEntryOverTheLineCapAndStaysUsable) {
  const auto path = dir_ / "audit.jsonl";
  auto log = AuditLog::Open(path, Clock());
  ASSERT_TRUE(log.ok()) << log.status();
  Status appended = (*log)->Append("update_sent", {{"values", std::string(kMaxLineBytes, 'x')}});
  EXPECT_EQ(appended.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(appended.message(), HasSubstr("exceeds the 1048576"));
  EXPECT_EQ(Slurp(path), "");
  ASSERT_TRUE((*log)->Append("update_sent", {{"bytes", 4096}}).ok());
  auto verified = VerifyAuditLog(path);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->entries, 1u);
}

TEST_F(AuditLogTest, InvalidUtf8IsWrittenAsReplacementCharacters) {
  const auto path = dir_ / "audit.jsonl";
  auto log = AuditLog::Open(path, Clock());
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE((*log)->Append("node_joined", {{"name", "lyc\xe9"}}).ok());
  EXPECT_EQ(Json::parse(Lines(path)[0])["data"]["name"], "lyc\xef\xbf\xbd");
  EXPECT_TRUE(VerifyAuditLog(path).ok());
}

TEST_F(AuditLogTest, OpenRefusesATamperedLogAndLeavesItAlone) {
  const auto path = WriteLog(4);
  auto lines = Lines(path);
  lines[1].replace(lines[1].find("\"n\":1"), 5, "\"n\":5");
  PutLines(path, lines);
  const std::string before = Slurp(path);

  auto log = AuditLog::Open(path, Clock());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(log.status().message(),
              AllOf(HasSubstr("refusing to append to the audit log " + path.string()),
                    HasSubstr("audit.jsonl line 2 (seq 1): hash does not match the entry")));
  EXPECT_EQ(Slurp(path), before);
}

// A crash in the middle of a write leaves a line without its '\n'. It is evidence: Open refuses
// and says how to look and how to cut it, and the file is left as it was.
TEST_F(AuditLogTest, OpenRefusesATornTailAndSaysHowToRepairIt) {
  const auto path = WriteLog(3);
  const std::string whole = Slurp(path);
  Put(path, whole + "{\"seq\":3,\"time\":\"2026-12");

  auto log = AuditLog::Open(path, Clock());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(
      log.status().message(),
      AllOf(HasSubstr("line 4 (seq 3): the last line is incomplete"),
            HasSubstr("cartable audit verify " + path.string()),
            HasSubstr("truncate -s " + std::to_string(whole.size()) + " " + path.string())));
  EXPECT_EQ(Slurp(path), whole + "{\"seq\":3,\"time\":\"2026-12");

  std::filesystem::resize_file(path, whole.size());  // what the message suggests
  log = AuditLog::Open(path, Clock());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->size(), 3u);
  ASSERT_TRUE((*log)->Append("run_ended", Json::object()).ok());
  EXPECT_TRUE(VerifyAuditLog(path).ok());
}

TEST_F(AuditLogTest, ASecondWriterIsRefusedWhileTheFirstHoldsTheLog) {
  const auto path = dir_ / "audit.jsonl";
  auto first = AuditLog::Open(path, Clock());
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = AuditLog::Open(path, Clock());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("is open in another process"));
  first->reset();
  EXPECT_TRUE(AuditLog::Open(path, Clock()).ok());
}

TEST_F(AuditLogTest, OpenNamesAPathThatIsNotAFile) {
  auto log = AuditLog::Open(dir_, Clock());
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(log.status().message(), HasSubstr(dir_.string()));
}

}  // namespace
}  // namespace cartable::audit::testing
