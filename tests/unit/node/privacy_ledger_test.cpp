// The node's privacy ledger: what each DP-SGD run cost its pupils, per school year, kept across
// restarts and crashes without ever counting less than was spent.

#include "node/privacy_ledger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/files.h"

namespace cartable::node {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr int64_t kOctober2026 = 1791590400000;    // 2026-10-10 00:00 UTC
constexpr int64_t kJuly2027 = 1814140800000;       // 2027-06-28 00:00 UTC
constexpr int64_t kSeptember2027 = 1820016000000;  // 2027-09-04 00:00 UTC

class PrivacyLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cartable_ledger_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    path_ = dir_ / "state" / "privacy-ledger.jsonl";
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  std::unique_ptr<PrivacyLedger> Open() {
    auto ledger = PrivacyLedger::Open(path_, [this] { return now_; });
    EXPECT_TRUE(ledger.ok()) << ledger.status();
    return ledger.ok() ? std::move(ledger).value() : nullptr;
  }

  fs::path dir_;
  fs::path path_;
  int64_t now_ = kOctober2026;
};

TEST(SchoolYearTest, StartsOnTheFirstOfSeptember) {
  EXPECT_EQ(SchoolYearOf(kOctober2026), "2026-2027");
  EXPECT_EQ(SchoolYearOf(kJuly2027), "2026-2027");
  EXPECT_EQ(SchoolYearOf(kSeptember2027), "2027-2028");
  EXPECT_EQ(SchoolYearOf(1788220800000), "2026-2027") << "2026-09-01 00:00 UTC";
  EXPECT_EQ(SchoolYearOf(1788220799000), "2025-2026") << "2026-08-31 23:59:59 UTC";
}

TEST_F(PrivacyLedgerTest, KeepsEachRunsSpendPerSchoolYearAcrossReopening) {
  {
    auto ledger = Open();
    ASSERT_NE(ledger, nullptr);
    EXPECT_EQ(ledger->SpentIn("2026-2027"), 0);
    ASSERT_TRUE(ledger->Record(7, "aa", 3, 1.5, 1e-5).ok());
    now_ = kJuly2027;
    ASSERT_TRUE(ledger->Record(8, "bb", 2, 2.25, 1e-5).ok());
    now_ = kSeptember2027;
    auto entry = ledger->Record(9, "cc", 1, 0.5, 1e-6);
    ASSERT_TRUE(entry.ok());
    EXPECT_EQ(entry->school_year, "2027-2028");
    EXPECT_EQ(entry->unix_ms, kSeptember2027);
  }
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  ASSERT_EQ(ledger->entries().size(), 3U);
  EXPECT_EQ(ledger->SpentIn("2026-2027"), 3.75);
  EXPECT_EQ(ledger->SpentIn("2027-2028"), 0.5);
  EXPECT_EQ(ledger->CurrentSchoolYear(), "2027-2028");
  EXPECT_EQ(ledger->Charged(8, "bb").trainings, 2U);
  EXPECT_EQ(ledger->Charged(8, "bb").epsilon, 2.25);
  EXPECT_EQ(ledger->Charged(8, "cc").trainings, 0U)
      << "the same run with another plan is another charge";
  EXPECT_EQ(ledger->Charged(10, "bb").trainings, 0U);
  // A run asked to train more often than planned is charged the difference, in the year it is.
  ASSERT_TRUE(ledger->Record(8, "bb", 4, 0.75, 1e-5).ok());
  EXPECT_EQ(ledger->Charged(8, "bb").trainings, 4U);
  EXPECT_EQ(ledger->Charged(8, "bb").epsilon, 3.0);
  EXPECT_EQ(ledger->SpentIn("2026-2027"), 3.75);
  EXPECT_EQ(ledger->SpentIn("2027-2028"), 1.25);
}

