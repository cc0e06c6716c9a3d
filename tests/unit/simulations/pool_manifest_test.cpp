// The manifest a simulation leaves for its node pools: read back as written, refused naming the
// field when broken, and shared among pools so that each school has exactly one host.

#include "simulations/pool_manifest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <set>

#include "core/files.h"

namespace cartable::simulations {
namespace {

// A directory of its own for one test, removed after it.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("cartable-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

PoolManifest Example() {
  PoolManifest m;
  m.endpoint = "tcp://127.0.0.1:7450";
  m.coordinator_key = "/run/keys/coordinator.pub";
  m.roster = "/run/keys/roster";
  m.test_fraction = 0.25;
  m.split_seed = 9;
  m.allow_plain_updates = true;
  m.tolerate_corrupt = 0.1;
  for (const char* name : {"ecole-01", "college-02", "lycee-03"}) {
    m.schools.push_back({name, std::string("csv:/run/data/") + name + ".csv",
                         std::string("/run/pseudonym-keys/") + name + ".key",
                         std::string("/run/keys/nodes/") + name + ".key"});
  }
  return m;
}

TEST(PoolManifestTest, ReadsBackWhatWasWritten) {
  ScratchDir dir("pool-manifest");
  const auto path = dir.path() / "pool.json";
  ASSERT_TRUE(WritePoolManifest(Example(), path).ok());
  auto read = ReadPoolManifest(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->endpoint, "tcp://127.0.0.1:7450");
  EXPECT_EQ(read->coordinator_key, "/run/keys/coordinator.pub");
  EXPECT_EQ(read->roster, "/run/keys/roster");
  EXPECT_EQ(read->test_fraction, 0.25);
  EXPECT_EQ(read->split_seed, 9u);
  EXPECT_TRUE(read->allow_plain_updates);
  EXPECT_EQ(read->tolerate_corrupt, 0.1);
  ASSERT_EQ(read->schools.size(), 3u);
  EXPECT_EQ(read->schools[1].name, "college-02");
  EXPECT_EQ(read->schools[1].data, "csv:/run/data/college-02.csv");
  EXPECT_EQ(read->schools[2].key, "/run/keys/nodes/lycee-03.key");
}

TEST(PoolManifestTest, ABrokenManifestIsRefusedNamingTheFileAndTheField) {
  ScratchDir dir("pool-manifest-bad");
  const auto path = dir.path() / "pool.json";
  EXPECT_EQ(ReadPoolManifest(path).status().code(), StatusCode::kNotFound);
  for (const auto& [text, said] : std::vector<std::pair<std::string, std::string>>{
           {"not json", "not JSON"},
           {R"({"endpoint": 3})", "\"endpoint\" has the wrong type"},
           {R"({"coordinator_key": ""})", "\"endpoint\" is missing"},
           {R"({"endpoint": "tcp://h:1", "coordinator_key": "", "roster": "", "test_fraction": 2,
                "split_seed": 1, "allow_plain_updates": false, "tolerate_corrupt": 0})",
            "\"test_fraction\" must be in (0, 1)"},
           {R"({"endpoint": "tcp://h:1", "coordinator_key": "", "roster": "", "test_fraction": 0.2,
                "split_seed": 1, "allow_plain_updates": false, "tolerate_corrupt": 0,
                "schools": []})",
            "\"schools\" must be a non-empty array"},
           {R"({"endpoint": "tcp://h:1", "coordinator_key": "", "roster": "", "test_fraction": 0.2,
                "split_seed": 1, "allow_plain_updates": false, "tolerate_corrupt": 0,
                "schools": [{"name": "a", "data": "csv:a.csv", "pseudonym_key": "a.key",
                             "key": "a.secret"}]})",
            "schools[0]: a key for each school goes with the coordinator's"},
           {R"({"endpoint": "tcp://h:1", "coordinator_key": "", "roster": "", "test_fraction": 0.2,
                "split_seed": 1, "allow_plain_updates": false, "tolerate_corrupt": 0,
                "schools": [{"name": "a", "data": "", "pseudonym_key": "a.key", "key": ""}]})",
            "schools[0]: name, data and pseudonym_key must not be empty"}}) {
    ASSERT_TRUE(WriteFileAtomically(path, text).ok());
    const Status s = ReadPoolManifest(path).status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(s.message().find(said), std::string::npos) << s;
    EXPECT_NE(s.message().find("pool.json"), std::string::npos) << s;
  }
}

TEST(PoolManifestTest, EverySchoolHasExactlyOnePool) {
  for (size_t pools : {1u, 2u, 3u, 7u}) {
    std::multiset<size_t> hosted;
    for (size_t p = 0; p < pools; ++p) {
      const auto share = PoolShare(20, p, pools);
      EXPECT_GE(share.size(), 20 / pools);
      hosted.insert(share.begin(), share.end());
    }
    ASSERT_EQ(hosted.size(), 20u) << pools;
    for (size_t s = 0; s < 20; ++s) EXPECT_EQ(hosted.count(s), 1u);
  }
  EXPECT_EQ(PoolShare(7, 2, 3), (std::vector<size_t>{2, 5}));
  EXPECT_TRUE(PoolShare(2, 3, 4).empty());
}

}  // namespace
}  // namespace cartable::simulations
