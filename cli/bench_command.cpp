// `cartable bench …`: benchmarks a user can run on their own machine; figures in
// docs/benchmarks.md.

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/secagg_bench.h"
#include "bench/transport_bench.h"
#include "cli/command.h"
#include "core/logging.h"

namespace cartable::cli {
namespace {

int RunTransport(const bench::TransportBenchConfig& config, bool json) {
  if (Status s = SetupLogging("error", "bench"); !s.ok()) return ReportFailure(s);
  if (!json) {
    std::fprintf(stderr,
                 "broadcasting a %d-float model to %d nodes and collecting %d updates, %d rounds × "
                 "%d repetitions per variant...\n",
                 config.dim, config.nodes, config.nodes, config.rounds, config.repetitions);
  }
  auto results = bench::RunTransportBench(config);
  if (!results.ok()) return ReportFailure(results.status());
  auto ratio = [&](size_t cartable, size_t bare) {
    return (*results)[bare].median_seconds / (*results)[cartable].median_seconds;
  };
  if (json) {
    nlohmann::json out = {{"nodes", config.nodes},
                          {"dim", config.dim},
                          {"rounds", config.rounds},
                          {"repetitions", config.repetitions},
                          {"variants", nlohmann::json::array()}};
    for (const auto& r : *results) {
      out["variants"].push_back({{"variant", r.variant},
                                 {"median_round_seconds", r.median_seconds},
                                 {"gigabytes_per_second", r.gigabytes_per_second}});
    }
    out["cartable_vs_bare"] = {{"null", ratio(1, 0)}, {"curve", ratio(3, 2)}};
    std::cout << out.dump(2) << std::endl;
    return kExitOk;
  }
  std::printf("%-16s %14s %10s\n", "variant", "median round", "GB/s");
  for (const auto& r : *results) {
    std::printf("%-16s %12.1f ms %10.3f\n", r.variant.c_str(), r.median_seconds * 1e3,
                r.gigabytes_per_second);
  }
  std::printf("cartable / bare ZeroMQ throughput: NULL %.0f %%, CURVE %.0f %%\n", 100 * ratio(1, 0),
              100 * ratio(3, 2));
  return kExitOk;
}

// "full", or an even number of neighbours; empty keeps the recommended degree.
StatusOr<int> ParseNeighbours(const std::string& text) {
  if (text.empty()) return -1;
  if (text == "full") return 0;
  try {
    size_t used = 0;
    const int k = std::stoi(text, &used);
    if (used == text.size() && k > 0) return k;
  } catch (const std::exception&) {
  }
  return InvalidArgumentError("--neighbours takes 'full' or an even number k ≥ 2, got '" + text +
                              "'");
}

int RunSecAgg(bench::SecAggBenchConfig config, const std::string& neighbours, bool json) {
  if (Status s = SetupLogging("error", "bench"); !s.ok()) return ReportFailure(s);
  auto k = ParseNeighbours(neighbours);
  if (!k.ok()) return ReportFailure(k.status());
  config.neighbours = *k;
  if (Status s = bench::CheckSecAggBenchConfig(config); !s.ok()) return ReportFailure(s);
  const auto start = std::chrono::steady_clock::now();
  // Stage lines only when the round takes long enough for someone to wonder (≥ 10^7 input words).
  const bool long_run = static_cast<double>(config.nodes) * config.dim >= 1e7;
  auto progress = [start, long_run](std::string_view stage) {
    if (!long_run) return;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "[%6.1f s] %.*s\n", elapsed, static_cast<int>(stage.size()), stage.data());
  };
  std::fprintf(stderr,
               "one SecAgg+ round of %d members × %d values, %.0f %% dropping after ShareKeys...\n",
               config.nodes, config.dim, 100 * config.dropout);
  auto r = bench::RunSecAggBench(config, progress);
  if (!r.ok()) return ReportFailure(r.status());
  const std::string status = r->status.ok() ? "ok" : r->status.message();
  if (json) {
    nlohmann::json out = {
        {"nodes", config.nodes},
        {"dim", config.dim},
        {"bits", r->bits},
        {"noise", config.noise},
        {"seed", config.seed},
        {"neighbours", r->neighbours == 0 ? nlohmann::json("full") : nlohmann::json(r->neighbours)},
        {"degree", r->degree},
        {"threshold", r->threshold},
        {"corrupt_allowance", r->corrupt_allowance},
        {"tolerated_dropouts", r->tolerated_dropouts},
        {"dropout", config.dropout},
        {"dropped", r->dropped},
        {"client_ms", r->client_ms},
        {"server_ms", r->server_ms},
        {"expansion", r->expansion},
        {"status", status}};
    std::cout << out.dump() << std::endl;
  } else {
    std::printf("nodes       %d\n", config.nodes);
    std::printf("dim         %d (%d-bit words)\n", config.dim, r->bits);
    if (config.noise > 0)
      std::printf("noise       distributed discrete Gaussian, z = %g\n", config.noise);
    std::printf("neighbours  %s (degree %d)\n",
                r->neighbours == 0 ? "full" : std::to_string(r->neighbours).c_str(), r->degree);
    std::printf("threshold   %d (outlasts %d colluding neighbours; survives %d dropped)\n",
                r->threshold, r->corrupt_allowance, r->tolerated_dropouts);
    std::printf("dropout     %.2f (%d members after ShareKeys)\n", config.dropout, r->dropped);
    std::printf("client_ms   %.1f (median member, all stages)\n", r->client_ms);
    std::printf("server_ms   %.1f\n", r->server_ms);
    std::printf("expansion   %.3f (bytes sent / bytes of quantised input)\n", r->expansion);
    std::printf("status      %s\n", status.c_str());
  }
  return r->status.ok() ? kExitOk : kExitFailed;
}

}  // namespace

