#pragma once

// What `cartable simulate` is asked, from its flags and its scenario file (--scenario), before it
// becomes a simulations::ScenarioConfig.

#include <set>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/secagg_flags.h"
#include "simulations/scenario.h"

namespace cartable::cli {

struct SimulateOptions {
  simulations::ScenarioConfig scenario;
  int round_timeout_s = 0;  // 0: RoundTimeout()
  std::string out_dir = "cartable-out";
  std::string log_level = "info";
  bool json = false;
  SecAggFlags secagg;
  double establishment_noise = 0;  // 0: no establishment-level DP
  int min_contributors = 0;        // 0: half the schools, at least 3
  bool schools_given = false;      // --schools on the command line
  double delta = 1e-5;
  double noise_multiplier = 0;  // DP-SGD per pupil; 0: none
  double clip_norm = 1;
  double sampling_rate = 0.05;
  std::string mode = "auto";
  std::string partition = "iid";
  std::vector<std::string> model_options;  // KEY=VALUE
  std::string dropout_stage = "any";
  double straggler_delay_s = 5;
  double restart_after_s = 10;
  std::string attack = "sign_flip";
  std::vector<std::string> strategy_options;  // KEY=VALUE
  std::string scenario_file;                  // --scenario: a TOML file the flags override
  std::string generator = "irt";              // --generator: the synthetic cohort's
  std::set<std::string> given_flags;          // of those that go with one mode only
};

// The scenario file's settings into `o`, each unless its flag was given (the flag wins); every
// error names the file, the line and the key. docs/simulation-guide.md describes the file.
Status ApplyScenarioFile(SimulateOptions& o, const GivenFlag& given);

}  // namespace cartable::cli
