#include "core/files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using ::cartable::EnsureDirectory;
using ::cartable::ReadFile;
using ::cartable::Status;
using ::cartable::StatusCode;
using ::cartable::WriteFileAtomically;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed afterwards. The umask is pinned so that file modes are
// predictable.
class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("cartable_files_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(fs::create_directories(dir_));
    old_umask_ = ::umask(022);
  }
  void TearDown() override {
    ::umask(old_umask_);
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  static unsigned ModeOf(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename());
    return names;
  }
  static std::string Slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  fs::path dir_;
  mode_t old_umask_ = 0;
};

TEST_F(FilesTest, WritesContentWithDefaultMode) {
  const fs::path path = dir_ / "report.json";
  ASSERT_TRUE(WriteFileAtomically(path, "{\"auc\": 0.71}\n").ok());
  EXPECT_EQ(Slurp(path), "{\"auc\": 0.71}\n");
  EXPECT_EQ(ModeOf(path), 0644u);
}

TEST_F(FilesTest, WritesRequestedMode) {
  const fs::path path = dir_ / "node.key";
  Status status = WriteFileAtomically(path, "secret", 0600);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Slurp(path), "secret");
  EXPECT_EQ(ModeOf(path), 0600u);
}

TEST_F(FilesTest, WritesBinaryAndEmptyContents) {
  const std::string binary("a\0b\xff\n\0", 6);
  const fs::path binary_path = dir_ / "binary";
  ASSERT_TRUE(WriteFileAtomically(binary_path, binary).ok());
  EXPECT_EQ(Slurp(binary_path), binary);
  EXPECT_EQ(fs::file_size(binary_path), 6u);

  const fs::path empty_path = dir_ / "empty";
  ASSERT_TRUE(WriteFileAtomically(empty_path, "").ok());
  EXPECT_TRUE(fs::exists(empty_path));
  EXPECT_EQ(fs::file_size(empty_path), 0u);
}

TEST_F(FilesTest, ReplacesExistingFile) {
  const fs::path path = dir_ / "state.txt";
  ASSERT_TRUE(WriteFileAtomically(path, "the old contents, which are rather long\n", 0644).ok());
  ASSERT_TRUE(WriteFileAtomically(path, "new\n", 0600).ok());
  EXPECT_EQ(Slurp(path), "new\n");  // not "new\n" followed by the rest of the old file
  EXPECT_EQ(ModeOf(path), 0600u);
}

TEST_F(FilesTest, ReplacesFileWrittenByOthers) {
  const fs::path path = dir_ / "config.toml";
  { std::ofstream(path) << "rounds = 3\nnodes = 5\n"; }
  ASSERT_TRUE(WriteFileAtomically(path, "rounds = 4\n").ok());
  EXPECT_EQ(Slurp(path), "rounds = 4\n");
}

TEST_F(FilesTest, LeavesNoTemporaryFile) {
  ASSERT_TRUE(WriteFileAtomically(dir_ / "a.txt", "first").ok());
  ASSERT_TRUE(WriteFileAtomically(dir_ / "a.txt", "second").ok());
  ASSERT_TRUE(WriteFileAtomically(dir_ / "b.txt", "third", 0600).ok());
  std::vector<std::string> entries = Entries();
  EXPECT_THAT(entries, ::testing::UnorderedElementsAre("a.txt", "b.txt"));
}

TEST_F(FilesTest, FailsClearlyInMissingDirectory) {
  const fs::path missing_dir = dir_ / "no-such-dir";
  Status status = WriteFileAtomically(missing_dir / "out.json", "{}");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr(missing_dir.string()));
  EXPECT_THAT(status.message(), HasSubstr("No such file or directory"));
  EXPECT_FALSE(fs::exists(missing_dir));
  EXPECT_TRUE(Entries().empty());
}

TEST_F(FilesTest, FailsWhenTargetIsADirectoryAndCleansUp) {
  const fs::path target = dir_ / "taken";
  ASSERT_TRUE(fs::create_directory(target));
  Status status = WriteFileAtomically(target, "data");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(target.string()));
  EXPECT_TRUE(fs::is_directory(target));
  EXPECT_THAT(Entries(), ::testing::ElementsAre("taken"));  // the temporary file is gone
}

TEST_F(FilesTest, ReadFileReturnsWhatWasWritten) {
  const fs::path path = dir_ / "cohort.csv";
  std::string contents = "pupil,skill,correct\n";
  for (int i = 0; i < 10000; ++i) contents += std::to_string(i) + ",3,1\n";
  ASSERT_TRUE(WriteFileAtomically(path, contents).ok());
  auto read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, contents);
}

TEST_F(FilesTest, ReadFileOfEmptyFileIsEmpty) {
  const fs::path path = dir_ / "empty";
  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  auto read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "");
}

TEST_F(FilesTest, ReadFileOfMissingFileIsNotFound) {
  const fs::path path = dir_ / "missing.csv";
  auto read = ReadFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(read.status().message(), HasSubstr(path.string()));
}

TEST_F(FilesTest, EnsureDirectoryCreatesParentsAndIsIdempotent) {
  const fs::path nested = dir_ / "a" / "b" / "c";
  ASSERT_TRUE(EnsureDirectory(nested).ok());
  EXPECT_TRUE(fs::is_directory(nested));
  EXPECT_TRUE(EnsureDirectory(nested).ok());
  EXPECT_TRUE(EnsureDirectory(dir_).ok());
}

TEST_F(FilesTest, EnsureDirectoryErrorNamesTheDirectory) {
  const fs::path file = dir_ / "plain-file";
  ASSERT_TRUE(WriteFileAtomically(file, "x").ok());
  const fs::path below_file = file / "sub";
  Status status = EnsureDirectory(below_file);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr(below_file.string()));
}

}  // namespace
