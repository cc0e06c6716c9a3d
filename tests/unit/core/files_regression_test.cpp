// Regression tests for core/files.cpp: ReadFile once returned an empty OK for a directory, and
// WriteFileAtomically once kept the mode of a stale temporary file (a secret key could end up
// 0644).

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/files.h"

namespace fs = std::filesystem;

namespace {

class FilesRegressionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("cartable_files_bug_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(fs::create_directories(dir_));
    old_umask_ = ::umask(022);
  }
  void TearDown() override {
    ::umask(old_umask_);
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  fs::path dir_;
  mode_t old_umask_ = 0;
};

// Bug: ReadFile of a directory returns OK with empty contents. std::ifstream opens a directory fine
// on Linux; the read error (EISDIR) is swallowed by `contents << in.rdbuf()`, which only sets
// failbit on `contents`, and `in.bad()` stays false. A user passing a directory where a file is
// expected gets a silently empty file. Fix (core/files.cpp, ReadFile): read with ::open/::read in a
// loop and return ErrnoError on a negative read (EISDIR), or refuse non-regular files up front with
// std::filesystem::is_regular_file.
TEST_F(FilesRegressionTest, ReadFileOfDirectoryIsAnError) {
  auto read = cartable::ReadFile(dir_);
  EXPECT_FALSE(read.ok()) << "ReadFile(directory) returned OK with " << read->size() << " bytes";
}

// Bug: the temporary file is opened with O_CREAT|O_TRUNC but without O_EXCL, and `mode` only
// applies when open() creates the file. If a stale "PATH.tmp.PID" is left over (a crash mid-write,
// then a later process with the same pid — common in containers, where pids repeat), the new file
// keeps the stale file's mode: a secret key asked for 0600 ends up 0644. Fix (core/files.cpp,
// WriteFileAtomically): ::unlink(tmp) before opening and add O_EXCL (which also refuses a planted
// symlink), and/or ::fchmod(fd, mode) after open.
TEST_F(FilesRegressionTest, WriteFileAtomicallyAppliesModeDespiteStaleTemporaryFile) {
  const fs::path path = dir_ / "node.key";
  const fs::path stale = path.string() + ".tmp." + std::to_string(::getpid());
  { std::ofstream(stale) << "left over by a crashed writer"; }
  ASSERT_EQ(::chmod(stale.c_str(), 0644), 0);

  ASSERT_TRUE(cartable::WriteFileAtomically(path, "secret", 0600).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "mode is 0" << std::oct << (st.st_mode & 0777);
}

}  // namespace
