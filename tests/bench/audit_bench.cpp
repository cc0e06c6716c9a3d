// The audit log's cost: one entry appended (JSON, SHA-256, one write, fdatasync) and a whole log
// verified. Logs are written under --dir (default /dev/shm, where fdatasync costs little, so the
// figures are the CPU's; give a directory on the state disk to include the disk's sync).
//   cartable_audit_bench [--dir DIR] [Google Benchmark flags]
// Results and the command that produced them: docs/benchmarks.md, "The audit log".

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "audit/audit_log.h"
#include "audit/verify.h"

namespace {

namespace fs = std::filesystem;
using cartable::audit::AuditLog;

fs::path g_dir = "/dev/shm";

fs::path Fresh(const std::string& name) {
  const fs::path path = g_dir / ("cartable_audit_bench_" + std::to_string(::getpid()) + "_" + name);
  fs::remove(path);
  return path;
}

// An entry as a node writes one for each message it sends.
nlohmann::ordered_json Entry(int64_t i) {
  return {{"run_id", 17},
          {"round", i / 5},
          {"type", "MaskedInput"},
          {"bytes", 401234},
          {"sha256", "7b45a47d9278f40774a3ab7770cdadae80c58f0bc7e47b6ef7dd9835286ea052"}};
}

void BM_Append(benchmark::State& state) {
  const fs::path path = Fresh("append.jsonl");
  auto log = AuditLog::Open(path).value();
  int64_t i = 0;
  for (auto _ : state) {
    if (!log->Append("message_sent", Entry(i++)).ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations());
  log.reset();
  fs::remove(path);
}
BENCHMARK(BM_Append)->Unit(benchmark::kMicrosecond);

void BM_Verify(benchmark::State& state) {
  const auto entries = state.range(0);
  const fs::path path = Fresh("verify_" + std::to_string(entries) + ".jsonl");
  {
    auto log = AuditLog::Open(path).value();
    for (int64_t i = 0; i < entries; ++i) {
      if (!log->Append("message_sent", Entry(i)).ok()) state.SkipWithError("append failed");
    }
  }
  for (auto _ : state) {
    auto verified = cartable::audit::VerifyAuditLog(path);
    if (!verified.ok() || verified->entries != static_cast<size_t>(entries)) {
      state.SkipWithError("the log did not verify");
    }
  }
  state.SetItemsProcessed(state.iterations() * entries);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(fs::file_size(path)));
  fs::remove(path);
}
BENCHMARK(BM_Verify)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--dir") == 0) {
      g_dir = argv[i + 1];
      for (int j = i; j + 2 < argc + 1; ++j) argv[j] = argv[j + 2];
      argc -= 2;
      break;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
