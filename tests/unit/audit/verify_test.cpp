#include "audit/verify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include "audit_fixture.h"

namespace cartable::audit::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using Json = nlohmann::ordered_json;

class VerifyTest : public AuditTest {
 protected:
  // Writes a new log of `n` entries, lets `tamper` edit its lines, and verifies what is left.
  StatusOr<VerifyResult> Tampered(size_t n,
                                  const std::function<void(std::vector<std::string>&)>& tamper) {
    std::filesystem::remove(dir_ / "audit.jsonl");
    ticks_ = 0;
    const auto path = WriteLog(n);
    auto lines = Lines(path);
    tamper(lines);
    PutLines(path, lines);
    return VerifyAuditLog(path);
  }
  static void Replace(std::string& line, const std::string& from, const std::string& to) {
    const size_t at = line.find(from);
    ASSERT_NE(at, std::string::npos) << from << " not in " << line;
    line.replace(at, from.size(), to);
  }
};

// Says which first bad line `result` names, and why.
MATCHER_P2(FailsAt, where, why, "") {
  if (arg.ok()) {
    *result_listener << "verified (" << arg->entries << " entries)";
    return false;
  }
  *result_listener << arg.status();
  return arg.status().code() == StatusCode::kDataLoss &&
         arg.status().message().find(std::string(where) + ": " + why) != std::string::npos;
}

TEST_F(VerifyTest, AnEmptyLogHoldsNoEntriesAndTheGenesisHead) {
  const auto path = dir_ / "audit.jsonl";
  Put(path, "");
  auto verified = VerifyAuditLog(path);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->entries, 0u);
  EXPECT_EQ(verified->head, kGenesisHash);
  std::istringstream empty;
  verified = VerifyAuditLog(empty, "empty.jsonl", std::string(kGenesisHash), 0);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->head, kGenesisHash);
}

TEST_F(VerifyTest, TheStreamVersionAgreesWithTheFileVersion) {
  const auto path = WriteLog(6);
  std::istringstream in(Slurp(path));
  auto from_stream = VerifyAuditLog(in, "copy.jsonl");
  ASSERT_TRUE(from_stream.ok()) << from_stream.status();
  EXPECT_EQ(from_stream->entries, 6u);
  EXPECT_EQ(from_stream->head, HashOf(Lines(path)[5]));

  std::istringstream torn(Slurp(path) + "{\"seq\"");
  EXPECT_THAT(VerifyAuditLog(torn, "copy.jsonl"),
              FailsAt("copy.jsonl line 7 (seq 6)", "the last line is incomplete"));
}

TEST_F(VerifyTest, AnEditedDataValueIsNamed) {
  EXPECT_THAT(Tampered(6, [](auto& lines) { Replace(lines[2], "\"bytes\":2000", "\"bytes\":20"); }),
              FailsAt("audit.jsonl line 3 (seq 2)", "hash does not match the entry (edited?)"));
}

TEST_F(VerifyTest, AnEditedEventIsNamed) {
  EXPECT_THAT(Tampered(6, [](auto& lines) { Replace(lines[3], "update_sent", "run_refused"); }),
              FailsAt("audit.jsonl line 4 (seq 3)", "hash does not match the entry"));
}

TEST_F(VerifyTest, AnEditedTimeIsNamed) {
  EXPECT_THAT(Tampered(6, [](auto& lines) { Replace(lines[4], "13:01:06.123", "13:01:06.124"); }),
              FailsAt("audit.jsonl line 5 (seq 4)", "hash does not match the entry"));
}

// Whoever edits an entry and recomputes its hash is caught by the entry after it.
TEST_F(VerifyTest, AnEditWithItsHashRecomputedIsCaughtAtTheNextEntry) {
  EXPECT_THAT(Tampered(6,
                       [](auto& lines) {
                         Json entry = Json::parse(lines[2]);
                         entry.erase("hash");
                         entry["data"]["bytes"] = 20;
                         lines[2] = Sealed(entry);
                       }),
              FailsAt("audit.jsonl line 4 (seq 3)",
                      "prev is not the hash of the entry before (an entry removed, inserted or "
                      "moved?)"));
}

TEST_F(VerifyTest, ARemovedMiddleEntryIsNamed) {
  EXPECT_THAT(Tampered(6, [](auto& lines) { lines.erase(lines.begin() + 2); }),
              FailsAt("audit.jsonl line 3 (seq 2)", "seq is 3, expected 2"));
}

TEST_F(VerifyTest, ARemovedFirstEntryIsNamed) {
  EXPECT_THAT(Tampered(6, [](auto& lines) { lines.erase(lines.begin()); }),
              FailsAt("audit.jsonl line 1 (seq 0)", "seq is 1, expected 0"));
}

