// Key files told apart by their names, written so that concurrent writers cannot both succeed or
// mix their files, and read back with errors that name the file and say what it holds instead.

#include "protocol/key_files.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace cartable::protocol {
namespace {

class KeyFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cartable-key-files-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static PublicKeyBytes SomeIdentityKey(uint8_t seed) {
    PublicKeyBytes key{};
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(seed + i * 7);
    return key;
  }

  std::vector<std::string> FileNames() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::filesystem::path dir_;
};

TEST_F(KeyFilesTest, AFilesKindFollowsFromItsName) {
  EXPECT_EQ(ClassifyKeyFile("keys/lycee-a.sign.pub").kind, KeyFileKind::kIdentity);
  EXPECT_EQ(ClassifyKeyFile("keys/lycee-a.sign.pub").name, "lycee-a");
  EXPECT_EQ(ClassifyKeyFile("lycee-a.pub").kind, KeyFileKind::kCurvePublic);
  EXPECT_EQ(ClassifyKeyFile("lycee-a.pub").name, "lycee-a");
  EXPECT_EQ(ClassifyKeyFile("lycee-a.key").kind, KeyFileKind::kCurveSecret);
  EXPECT_EQ(ClassifyKeyFile("lycee.a.pub").name, "lycee.a");
  EXPECT_EQ(ClassifyKeyFile(".lycee-a.pub.Xy12Zq").kind, KeyFileKind::kOther);  // a temporary
  EXPECT_EQ(ClassifyKeyFile(".hidden.pub").kind, KeyFileKind::kOther);
  EXPECT_EQ(ClassifyKeyFile("notes.txt").kind, KeyFileKind::kOther);
  EXPECT_EQ(ClassifyKeyFile(".pub").kind, KeyFileKind::kOther);
}

