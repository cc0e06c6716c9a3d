#include "cli/secagg_flags.h"

#include <cstdlib>
#include <string>

#include "coordinator/secure_sum.h"

namespace cartable::cli {

void AddSecAggFlags(CLI::App* cmd, SecAggFlags& flags) {
  cmd->add_option("--secagg", flags.mode,
                  "Secure aggregation of updates (SecAgg+): on, or off for comparison runs only")
      ->default_val("on")
      ->check(CLI::IsMember({"on", "off"}))
      ->group("Secure aggregation");
  cmd->add_option("--neighbours", flags.neighbours,
                  "Nodes each node masks with: auto (the smallest degree meeting "
                  "--tolerate-corrupt and --tolerate-dropout), full (classic SecAgg; use it when "
                  "the coordinator itself may deviate from the protocol), or an even K")
      ->default_val("auto")
      ->group("Secure aggregation");
  cmd->add_option("--secagg-bits", flags.modulus_bits, "Updates are summed modulo 2^BITS")
      ->default_val(32)
      ->check(CLI::Range(8, 62))
      ->group("Secure aggregation");
  cmd->add_option("--value-range", flags.value_range,
                  "Each value of a node's update is clamped to [-R, R] before weighting; secure "
                  "aggregation quantises this range, and every averaged update stays within it")
      ->default_val(4.0)
      ->check(CLI::Range(1.0, 1e6))
      ->group("Contributions");
  cmd->add_option(
         "--weight-cap", flags.weight_cap,
         "Training examples that give a node the full weight (weights are examples/cap, at most 1)")
      ->default_val(10000)
      ->check(CLI::Range(1.0, 1e12))
      ->group("Contributions");
  cmd->add_option("--max-norm", flags.max_norm,
                  "Each node scales its update down to this L2 norm before masking it, so no one "
                  "school can dominate the sum; 0 for no bound")
      ->default_val(0.0)
      ->check(CLI::Range(0.0, 1e12))
      ->group("Contributions");
  cmd->add_option("--tolerate-corrupt", flags.tolerate_corrupt,
                  "Fraction of nodes that may collude with the coordinator; the Shamir threshold "
                  "outlasts them")
      ->default_val(0.05)
      ->check(CLI::Range(0.0, 0.99))
      ->group("Secure aggregation");
  cmd->add_option("--tolerate-dropout", flags.tolerate_dropout,
                  "Fraction of nodes that may drop mid-round and still leave the sum recoverable")
      ->default_val(0.1)
      ->check(CLI::Range(0.0, 0.99))
      ->group("Secure aggregation");
}

Status ApplySecAggFlags(const SecAggFlags& flags, coordinator::SecAggConfig& config,
                        coordinator::ContributionConfig& contribution, size_t expected_cohort) {
  config.enabled = flags.mode == "on";
  config.modulus_bits = flags.modulus_bits;
  contribution.value_range = flags.value_range;
  contribution.weight_cap = flags.weight_cap;
  contribution.max_norm = flags.max_norm;
  config.tolerate_corrupt = flags.tolerate_corrupt;
  config.tolerate_dropout = flags.tolerate_dropout;
  if (flags.neighbours == "auto") {
    config.neighbours = -1;
  } else if (flags.neighbours == "full") {
    config.neighbours = 0;
  } else {
    char* end = nullptr;
    const long k = std::strtol(flags.neighbours.c_str(), &end, 10);
    if (flags.neighbours.empty() || *end != '\0' || k < 2 || k % 2 != 0 || k > 65534) {
      return InvalidArgumentError("--neighbours " + flags.neighbours +
                                  ": expected auto, full, or an even number from 2");
    }
    config.neighbours = static_cast<int>(k);
  }
  if (config.enabled && expected_cohort > 0) {
    auto plan = coordinator::PlanSecureRound(config, static_cast<int>(expected_cohort));
    if (!plan.ok()) {
      return plan.status().WithContext(
          "secure aggregation among " + std::to_string(expected_cohort) +
          " nodes (--tolerate-corrupt, --tolerate-dropout, --neighbours)");
    }
  }
  return Status::Ok();
}

}  // namespace cartable::cli
