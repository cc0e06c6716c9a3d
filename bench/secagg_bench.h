#pragma once

// The secure-aggregation benchmark: one whole SecAgg+ round in memory
// (aggregation::secagg::SimulateRound, the same client and server state machines a deployment
// runs), with a fraction of the cohort falling silent after ShareKeys — the costliest point to
// drop, since the coordinator must then rebuild those members' mask keys and remove their pairwise
// masks from the sum. Reports one member's compute, the coordinator's compute and the bytes a
// member sends per byte of its quantised input.

#include <cstdint>
#include <functional>
#include <string_view>

#include "core/status.h"

namespace cartable::bench {

struct SecAggBenchConfig {
  int nodes = 100;
  int dim = 100'000;
  double dropout = 0.0;            // fraction of members that drop after ShareKeys, in [0, 1)
  int neighbours = -1;             // k; 0 for the full graph; −1 for the k PlanGraph chooses
  double tolerate_corrupt = 0.05;  // the plan's γ
  double tolerate_dropout = -1;    // the plan's δ; −1: max(0.1, dropout)
  int bits = 32;                   // modulus 2^bits
  uint64_t seed = 1;               // inputs, graph and who drops (keys and masks stay truly random)
  // Above 0: every member adds distributed discrete Gaussian noise (z over a unit sensitivity)
  // before masking; the modulus grows to hold the noisy sum.
  double noise = 0;
};

struct SecAggBenchResult {
  int neighbours = 0;          // the k used (0: full graph)
  int degree = 0;              // neighbours per member in the round's graph
  int threshold = 0;           // Shamir threshold
  int corrupt_allowance = 0;   // colluders among a member's neighbours the threshold outlasts
  int tolerated_dropouts = 0;  // dropped neighbours a member survives
  int dropped = 0;             // members that dropped after ShareKeys
  double client_ms = 0;  // median over members that reached Unmask of their compute, all stages
  double server_ms = 0;  // the coordinator's compute, all stages
  double expansion = 0;  // bytes a member sends ÷ bytes of its plain quantised input
  int bits = 0;          // the modulus the round used
  Status status;         // OK, or why the round aborted
};

// Checks the configuration (kInvalidArgument, with a message naming the flag) before running.
[[nodiscard]] Status CheckSecAggBenchConfig(const SecAggBenchConfig& config);

// `progress`, when set, hears a line as each stage of the round starts.
StatusOr<SecAggBenchResult> RunSecAggBench(const SecAggBenchConfig& config,
                                           std::function<void(std::string_view)> progress = {});

}  // namespace cartable::bench