// A pupil's ε and the establishment's are budgets apart; entries written before the unit existed
// are per pupil, and a unit the node does not know is never guessed at.
TEST_F(PrivacyLedgerTest, KeepsThePupilsAndTheEstablishmentsBudgetsApart) {
  {
    auto ledger = Open();
    ASSERT_TRUE(ledger->Record(1, "aa", 3, 1.5, 1e-5).ok());
    ASSERT_TRUE(ledger->Record(1, "aa", 3, 4.0, 1e-5, PrivacyUnit::kEstablishment).ok());
    ASSERT_TRUE(ledger->Record(2, "bb", 2, 2.5, 1e-5, PrivacyUnit::kEstablishment).ok());
  }
  auto ledger = Open();
  EXPECT_DOUBLE_EQ(ledger->SpentIn("2026-2027"), 1.5);
  EXPECT_DOUBLE_EQ(ledger->SpentIn("2026-2027", PrivacyUnit::kEstablishment), 6.5);
  EXPECT_DOUBLE_EQ(ledger->Charged(1, "aa").epsilon, 1.5);
  EXPECT_DOUBLE_EQ(ledger->Charged(1, "aa", PrivacyUnit::kEstablishment).epsilon, 4.0);
  EXPECT_EQ(ledger->Charged(2, "bb").trainings, 0u);
  EXPECT_THAT(ReadFile(path_).value(), HasSubstr("\"unit\":\"establishment\""));
  ledger.reset();

  fs::remove(path_);
  ASSERT_TRUE(WriteFileAtomically(path_,
                                  R"({"run_id":3,"plan_hash":"cc","trainings":1,"epsilon":0.5,)"
                                  R"("delta":1e-05,"school_year":"2026-2027","unix_ms":1})"
                                  "\n")
                  .ok());
  ledger = Open();
  ASSERT_EQ(ledger->entries().size(), 1u);
  EXPECT_EQ(ledger->entries()[0].unit, PrivacyUnit::kPupil) << "an entry without a unit";
  ledger.reset();
  ASSERT_TRUE(WriteFileAtomically(path_,
                                  R"({"run_id":3,"plan_hash":"cc","unit":"class","trainings":1,)"
                                  R"("epsilon":0.5,"delta":1e-05,"school_year":"2026-2027",)"
                                  R"("unix_ms":1})"
                                  "\n")
                  .ok());
  const auto refused = PrivacyLedger::Open(path_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(refused.status().message(), HasSubstr("unknown unit of privacy 'class'"));
}

TEST_F(PrivacyLedgerTest, ASecondProcessOnTheSameLedgerIsRefused) {
  auto first = Open();
  ASSERT_NE(first, nullptr);
  auto second = PrivacyLedger::Open(path_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("open in another process"));
}

TEST_F(PrivacyLedgerTest, AnEntryCutShortByACrashIsCutOffAndTheRestKept) {
  {
    auto ledger = Open();
    ASSERT_TRUE(ledger->Record(7, "aa", 3, 1.5, 1e-5).ok());
  }
  {
    std::ofstream out(path_, std::ios::app);
    out << R"({"run_id":8,"plan_hash":"bb","eps)";
  }
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  ASSERT_EQ(ledger->entries().size(), 1U);
  EXPECT_EQ(ledger->SpentIn("2026-2027"), 1.5);
  ASSERT_TRUE(ledger->Record(8, "bb", 2, 2, 1e-5).ok());
  ledger.reset();
  ledger = Open();
  EXPECT_EQ(ledger->entries().size(), 2U) << "the cut-off leaves a ledger that appends cleanly";
}

TEST_F(PrivacyLedgerTest, ALedgerThatDoesNotParseIsNeverGuessedAt) {
  for (const std::string& text :
       {std::string("garbage\n"), std::string(R"({"run_id":1,"plan_hash":"a"})") + "\n",
        std::string(R"({"run_id":1,"plan_hash":"a","epsilon":-1,"delta":0,)") +
            R"("school_year":"2026-2027","unix_ms":0})" + "\n"}) {
    fs::create_directories(path_.parent_path());
    ASSERT_TRUE(WriteFileAtomically(path_, text).ok());
    auto ledger = PrivacyLedger::Open(path_);
    ASSERT_FALSE(ledger.ok()) << text;
    EXPECT_EQ(ledger.status().code(), StatusCode::kDataLoss);
    EXPECT_THAT(ledger.status().message(), HasSubstr(path_.string() + ":1"));
    EXPECT_THAT(ledger.status().message(), HasSubstr("will not guess"));
  }
}

TEST_F(PrivacyLedgerTest, RefusesAPathThatIsNotAFileAndAnEpsilonThatIsNotANumber) {
  fs::create_directories(path_);
  EXPECT_FALSE(PrivacyLedger::Open(path_).ok());
  fs::remove(path_);
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  EXPECT_FALSE(ledger->Record(1, "aa", 1, std::numeric_limits<double>::infinity(), 1e-5).ok());
  EXPECT_FALSE(ledger->Record(1, "aa", 1, 1, std::numeric_limits<double>::quiet_NaN()).ok());
  EXPECT_FALSE(ledger->Record(1, "aa", 0, 1, 1e-5).ok()) << "no training covered";
  EXPECT_TRUE(ledger->entries().empty());
}

// A process killed with SIGKILL while it records run after run: every entry it was told was
// recorded is there on reopening (the ledger never under-counts), and the file still opens.
TEST_F(PrivacyLedgerTest, SurvivesAKillInTheMiddleOfWritingAndNeverUnderCounts) {
  for (int trial = 0; trial < 5; ++trial) {
    fs::remove_all(dir_);
    int acknowledged[2];
    ASSERT_EQ(::pipe(acknowledged), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(acknowledged[0]);
      auto ledger = PrivacyLedger::Open(path_);
      if (!ledger.ok()) ::_exit(2);
      for (uint64_t run = 1;; ++run) {
        if (!(*ledger)->Record(run, std::string(64, 'a'), 1, 0.25, 1e-5).ok()) ::_exit(3);
        const char one = 1;
        if (::write(acknowledged[1], &one, 1) != 1) ::_exit(4);
      }
    }
    ::close(acknowledged[1]);
    char buffer[4096];
    size_t recorded = 0;
    while (recorded < 20U + 10U * static_cast<size_t>(trial)) {
      const ssize_t n = ::read(acknowledged[0], buffer, sizeof buffer);
      ASSERT_GT(n, 0) << "the writer stopped";
      recorded += static_cast<size_t>(n);
    }
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status));
    for (ssize_t n; (n = ::read(acknowledged[0], buffer, sizeof buffer)) > 0;)
      recorded += static_cast<size_t>(n);
    ::close(acknowledged[0]);

    auto ledger = PrivacyLedger::Open(path_);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    EXPECT_GE((*ledger)->entries().size(), recorded) << "trial " << trial;
    for (size_t i = 0; i < (*ledger)->entries().size(); ++i)
      EXPECT_EQ((*ledger)->entries()[i].run_id, i + 1);
  }
}

}  // namespace
}  // namespace cartable::node
