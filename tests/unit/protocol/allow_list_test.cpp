// The allow-list read from a directory that may hold keygen's whole output: NAME.pub CURVE keys,
// each with the identity key of NAME.sign.pub beside it; bad files refused at start-up and skipped
// on a reload, and never a reason to keep a revoked key.

#include "protocol/allow_list.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "protocol/curve_keys.h"
#include "protocol/key_files.h"

namespace cartable::protocol {
namespace {

class AllowListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cartable-allow-list-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // keygen's output for `name` in the directory; returns the CURVE public key.
  std::string Keygen(const std::string& name, uint8_t identity_seed) {
    auto pair = GenerateCurveKeyPair().value();
    EXPECT_TRUE(WriteKeySet(dir_, name, pair, Identity(identity_seed)).ok());
    return pair.public_key;
  }
  static PublicKeyBytes Identity(uint8_t seed) {
    PublicKeyBytes key{};
    key.fill(seed);
    return key;
  }

  std::filesystem::path dir_;
};

// Regression: every *.pub was read as a CURVE key, so keygen's NAME.sign.pub made --allow refuse to
// start.
TEST_F(AllowListTest, KeygensWholeOutputIsAnAllowListWithIdentityKeys) {
  const std::string a = Keygen("lycee-a", 1);
  const std::string b = Keygen("college-b", 2);
  auto list = LoadAllowList(dir_, BadKeyFiles::kFail);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->clients.size(), 2u);
  EXPECT_EQ(list->clients.at(a).name, "lycee-a");
  EXPECT_EQ(list->clients.at(a).identity_key, Identity(1));
  EXPECT_EQ(list->clients.at(b).name, "college-b");
  EXPECT_EQ(list->clients.at(b).identity_key, Identity(2));
  EXPECT_TRUE(list->skipped.empty());
  EXPECT_EQ(list->secret_key_files, (std::vector<std::string>{"college-b.key", "lycee-a.key"}));
}

TEST_F(AllowListTest, WithoutItsSignPubAClientHasNoIdentityKey) {
  const std::string a = Keygen("lycee-a", 1);
  std::filesystem::remove(dir_ / "lycee-a.sign.pub");
  std::filesystem::remove(dir_ / "lycee-a.key");
  std::ofstream(dir_ / "orphan.sign.pub") << IdentityKeyHex(Identity(7)) << "\n";  // admits no one
  auto list = LoadAllowList(dir_, BadKeyFiles::kFail);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->clients.size(), 1u);
  EXPECT_EQ(list->clients.at(a).name, "lycee-a");
  EXPECT_FALSE(list->clients.at(a).identity_key.has_value());
  EXPECT_TRUE(list->secret_key_files.empty());
}

TEST_F(AllowListTest, ABadCurveKeyFailsAtStartUpAndIsSkippedOnReload) {
  const std::string a = Keygen("lycee-a", 1);
  std::ofstream(dir_ / "broken.pub") << "# a comment\nnot-a-key\n";
  Status refused = LoadAllowList(dir_, BadKeyFiles::kFail).status();
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("broken.pub"), std::string::npos) << refused;

  auto reloaded = LoadAllowList(dir_, BadKeyFiles::kSkip);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  ASSERT_EQ(reloaded->clients.size(), 1u);
  EXPECT_EQ(reloaded->clients.count(a), 1u);
  ASSERT_EQ(reloaded->skipped.size(), 1u);
  EXPECT_NE(reloaded->skipped[0].message().find("broken.pub"), std::string::npos)
      << reloaded->skipped[0];
}

// Admitting a NAME without its identity key would switch off the check that key is there for.
TEST_F(AllowListTest, ABadIdentityKeyLeavesItsNameOutOnReload) {
  const std::string a = Keygen("lycee-a", 1);
  const std::string b = Keygen("college-b", 2);
  std::filesystem::remove(dir_ / "college-b.sign.pub");
  std::ofstream(dir_ / "college-b.sign.pub") << "0123zz\n";
  Status refused = LoadAllowList(dir_, BadKeyFiles::kFail).status();
  EXPECT_NE(refused.message().find("college-b.sign.pub"), std::string::npos) << refused;
  auto reloaded = LoadAllowList(dir_, BadKeyFiles::kSkip);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ(reloaded->clients.count(a), 1u);
  EXPECT_EQ(reloaded->clients.count(b), 0u);
  ASSERT_EQ(reloaded->skipped.size(), 1u);
  EXPECT_NE(reloaded->skipped[0].message().find("'college-b' is not admitted"), std::string::npos)
      << reloaded->skipped[0];
}

TEST_F(AllowListTest, OneKeyUnderTwoNamesIsAdmittedUnderNeither) {
  const std::string a = Keygen("lycee-a", 1);
  std::filesystem::copy_file(dir_ / "lycee-a.pub", dir_ / "lycee-b.pub");
  Status refused = LoadAllowList(dir_, BadKeyFiles::kFail).status();
  EXPECT_NE(refused.message().find("one key, one name"), std::string::npos) << refused;
  auto reloaded = LoadAllowList(dir_, BadKeyFiles::kSkip);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(reloaded->clients.empty());
  EXPECT_EQ(reloaded->skipped.size(), 1u);
}

// Skipping a file that exists but cannot be opened would empty the list when descriptors run out
// (EMFILE); a symbolic link to itself cannot be opened either (ELOOP), even by root.
TEST_F(AllowListTest, AFileThatCannotBeOpenedFailsEvenAReload) {
  Keygen("lycee-a", 1);
  std::filesystem::create_symlink("loop.pub", dir_ / "loop.pub");
  Status failed = LoadAllowList(dir_, BadKeyFiles::kSkip).status();
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable) << failed;
  EXPECT_NE(failed.message().find("loop.pub"), std::string::npos) << failed;
}

TEST_F(AllowListTest, AMissingDirectoryIsAnError) {
  EXPECT_EQ(LoadAllowList(dir_ / "missing", BadKeyFiles::kSkip).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace cartable::protocol
