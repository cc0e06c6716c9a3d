#include "node/identity.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace cartable::node {
namespace {

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() /
        ("cartable-identity-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(IdentityTest, TheSigningKeyFollowsTheCurveSecretKey) {
  auto a = protocol::GenerateCurveKeyPair().value();
  auto b = protocol::GenerateCurveKeyPair().value();
  auto a1 = SigningKeyFromCurveSecret(a.secret_key).value();
  auto a2 = SigningKeyFromCurveSecret(protocol::CurveSecretKey(a.secret_key.z85())).value();
  auto b1 = SigningKeyFromCurveSecret(b.secret_key).value();
  EXPECT_EQ(a1.PublicKey(), a2.PublicKey());
  EXPECT_NE(a1.PublicKey(), b1.PublicKey());
}

TEST_F(IdentityTest, WrittenKeysComeBackAsARosterAndAreNeverOverwritten) {
  auto a = SigningKeyFromCurveSecret(protocol::GenerateCurveKeyPair().value().secret_key).value();
  auto b = SigningKeyFromCurveSecret(protocol::GenerateCurveKeyPair().value().secret_key).value();
  ASSERT_TRUE(WriteSigningPublicKey(dir_ / "roster", "lycee-a", a.PublicKey()).ok());
  ASSERT_TRUE(WriteSigningPublicKey(dir_ / "roster", "college-b", b.PublicKey()).ok());
  Status again = WriteSigningPublicKey(dir_ / "roster", "lycee-a", b.PublicKey());
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  std::ofstream(dir_ / "roster" / "lycee-a.pub")
      << "not a signing key\n";  // other files are ignored
  auto roster = LoadRoster(dir_ / "roster");
  ASSERT_TRUE(roster.ok()) << roster.status();
  ASSERT_EQ(roster->size(), 2u);
  EXPECT_EQ(roster->at("lycee-a"), a.PublicKey());
  EXPECT_EQ(roster->at("college-b"), b.PublicKey());
}

TEST_F(IdentityTest, ABadRosterFileIsNamed) {
  std::ofstream(dir_ / "ecole-c.sign.pub") << "0123zz\n";
  auto roster = LoadRoster(dir_);
  ASSERT_FALSE(roster.ok());
  EXPECT_NE(roster.status().message().find("ecole-c.sign.pub"), std::string::npos)
      << roster.status();
}

TEST_F(IdentityTest, AnEmptyOrMissingRosterIsAnError) {
  EXPECT_EQ(LoadRoster(dir_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(LoadRoster(dir_ / "missing").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace cartable::node
