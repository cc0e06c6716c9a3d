// The open-file limit: raised to the hard limit, which a process may always do, and read back; and
// a child process started under a given limit really has it.

#include "core/open_file_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/subprocess.h"

namespace cartable {
namespace {

TEST(OpenFileLimitTest, RaisingSetsTheSoftLimitToTheHardOne) {
  auto before = CurrentOpenFileLimit();
  ASSERT_TRUE(before.ok()) << before.status();
  // Start from a soft limit below the hard one, as most processes do (lowering it needs no
  // privilege).
  struct rlimit lowered {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lowered), 0);
  lowered.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  ASSERT_EQ(CurrentOpenFileLimit()->soft, 64u);

  auto raised = RaiseOpenFileLimit();
  ASSERT_TRUE(raised.ok()) << raised.status();
  EXPECT_EQ(raised->soft, raised->hard);
  EXPECT_EQ(raised->hard, before->hard);
  EXPECT_EQ(CurrentOpenFileLimit()->soft, raised->soft);
  EXPECT_GT(raised->soft, 64u);
}

TEST(OpenFileLimitTest, AChildStartsUnderTheLimitItWasGiven) {
  const auto log = std::filesystem::temp_directory_path() /
                   ("cartable-limit-" + std::to_string(::getpid()) + ".log");
  std::filesystem::remove(log);
  auto child =
      ChildProcess::Spawn({"/bin/sh", "-c", "ulimit -n; ulimit -H -n"}, log, {.open_files = 256});
  ASSERT_TRUE(child.ok()) << child.status();
  auto code = (*child)->WaitFor(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "256\n256\n");
  std::filesystem::remove(log);
}

}  // namespace
}  // namespace cartable
