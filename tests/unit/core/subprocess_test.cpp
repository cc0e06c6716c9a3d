#include "core/subprocess.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using ::cartable::ChildProcess;
using ::cartable::StatusCode;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

namespace {

// Generous: only reached if something is badly wrong, never a measured duration.
constexpr std::chrono::milliseconds kPatience(30000);

std::unique_ptr<ChildProcess> SpawnOrDie(const std::vector<std::string>& argv,
                                         const std::optional<fs::path>& log_file = std::nullopt) {
  auto child = ChildProcess::Spawn(argv, log_file);
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return nullptr;
  return std::move(child).value();
}

bool ProcessExists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

class SubprocessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("cartable_subprocess_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(fs::create_directories(dir_));
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  static std::string Slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  fs::path dir_;
};

TEST_F(SubprocessTest, ReportsExitCode) {
  auto child = SpawnOrDie({"/bin/sh", "-c", "exit 3"});
  ASSERT_NE(child, nullptr);
  EXPECT_GT(child->pid(), 0);
  std::optional<int> code = child->WaitFor(kPatience);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 3);
  EXPECT_EQ(child->Poll(), std::optional<int>(3));  // remembered once reaped
  EXPECT_EQ(child->Terminate(), 3);                 // nothing left to terminate
}

TEST_F(SubprocessTest, ReportsSuccess) {
  auto child = SpawnOrDie({"/bin/sh", "-c", "exit 0"});
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->WaitFor(kPatience), std::optional<int>(0));
}

TEST_F(SubprocessTest, TerminateStopsARunningChild) {
  auto child = SpawnOrDie({"/bin/sleep", "30"});
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->Poll(), std::nullopt);  // sleeping, not ended
  const pid_t pid = child->pid();
  EXPECT_EQ(child->Terminate(), 128 + SIGTERM);
  EXPECT_EQ(child->Poll(), std::optional<int>(128 + SIGTERM));
  EXPECT_FALSE(ProcessExists(pid));  // reaped, not a zombie
}

TEST_F(SubprocessTest, WaitForGivesUpOnARunningChild) {
  auto child = SpawnOrDie({"/bin/sleep", "30"});
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->WaitFor(std::chrono::milliseconds(20)), std::nullopt);
  EXPECT_EQ(child->Terminate(), 128 + SIGTERM);
}

TEST_F(SubprocessTest, SignalDeliversTheSignal) {
  auto child = SpawnOrDie({"/bin/sleep", "30"});
  ASSERT_NE(child, nullptr);
  child->Signal(SIGKILL);
  EXPECT_EQ(child->WaitFor(kPatience), std::optional<int>(128 + SIGKILL));
  child->Signal(SIGTERM);  // ended already: a no-op
  EXPECT_EQ(child->Poll(), std::optional<int>(128 + SIGKILL));
}

TEST_F(SubprocessTest, TerminateEscalatesToSigkill) {
  // An ignored signal stays ignored across exec, so this sleep ignores SIGTERM and only the SIGKILL
  // after the grace period ends it.
  const fs::path ready = dir_ / "ready";
  auto child = SpawnOrDie(
      {"/bin/sh", "-c", "trap '' TERM; : > '" + ready.string() + "'; exec /bin/sleep 30"});
  ASSERT_NE(child, nullptr);
  // Wait until the trap is installed, else SIGTERM could arrive first and end the shell.
  for (int i = 0; i < 3000 && !fs::exists(ready); ++i) {
    ASSERT_EQ(child->Poll(), std::nullopt);
    ::usleep(10000);
  }
  ASSERT_TRUE(fs::exists(ready));
  EXPECT_EQ(child->Terminate(std::chrono::milliseconds(100)), 128 + SIGKILL);
}

TEST_F(SubprocessTest, DestructorReapsARunningChild) {
  auto child = SpawnOrDie({"/bin/sleep", "30"});
  ASSERT_NE(child, nullptr);
  const pid_t pid = child->pid();
  ASSERT_EQ(::kill(pid, 0), 0);
  child.reset();
  errno = 0;
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST_F(SubprocessTest, LogFileReceivesStdoutAndStderr) {
  const fs::path log = dir_ / "node.log";
  auto child = SpawnOrDie({"/bin/sh", "-c", "echo hello from the child; echo complaint >&2"}, log);
  ASSERT_NE(child, nullptr);
  ASSERT_EQ(child->WaitFor(kPatience), std::optional<int>(0));
  const std::string contents = Slurp(log);
  EXPECT_THAT(contents, HasSubstr("hello from the child\n"));
  EXPECT_THAT(contents, HasSubstr("complaint\n"));
}

TEST_F(SubprocessTest, LogFileIsAppendedTo) {
  const fs::path log = dir_ / "node.log";
  { std::ofstream(log) << "earlier run\n"; }
  auto child = SpawnOrDie({"/bin/echo", "later run"}, log);
  ASSERT_NE(child, nullptr);
  ASSERT_EQ(child->WaitFor(kPatience), std::optional<int>(0));
  EXPECT_EQ(Slurp(log), "earlier run\nlater run\n");
}

TEST_F(SubprocessTest, NonexistentProgramExitsWith127) {
  auto child = SpawnOrDie({(dir_ / "no-such-program").string(), "--flag"});
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->WaitFor(kPatience), std::optional<int>(127));
}

TEST_F(SubprocessTest, EmptyArgvIsRefused) {
  auto child = ChildProcess::Spawn({}, std::nullopt);
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SubprocessTest, UnopenableLogFileIsRefusedWithItsName) {
  const fs::path log = dir_ / "missing-dir" / "node.log";
  auto child = ChildProcess::Spawn({"/bin/sh", "-c", "exit 0"}, log);
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(child.status().message(), HasSubstr(log.string()));
}

TEST(CurrentExecutableTest, NamesThisTestBinary) {
  auto path = cartable::CurrentExecutable();
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_TRUE(path->is_absolute());
  EXPECT_TRUE(fs::exists(*path));
  EXPECT_EQ(path->filename(), "cartable_core_test");
}

TEST(ShutdownHandlerDeathTest, FirstSignalSetsFlagSecondExits) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        cartable::InstallShutdownHandler();
        if (cartable::ShutdownRequested()) _exit(1);
        ::raise(SIGTERM);
        if (!cartable::ShutdownRequested()) _exit(2);
        ::raise(SIGINT);
        _exit(3);
      },
      ::testing::ExitedWithCode(130), "");
}

}  // namespace
