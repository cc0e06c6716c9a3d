#include "cli/secagg_flags.h"

#include <cstdlib>

namespace cartable::cli {

void AddSecAggFlags(CLI::App* cmd, SecAggFlags& flags) {
  cmd->add_option("--secagg", flags.mode,
                  "Secure aggregation of updates (SecAgg+): on, or off for comparison runs only")
      ->default_val("on")->check(CLI::IsMember({"on", "off"}))->group("Secure aggregation");
  cmd->add_option("--neighbours", flags.neighbours,
                  "Nodes each node masks with: auto (a degree logarithmic in the cohort), full (classic "
                  "SecAgg), or an even K")
      ->default_val("auto")->group("Secure aggregation");
  cmd->add_option("--secagg-bits", flags.modulus_bits, "Updates are summed modulo 2^BITS")
      ->default_val(32)->check(CLI::Range(8, 62))->group("Secure aggregation");
  cmd->add_option("--clip", flags.clip, "Each weighted update value is clipped to [-CLIP, CLIP]")
      ->default_val(4.0)->check(CLI::PositiveNumber)->group("Secure aggregation");
  cmd->add_option("--weight-cap", flags.weight_cap,
                  "Training examples that give a node the full weight (weights are examples/cap, at most 1)")
      ->default_val(10000)->check(CLI::Range(1.0, 1e12))->group("Secure aggregation");
}

Status ApplySecAggFlags(const SecAggFlags& flags, coordinator::SecAggConfig& config) {
  config.enabled = flags.mode == "on";
  config.modulus_bits = flags.modulus_bits;
  config.clip = flags.clip;
  config.weight_cap = flags.weight_cap;
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
  return Status::Ok();
}

}  // namespace cartable::cli
