#include "ingest/pseudonymizer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "data_file_test.h"
#include "ingest/csv_source.h"

namespace cartable::ingest {
namespace {

class PseudonymizerTest : public testing::TempDirTest {};

TEST_F(PseudonymizerTest, CreatesAPrivateKeyOnFirstUseAndKeepsPseudonymsStable) {
  const auto key = dir_ / "state" / "pseudonym.key";
  auto first = Pseudonymizer::LoadOrCreate(key);
  ASSERT_TRUE(first.ok()) << first.status();
  struct stat info {};
  ASSERT_EQ(::stat(key.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(info.st_size, 32);
  // The raw id holds letters outside hex, so finding it in a pseudonym (p + 32 hex digits) is
  // never a chance match: it would mean the id leaked.
  const std::string p = first->Pseudonym("eleve-zz42");
  EXPECT_EQ(p.size(), 33u);
  EXPECT_EQ(p[0], 'p');
  EXPECT_EQ(p.find_first_not_of("0123456789abcdef", 1), std::string::npos);
  EXPECT_EQ(p.find("zz42"), std::string::npos);
  auto again = Pseudonymizer::LoadOrCreate(key);  // a later run of the same node
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->Pseudonym("eleve-zz42"), p);
  EXPECT_NE(again->Pseudonym("eleve-zz43"), p);
}

TEST_F(PseudonymizerTest, AnotherSchoolsKeyGivesUnrelatedPseudonyms) {
  auto a = Pseudonymizer::LoadOrCreate(dir_ / "a.key").value();
  auto b = Pseudonymizer::LoadOrCreate(dir_ / "b.key").value();
  EXPECT_NE(a.Pseudonym("eleve-0042"), b.Pseudonym("eleve-0042"));
}

TEST_F(PseudonymizerTest, RefusesAKeyOthersCanReadOrOfTheWrongSize) {
  const auto key = dir_ / "pseudonym.key";
  ASSERT_TRUE(Pseudonymizer::LoadOrCreate(key).ok());
  ::chmod(key.c_str(), 0644);
  auto open = Pseudonymizer::LoadOrCreate(key);
  EXPECT_EQ(open.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(open.status().message().find("chmod 600"), std::string::npos);
  const auto short_key = dir_ / "short.key";
  std::ofstream(short_key) << "too short";
  ::chmod(short_key.c_str(), 0600);
  EXPECT_EQ(Pseudonymizer::LoadOrCreate(short_key).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(PseudonymizerTest, TheCsvReaderNeverHoldsARawId) {
  std::filesystem::create_directories(dir_);
  const auto csv = dir_ / "answers.csv";
  std::ofstream(csv) << "pupil_id,skill_id,correct\neleve-1,0,1\neleve-2,0,0\neleve-1,1,1\n";
  auto pseudonymizer = Pseudonymizer::LoadOrCreate(dir_ / "k.key").value();
  auto log = LoadLongCsv(csv, &pseudonymizer);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->num_pupils(), 2u);
  EXPECT_EQ(log->pupil_keys[0], pseudonymizer.Pseudonym("eleve-1"));
  EXPECT_EQ(log->pupil_keys[1], pseudonymizer.Pseudonym("eleve-2"));
  EXPECT_EQ(log->size(), 3u);
}

// A simulation's keys follow from its seed and the school's name alone. The expected pseudonym was
// computed apart from this code (openssl kdf HKDF, then openssl dgst -mac HMAC), so a change in the
// derivation, which would change every simulation's split by pupil, fails here.
TEST_F(PseudonymizerTest, ASeededKeyIsFixedByTheSeedAndTheSchool) {
  const auto key = dir_ / "school-01.key";
  ASSERT_TRUE(InsecureWriteSeededPseudonymKey(7, "school-01", key).ok());
  struct stat info {};
  ASSERT_EQ(::stat(key.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto pseudonymizer = Pseudonymizer::LoadOrCreate(key);
  ASSERT_TRUE(pseudonymizer.ok()) << pseudonymizer.status();
  EXPECT_EQ(pseudonymizer->Pseudonym("pupil-1"), "pbbd4e4ca522b696e4fb56dcdd8968c17");

  ASSERT_TRUE(InsecureWriteSeededPseudonymKey(8, "school-01", dir_ / "seed-8.key").ok());
  ASSERT_TRUE(InsecureWriteSeededPseudonymKey(7, "school-02", dir_ / "school-02.key").ok());
  for (const char* other : {"seed-8.key", "school-02.key"}) {
    auto p = Pseudonymizer::LoadOrCreate(dir_ / other);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_NE(p->Pseudonym("pupil-1"), pseudonymizer->Pseudonym("pupil-1")) << other;
  }
  // A second simulation in the same place replaces the key.
  ASSERT_TRUE(InsecureWriteSeededPseudonymKey(8, "school-01", key).ok());
  EXPECT_NE(Pseudonymizer::LoadOrCreate(key)->Pseudonym("pupil-1"),
            pseudonymizer->Pseudonym("pupil-1"));
}

}  // namespace
}  // namespace cartable::ingest