TEST_F(VerifyTest, SwappedEntriesAreNamed) {
  EXPECT_THAT(Tampered(6, [](auto& lines) { std::swap(lines[2], lines[3]); }),
              FailsAt("audit.jsonl line 3 (seq 2)", "seq is 3, expected 2"));
}

TEST_F(VerifyTest, ADuplicatedEntryIsNamed) {
  EXPECT_THAT(Tampered(6, [](auto& lines) { lines.insert(lines.begin() + 3, lines[2]); }),
              FailsAt("audit.jsonl line 4 (seq 3)", "seq is 2, expected 3"));
}

TEST_F(VerifyTest, AGarbageLineIsNamed) {
  EXPECT_THAT(Tampered(6, [](auto& lines) { lines.push_back("all is well"); }),
              FailsAt("audit.jsonl line 7 (seq 6)", "not JSON"));
  EXPECT_THAT(Tampered(6, [](auto& lines) { lines.insert(lines.begin() + 1, ""); }),
              FailsAt("audit.jsonl line 2 (seq 1)", "not JSON"));
}

// A first entry whose own hash is right but whose prev is not the genesis hash: the log's
// beginning was cut along with the seq numbers rewritten.
TEST_F(VerifyTest, AFirstPrevOtherThanGenesisIsNamed) {
  EXPECT_THAT(
      Tampered(3,
               [](auto& lines) {
                 Json entry = Json::parse(lines[0]);
                 entry.erase("hash");
                 entry["prev"] = std::string(64, '1');
                 lines[0] = Sealed(entry);
               }),
      FailsAt("audit.jsonl line 1 (seq 0)", "prev of the first entry is not the genesis hash"));
}

TEST_F(VerifyTest, ATornLastLineIsNamedWithWhereToCut) {
  const auto path = WriteLog(6);
  const std::string text = Slurp(path);
  const size_t last_start = text.rfind('\n', text.size() - 2) + 1;
  Put(path, text.substr(0, text.size() - 10));
  EXPECT_THAT(
      VerifyAuditLog(path),
      FailsAt("audit.jsonl line 6 (seq 5)",
              "the last line is incomplete: its " + std::to_string(text.size() - 10 - last_start) +
                  " bytes from byte " + std::to_string(last_start) + " have no final newline"));
  Put(path, text.substr(0, text.size() - 1));  // only the '\n' missing
  EXPECT_THAT(VerifyAuditLog(path),
              FailsAt("audit.jsonl line 6 (seq 5)", "the last line is incomplete"));
}

// The documented limit: a log cut after a whole entry is a valid, shorter log. A head or count
// kept elsewhere catches it.
TEST_F(VerifyTest, ALogCutAtALineBoundaryNeedsAnExpectationToBeCaught) {
  const auto path = WriteLog(6);
  const auto lines = Lines(path);
  const std::string head = HashOf(lines[5]);
  PutLines(path, {lines.begin(), lines.begin() + 4});

  auto verified = VerifyAuditLog(path);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->entries, 4u);

  auto by_head = VerifyAuditLog(path, head);
  EXPECT_EQ(by_head.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(
      by_head.status().message(),
      AllOf(HasSubstr("no entry has the expected hash " + head), HasSubstr("cut from its end"),
            HasSubstr("(it holds 4 entries, head " + HashOf(lines[3]) + ")")));
  auto by_count = VerifyAuditLog(path, std::nullopt, 6);
  EXPECT_EQ(by_count.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(by_count.status().message(), AllOf(HasSubstr("fewer entries than the 6 expected"),
                                                 HasSubstr("(it holds 4 entries")));
}

// A head recorded earlier (a model card's) still verifies once the log has grown past it.
TEST_F(VerifyTest, AnEarlierHeadIsFoundInAGrownLog) {
  const auto path = WriteLog(3);
  const std::string earlier = HashOf(Lines(path)[2]);
  WriteLog(8);
  std::string upper = earlier;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& head : {earlier, upper}) {
    auto verified = VerifyAuditLog(path, head, 3);
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(verified->entries, 8u);
  }
  EXPECT_EQ(VerifyAuditLog(path, "abc").status().code(), StatusCode::kInvalidArgument);
}