TEST_F(KeyFilesTest, NamesThatWouldBeAmbiguousAreRefused) {
  EXPECT_TRUE(CheckKeyName("lycee-victor-hugo").ok());
  EXPECT_TRUE(CheckKeyName("lycée.b").ok());
  for (const std::string bad :
       {"", ".hidden", "a/b", "line\nbreak", "escape\x1b[2J", "lycee-a.sign"}) {
    EXPECT_EQ(CheckKeyName(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
  auto pair = GenerateCurveKeyPair().value();
  EXPECT_EQ(WriteKeySet(dir_, "school.sign", pair, SomeIdentityKey(1)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(FileNames().empty());
}

TEST_F(KeyFilesTest, AKeySetIsWrittenWholeAndNeverOverwritten) {
  auto pair = GenerateCurveKeyPair().value();
  ASSERT_TRUE(WriteKeySet(dir_, "lycee-a", pair, SomeIdentityKey(1)).ok());
  EXPECT_EQ(FileNames(),
            (std::vector<std::string>{"lycee-a.key", "lycee-a.pub", "lycee-a.sign.pub"}));
  EXPECT_EQ(
      std::filesystem::status(dir_ / "lycee-a.key").permissions() & std::filesystem::perms::all,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(LoadCurveKeyPair(dir_ / "lycee-a.key").value().public_key, pair.public_key);
  EXPECT_EQ(LoadCurvePublicKey(dir_ / "lycee-a.pub").value(), pair.public_key);
  EXPECT_EQ(LoadIdentityKey(dir_ / "lycee-a.sign.pub").value(), SomeIdentityKey(1));

  auto other = GenerateCurveKeyPair().value();
  Status again = WriteKeySet(dir_, "lycee-a", other, SomeIdentityKey(2));
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.message().find("lycee-a"), std::string::npos) << again;
  EXPECT_EQ(LoadCurvePublicKey(dir_ / "lycee-a.pub").value(), pair.public_key);
  EXPECT_EQ(LoadIdentityKey(dir_ / "lycee-a.sign.pub").value(), SomeIdentityKey(1));
  EXPECT_EQ(FileNames().size(), 3u);  // no temporary left behind
}

// A later name already taken (a stale file) undoes the names linked before it: never a .key alone.
TEST_F(KeyFilesTest, ATakenLaterNameLeavesNoFileOfTheSet) {
  std::ofstream(dir_ / "ecole-c.sign.pub") << "stale\n";
  Status written = WriteKeySet(dir_, "ecole-c", GenerateCurveKeyPair().value(), SomeIdentityKey(3));
  EXPECT_EQ(written.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(written.message().find("ecole-c.sign.pub"), std::string::npos) << written;
  EXPECT_EQ(FileNames(), (std::vector<std::string>{"ecole-c.sign.pub"}));
}

// Regression: keygen checked that the files were absent, then renamed over them, so two concurrent
// writers could both succeed and leave a .key that does not match its .pub.
TEST_F(KeyFilesTest, ConcurrentWritersOfOneNameLeaveOneWinnerAndMatchingFiles) {
  for (int trial = 0; trial < 20; ++trial) {
    const std::string name = "school-" + std::to_string(trial);
    std::vector<CurveKeyPair> pairs;
    for (int i = 0; i < 8; ++i) pairs.push_back(GenerateCurveKeyPair().value());
    std::vector<Status> outcomes(pairs.size(), Status::Ok());
    std::vector<std::thread> writers;
    for (size_t i = 0; i < pairs.size(); ++i) {
      writers.emplace_back([&, i] {
        outcomes[i] = WriteKeySet(dir_, name, pairs[i], SomeIdentityKey(static_cast<uint8_t>(i)));
      });
    }
    for (auto& w : writers) w.join();
    int winners = 0;
    size_t winner = 0;
    for (size_t i = 0; i < outcomes.size(); ++i) {
      if (!outcomes[i].ok()) {
        EXPECT_EQ(outcomes[i].code(), StatusCode::kAlreadyExists) << outcomes[i];
        continue;
      }
      ++winners;
      winner = i;
    }
    ASSERT_EQ(winners, 1) << "trial " << trial;
    EXPECT_EQ(LoadCurveKeyPair(dir_ / (name + ".key")).value().public_key,
              pairs[winner].public_key);
    EXPECT_EQ(LoadCurvePublicKey(dir_ / (name + ".pub")).value(), pairs[winner].public_key);
    EXPECT_EQ(LoadIdentityKey(dir_ / (name + ".sign.pub")).value(),
              SomeIdentityKey(static_cast<uint8_t>(winner)));
  }
  EXPECT_EQ(FileNames().size(), 60u);  // 20 names × 3 files, no temporary
}

TEST_F(KeyFilesTest, IdentityKeysRoundTripAndMisplacedKeysAreNamed) {
  ASSERT_TRUE(WriteIdentityKey(dir_, "lycee-a", SomeIdentityKey(9)).ok());
  EXPECT_EQ(WriteIdentityKey(dir_, "lycee-a", SomeIdentityKey(8)).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(LoadIdentityKey(dir_ / "lycee-a.sign.pub").value(), SomeIdentityKey(9));
  std::ofstream(dir_ / "commented.sign.pub") << "# identity key of commented\n"
                                             << IdentityKeyHex(SomeIdentityKey(4)) << "\r\n";
  EXPECT_EQ(LoadIdentityKey(dir_ / "commented.sign.pub").value(), SomeIdentityKey(4));

  auto pair = GenerateCurveKeyPair().value();
  std::ofstream(dir_ / "swapped.sign.pub")
      << pair.public_key << "\n";  // a CURVE key where an identity key goes
  Status curve_in_identity = LoadIdentityKey(dir_ / "swapped.sign.pub").status();
  EXPECT_EQ(curve_in_identity.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(curve_in_identity.message().find("swapped.sign.pub"), std::string::npos);
  EXPECT_NE(curve_in_identity.message().find("CURVE"), std::string::npos) << curve_in_identity;

  std::ofstream(dir_ / "swapped.pub")
      << IdentityKeyHex(SomeIdentityKey(5)) << "\n";  // and the other way
  Status identity_in_curve = LoadCurvePublicKey(dir_ / "swapped.pub").status();
  EXPECT_NE(identity_in_curve.message().find("identity key"), std::string::npos)
      << identity_in_curve;

  std::ofstream(dir_ / "short.sign.pub") << "0123zz\n";
  EXPECT_NE(
      LoadIdentityKey(dir_ / "short.sign.pub").status().message().find("64 hexadecimal digits"),
      std::string::npos);
  EXPECT_FALSE(ParseIdentityKeyHex(std::string(63, 'a')).has_value());
  EXPECT_EQ(ParseIdentityKeyHex(IdentityKeyHex(SomeIdentityKey(6))), SomeIdentityKey(6));
}

TEST_F(KeyFilesTest, IdentityKeysOfADirectoryByName) {
  ASSERT_TRUE(
      WriteKeySet(dir_, "lycee-a", GenerateCurveKeyPair().value(), SomeIdentityKey(1)).ok());
  ASSERT_TRUE(
      WriteKeySet(dir_, "college-b", GenerateCurveKeyPair().value(), SomeIdentityKey(2)).ok());
  auto keys = LoadIdentityKeys(dir_);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);  // the .pub and .key files are not identity keys
  EXPECT_EQ(keys->at("lycee-a"), SomeIdentityKey(1));
  EXPECT_EQ(keys->at("college-b"), SomeIdentityKey(2));
  EXPECT_EQ(LoadIdentityKeys(dir_ / "missing").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace cartable::protocol
