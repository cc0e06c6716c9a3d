// `cartable bench …`: benchmarks a user can run on their own machine; figures in docs/benchmarks.md.

#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/bench/transport_bench.h"
#include "cli/command.h"
#include "core/logging.h"

namespace cartable::cli {
namespace {

int RunTransport(const bench::TransportBenchConfig& config, bool json) {
  if (Status s = SetupLogging("error", "bench"); !s.ok()) return ReportFailure(s);
  if (!json) {
    std::fprintf(stderr, "broadcasting a %d-float model to %d nodes and collecting %d updates, %d rounds × %d "
                 "repetitions per variant...\n", config.dim, config.nodes, config.nodes, config.rounds,
                 config.repetitions);
  }
  auto results = bench::RunTransportBench(config);
  if (!results.ok()) return ReportFailure(results.status());
  auto ratio = [&](size_t cartable, size_t bare) {
    return (*results)[bare].median_seconds / (*results)[cartable].median_seconds;
  };
  if (json) {
    nlohmann::json out = {{"nodes", config.nodes}, {"dim", config.dim}, {"rounds", config.rounds},
                          {"repetitions", config.repetitions}, {"variants", nlohmann::json::array()}};
    for (const auto& r : *results) {
      out["variants"].push_back({{"variant", r.variant}, {"median_round_seconds", r.median_seconds},
                                 {"gigabytes_per_second", r.gigabytes_per_second}});
    }
    out["cartable_vs_bare"] = {{"null", ratio(1, 0)}, {"curve", ratio(3, 2)}};
    std::cout << out.dump(2) << std::endl;
    return kExitOk;
  }
  std::printf("%-16s %14s %10s\n", "variant", "median round", "GB/s");
  for (const auto& r : *results) {
    std::printf("%-16s %12.1f ms %10.3f\n", r.variant.c_str(), r.median_seconds * 1e3, r.gigabytes_per_second);
  }
  std::printf("cartable / bare ZeroMQ throughput: NULL %.0f %%, CURVE %.0f %%\n", 100 * ratio(1, 0),
              100 * ratio(3, 2));
  return kExitOk;
}

}  // namespace

Runner AddBenchCommand(CLI::App& app) {
  auto config = std::make_shared<bench::TransportBenchConfig>();
  auto json = std::make_shared<bool>(false);
  auto chosen = std::make_shared<Runner>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure cartable on this machine (see docs/benchmarks.md)");
  cmd->require_subcommand(1);
  CLI::App* transport = cmd->add_subcommand(
      "transport",
      "One round's traffic over TCP loopback — a D-float model to N nodes, N updates back — through\n"
      "cartable's transport and codec and through bare ZeroMQ sockets, with NULL and CURVE security.");
  transport->add_option("--nodes", config->nodes, "Nodes (threads, each with its own ZeroMQ context)")
      ->default_val(8)->check(CLI::Range(1, 1000));
  transport->add_option("--dim", config->dim, "Model size in floats")->default_val(1'000'000)
      ->check(CLI::Range(1, 100'000'000));
  transport->add_option("--rounds", config->rounds, "Rounds per measurement")->default_val(5)
      ->check(CLI::Range(1, 10000));
  transport->add_option("--repetitions", config->repetitions, "Measurements per variant (median kept)")
      ->default_val(3)->check(CLI::Range(1, 1000));
  transport->add_flag("--json", *json, "Print the results as JSON");
  transport->callback([=] { *chosen = [=] { return RunTransport(*config, *json); }; });
  return [chosen] { return *chosen ? (*chosen)() : kExitBadInput; };
}

}  // namespace cartable::cli