// Each line is checked for its shape before its hash: the error says what is wrong with it.
TEST_F(VerifyTest, MalformedEntriesAreNamed) {
  struct Case {
    const char* what;
    std::function<void(std::string&)> edit;
    const char* why;
  };
  auto json_edit = [](const std::function<void(Json&)>& change) {
    return [change](std::string& line) {
      Json entry = Json::parse(line);
      change(entry);
      line = entry.dump();
    };
  };
  const Case cases[] = {
      {"missing key", json_edit([](Json& e) { e.erase("time"); }),
       "has the keys \"seq\", \"event\", \"prev\", \"data\", \"hash\"; an entry has seq, time, "
       "event, prev, data, hash, in this order"},
      {"extra key", json_edit([](Json& e) { e["signed_by"] = "me"; }), "has the keys"},
      {"keys out of order", json_edit([](Json& e) {
         Json swapped = {{"time", e["time"]}, {"seq", e["seq"]}};
         for (const char* key : {"event", "prev", "data", "hash"}) swapped[key] = e[key];
         e = swapped;
       }),
       "has the keys \"time\", \"seq\""},
      {"not an object", [](std::string& line) { line = "[" + line + "]"; }, "not a JSON object"},
      {"seq as text", json_edit([](Json& e) { e["seq"] = "1"; }), "seq is not a whole number"},
      {"negative seq", json_edit([](Json& e) { e["seq"] = -1; }), "seq is not a whole number"},
      {"time shape", json_edit([](Json& e) { e["time"] = "2026-12-05 13:01:03"; }),
       "time is not a UTC time"},
      {"event shape", json_edit([](Json& e) { e["event"] = "Round"; }), "event is not 1 to 64"},
      {"upper-case prev", json_edit([](Json& e) {
         std::string prev = e["prev"];
         for (char& c : prev) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
         e["prev"] = prev;
       }),
       "prev is not 64 lower-case hex digits"},
      {"short hash", json_edit([](Json& e) { e["hash"] = "abcd"; }),
       "hash is not 64 lower-case hex digits"},
      {"data not an object", json_edit([](Json& e) { e["data"] = Json::array(); }),
       "data is not a JSON object"},
      {"spacing", [](std::string& line) { Replace(line, "\"seq\":1,", "\"seq\": 1,"); },
       "not written the way the log writes entries"},
      {"carriage return", [](std::string& line) { line += "\r"; },
       "not written the way the log writes entries"},
      {"escaped character", [](std::string& line) { Replace(line, "\"r-1\"", "\"\\u0072-1\""); },
       "not written the way the log writes entries"},
      {"deep nesting", [](std::string& line) { line = std::string(40, '[') + line; },
       "nests deeper than 32 levels"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_THAT(Tampered(3, [&](auto& lines) { c.edit(lines[1]); }),
                FailsAt("audit.jsonl line 2 (seq 1)", c.why));
  }
}

// Serves endless bytes of one line and counts them: a verifier that read the line whole would
// never return.
class EndlessLine : public std::streambuf {
 public:
  size_t served = 0;

 protected:
  int_type underflow() override {
    chunk_.assign(4096, 'x');
    setg(chunk_.data(), chunk_.data(), chunk_.data() + chunk_.size());
    served += chunk_.size();
    return traits_type::to_int_type('x');
  }

 private:
  std::string chunk_;
};

TEST_F(VerifyTest, AnOverlongLineIsRefusedWithoutReadingItAll) {
  EndlessLine endless;
  std::istream in(&endless);
  EXPECT_THAT(VerifyAuditLog(in, "endless.jsonl"),
              FailsAt("endless.jsonl line 1 (seq 0)", "longer than the 1048576 bytes"));
  EXPECT_LE(endless.served, kMaxLineBytes + 2 * (size_t{1} << 16));

  const auto path = WriteLog(2);
  Put(path, Slurp(path) + std::string(3 * kMaxLineBytes, '[') + "\n");
  EXPECT_THAT(VerifyAuditLog(path),
              FailsAt("audit.jsonl line 3 (seq 2)", "longer than the 1048576 bytes"));
}

// Nesting is refused before parsing: serialising 500,000 nested arrays would overflow the stack.
TEST_F(VerifyTest, DeepNestingWithinTheCapIsRefusedWithoutRecursion) {
  std::istringstream in(std::string(kMaxLineBytes / 2, '[') + std::string(kMaxLineBytes / 2, ']') +
                        "\n");
  EXPECT_THAT(VerifyAuditLog(in, "deep.jsonl"),
              FailsAt("deep.jsonl line 1 (seq 0)", "nests deeper than 32 levels"));
}

TEST_F(VerifyTest, AMissingFileIsNotFoundAndNamed) {
  auto verified = VerifyAuditLog(dir_ / "nowhere.jsonl");
  EXPECT_EQ(verified.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(verified.status().message(), HasSubstr("nowhere.jsonl: No such file"));
}

}  // namespace
}  // namespace cartable::audit::testing
