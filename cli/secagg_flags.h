#pragma once

// The flags shared by `cartable coordinator` and `cartable simulate` for what nodes contribute to a
// round and how it is securely aggregated.

#include <CLI/CLI.hpp>
#include <string>

#include "coordinator/run_config.h"
#include "core/status.h"

namespace cartable::cli {

struct SecAggFlags {
  std::string mode = "on";          // on | off
  std::string neighbours = "auto";  // auto | full | K
  int modulus_bits = 32;
  double value_range = 4.0;
  double weight_cap = 10000;
  double max_norm = 0;
  double tolerate_corrupt = 0.05;
  double tolerate_dropout = 0.1;
};

void AddSecAggFlags(CLI::App* cmd, SecAggFlags& flags);

// Fills `config` and `contribution` from the flags; kInvalidArgument naming the flag that is wrong.
// With `expected_cohort` > 0 and secure aggregation on, also checks that a cohort of that size can
// be planned with the declared tolerances, so a run that could never aggregate fails at start-up.
Status ApplySecAggFlags(const SecAggFlags& flags, coordinator::SecAggConfig& config,
                        coordinator::ContributionConfig& contribution, size_t expected_cohort = 0);

}  // namespace cartable::cli