Runner AddBenchCommand(CLI::App& app) {
  auto config = std::make_shared<bench::TransportBenchConfig>();
  auto json = std::make_shared<bool>(false);
  auto chosen = std::make_shared<Runner>();
  CLI::App* cmd =
      app.add_subcommand("bench", "Measure cartable on this machine (see docs/benchmarks.md)");
  cmd->require_subcommand(1);
  CLI::App* transport = cmd->add_subcommand("transport",
                                            "One round's traffic over TCP loopback — a D-float "
                                            "model to N nodes, N updates back — through\n"
                                            "cartable's transport and codec and through bare "
                                            "ZeroMQ sockets, with NULL and CURVE security.");
  transport
      ->add_option("--nodes", config->nodes, "Nodes (threads, each with its own ZeroMQ context)")
      ->default_val(8)
      ->check(CLI::Range(1, 1000));
  transport->add_option("--dim", config->dim, "Model size in floats")
      ->default_val(1'000'000)
      ->check(CLI::Range(1, 100'000'000));
  transport->add_option("--rounds", config->rounds, "Rounds per measurement")
      ->default_val(5)
      ->check(CLI::Range(1, 10000));
  transport
      ->add_option("--repetitions", config->repetitions, "Measurements per variant (median kept)")
      ->default_val(3)
      ->check(CLI::Range(1, 1000));
  transport->add_flag("--json", *json, "Print the results as JSON");
  transport->callback([=] { *chosen = [=] { return RunTransport(*config, *json); }; });

  auto secagg = std::make_shared<bench::SecAggBenchConfig>();
  auto neighbours = std::make_shared<std::string>();
  CLI::App* sa = cmd->add_subcommand(
      "secagg",
      "One whole SecAgg+ round in memory — every member's client and the coordinator's\n"
      "server, the same state machines a deployment runs, without a network — with a fraction\n"
      "of the members dropping after ShareKeys (the costliest point: the coordinator must\n"
      "rebuild their mask keys and strip their pairwise masks). Prints client_ms (median\n"
      "member's compute over the whole round), server_ms (the coordinator's), and expansion\n"
      "(bytes a member sends / bytes of its quantised input). One core. Example, the setting\n"
      "Bonawitz et al. (CCS 2017) report on:\n"
      "  cartable bench secagg --nodes 500 --dim 100000 --dropout 0.3 --neighbours full");
  sa->add_option("--nodes", secagg->nodes, "Cohort size N")
      ->default_val(100)
      ->check(CLI::Range(3, 65535));
  sa->add_option("--dim", secagg->dim, "Values per input (the model update's length)")
      ->default_val(100'000)
      ->check(CLI::Range(1, 100'000'000));
  sa->add_option("--dropout", secagg->dropout,
                 "Fraction of members that drop after ShareKeys, chosen with --seed, in [0, 1)")
      ->default_val(0.0);
  sa->add_option(
      "--neighbours", *neighbours,
      "Masking partners per member: an even k (SecAgg+, Bell et al. CCS 2020) or 'full'\n"
      "(classic SecAgg). Default: the smallest k that meets the tolerances below\n"
      "(docs/secure-aggregation.md, 'Choosing k').");
  sa->add_option("--tolerate-corrupt", secagg->tolerate_corrupt,
                 "Fraction of members that may collude with the coordinator, in [0, 1)")
      ->default_val(0.05);
  sa->add_option("--tolerate-dropout", secagg->tolerate_dropout,
                 "Fraction of members that may drop, in [0, 1). Default: max(0.1, --dropout)");
  sa->add_option("--bits", secagg->bits, "Modulus 2^B of the masked words, B in [8, 62]")
      ->default_val(32);
  sa->add_option("--seed", secagg->seed, "Seed for inputs, graph and who drops")->default_val(1);
  sa->add_option("--noise", secagg->noise,
                 "Each member adds distributed discrete Gaussian noise before masking, its shares "
                 "summing to Z times a unit sensitivity (establishment-level DP); 0 for none. The "
                 "modulus grows to hold the noisy sum")
      ->default_val(0.0);
  sa->add_flag("--json", *json, "Print one JSON object instead of the table");
  sa->callback([=] { *chosen = [=] { return RunSecAgg(*secagg, *neighbours, *json); }; });
  return [chosen] { return *chosen ? (*chosen)() : kExitBadInput; };
}

}  // namespace cartable::cli
