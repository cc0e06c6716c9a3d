#pragma once

// AuditTest: a fresh temporary directory per test (removed after it), a deterministic clock, and
// helpers to write a log with AuditLog and then edit its lines the way someone tampering would.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "aggregation/secagg/digest.h"  // cartable_audit's own SHA-256, to seal hand-made lines
#include "audit/audit_log.h"

namespace cartable::audit::testing {

// 2026-12-05T13:01:02.123Z.
inline constexpr int64_t kStartMs = 1796475662123;

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("cartable-audit-" + std::to_string(::getpid()) + "-" + info->test_suite_name() + "-" +
            info->name());
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(std::filesystem::create_directories(dir_));
    old_umask_ = ::umask(022);
  }
  void TearDown() override {
    ::umask(old_umask_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // kStartMs, then one second later at each call.
  WallClock Clock() {
    return [this] { return kStartMs + 1000 * ticks_++; };
  }

  // Entry i of the logs the tests write: an event and sizes and hashes, as a node would record.
  static const char* EventOf(size_t i) {
    static const char* const kEvents[] = {"run_offered", "run_accepted", "round_started",
                                          "update_sent"};
    return kEvents[i % 4];
  }
  static nlohmann::ordered_json DataOf(size_t i) {
    return {{"run_id", "r-1"}, {"n", i}, {"bytes", 1000 * i}, {"digest", std::string(64, 'a')}};
  }

  // Writes a log of `n` entries at dir_/name (appending to one that is there); returns its path.
  std::filesystem::path WriteLog(size_t n, const std::string& name = "audit.jsonl") {
    std::filesystem::path path = dir_ / name;
    auto log = AuditLog::Open(path, Clock());
    EXPECT_TRUE(log.ok()) << log.status();
    if (!log.ok()) return path;
    for (size_t i = (*log)->size(); i < n; ++i) {
      Status appended = (*log)->Append(EventOf(i), DataOf(i));
      EXPECT_TRUE(appended.ok()) << appended;
    }
    return path;
  }

  static std::string Slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  static void Put(const std::filesystem::path& path, const std::string& contents) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << contents;
    ASSERT_TRUE(out.flush().good()) << path;
  }
  // The lines of a file that ends with '\n', without their '\n'.
  static std::vector<std::string> Lines(const std::filesystem::path& path) {
    std::vector<std::string> lines;
    const std::string text = Slurp(path);
    for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos;
         start = end + 1) {
      lines.push_back(text.substr(start, end - start));
    }
    return lines;
  }
  static void PutLines(const std::filesystem::path& path, const std::vector<std::string>& lines) {
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    Put(path, text);
  }
  static std::string HashOf(const std::string& line) {
    return nlohmann::ordered_json::parse(line)["hash"].get<std::string>();
  }
  // A line holding `entry` (seq, time, event, prev, data) with the hash it calls for.
  static std::string Sealed(const nlohmann::ordered_json& entry) {
    std::string body = entry.dump();
    const std::string hash = aggregation::secagg::Sha256Hex(body);
    body.pop_back();
    return body + ",\"hash\":\"" + hash + "\"}";
  }

  std::filesystem::path dir_;
  int64_t ticks_ = 0;
  mode_t old_umask_ = 0;
};

}  // namespace cartable::audit::testing
