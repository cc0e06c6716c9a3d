#pragma once

// Fixtures for the ingest tests. TempDirTest: a fresh temporary directory per test (removed after
// it) and files written into it. DataFileTest adds the checks every adapter shares (an error names
// file:line and the field; a log is valid).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "ingest/pseudonymizer.h"
#include "models/dataset.h"

namespace cartable::ingest::testing {

using Loader = std::function<StatusOr<models::InteractionLog>(const std::filesystem::path&,
                                                              const Pseudonymizer*)>;

struct Answer {
  uint32_t pupil, skill, correct, item;
  bool operator==(const Answer&) const = default;
};

inline std::vector<Answer> Answers(const models::InteractionLog& log) {
  std::vector<Answer> out;
  for (const models::Interaction& x : log.interactions)
    out.push_back({x.pupil, x.skill, x.correct, x.item});
  return out;
}

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("cartable-data-" + std::to_string(::getpid()) + "-" + info->test_suite_name() + "-" +
            info->name());
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(std::filesystem::create_directories(dir_));
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Writes `contents` to dir_/name, replacing it; returns the path.
  std::filesystem::path Write(const std::string& name, const std::string& contents) {
    const std::filesystem::path path = dir_ / name;
    std::ofstream out(path, std::ios::binary);
    out << contents << std::flush;
    EXPECT_TRUE(out.good()) << "cannot write " << path;
    return path;
  }

  std::filesystem::path dir_;
};

class DataFileTest : public TempDirTest {
 protected:
  // Loads `contents` and expects a valid log.
  models::InteractionLog Load(const Loader& load, const std::string& contents,
                              const Pseudonymizer* pseudonymizer = nullptr) {
    auto log = load(Write("data.txt", contents), pseudonymizer);
    EXPECT_TRUE(log.ok()) << log.status();
    if (!log.ok()) return {};
    EXPECT_TRUE(models::Validate(*log).ok()) << models::Validate(*log);
    return *std::move(log);
  }

  // Loads `contents` and expects an InvalidArgument naming the file, `line` (":N:" or ":N" when
  // empty `line` is not wanted) and each of `parts`.
  void ExpectError(const Loader& load, const std::string& contents, const std::string& line,
                   const std::vector<std::string>& parts) {
    auto log = load(Write("bad-data.txt", contents), nullptr);
    ASSERT_FALSE(log.ok());
    EXPECT_EQ(log.status().code(), StatusCode::kInvalidArgument);
    const std::string message = log.status().message();
    EXPECT_THAT(message,
                ::testing::HasSubstr("bad-data.txt" + (line.empty() ? "" : ":" + line + ":")))
        << message;
    for (const std::string& part : parts)
      EXPECT_THAT(message, ::testing::HasSubstr(part)) << message;
  }

  Pseudonymizer MakePseudonymizer() {
    auto p = Pseudonymizer::LoadOrCreate(dir_ / "pseudonym.key");
    EXPECT_TRUE(p.ok()) << p.status();
    return *std::move(p);
  }
};

}  // namespace cartable::ingest::testing
