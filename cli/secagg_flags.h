#pragma once

// The secure-aggregation flags shared by `cartable coordinator` and `cartable simulate`.

#include <string>

#include <CLI/CLI.hpp>

#include "coordinator/run_config.h"
#include "core/status.h"

namespace cartable::cli {

struct SecAggFlags {
  std::string mode = "on";          // on | off
  std::string neighbours = "auto";  // auto | full | K
  int modulus_bits = 32;
  double clip = 4.0;
  double weight_cap = 10000;
};

void AddSecAggFlags(CLI::App* cmd, SecAggFlags& flags);

// Fills `config` from the flags; kInvalidArgument naming the flag that is wrong.
Status ApplySecAggFlags(const SecAggFlags& flags, coordinator::SecAggConfig& config);

}  // namespace cartable::cli
