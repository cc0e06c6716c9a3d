#pragma once

// SimulateRound: one whole SecAgg+ round in memory — a server and every member's client, with
// members falling silent before a chosen stage — for the property tests and `cartable bench
// secagg`. It runs the same client and server state machines a deployment runs, relaying their
// messages directly, and times each side's compute (CPU time of the one thread that runs them all).
// Not a transport: nothing here is serialised.

#include <cstdint>
#include <functional>
#include <set>
#include <string_view>
#include <vector>

#include "aggregation/secagg/server.h"
#include "core/status.h"

namespace cartable::bench {

// The stage before which a member stops answering (it crashed, or lost its connection).
enum class DropPoint {
  kNever,
  kBeforeAdvert,
  kBeforeShares,
  kBeforeMaskedInput,
  kBeforeConsistency,
  kBeforeUnmask
};

struct SimulatedRoundConfig {
  int members = 10;
  size_t dimension = 100;
  int neighbours = 0;         // k, or kFullNeighbourGraph
  int corrupt_allowance = 0;  // c of ShamirThreshold (graph_plan.h)
  int modulus_bits = 32;
  double value_range = 4.0;
  uint64_t seed = 1;  // inputs and graph seed (keys and masks stay truly random)
  // Above 0: every member adds its share of distributed discrete Gaussian noise before masking
  // (aggregation/privacy/distributed_gaussian.h), the members' shares summing to this many times a
  // sensitivity of 1; the modulus must hold the noisy sum.
  double noise_multiplier = 0;
  std::vector<DropPoint> drops;  // per member; missing entries never drop
  // When set, hears the name of each stage as it starts (for progress lines in long benchmarks).
  std::function<void(std::string_view stage)> on_stage;
};

struct SimulatedRoundResult {
  Status status;                           // OK, or why the round could not complete
  aggregation::secagg::UnmaskedSum sum;    // when OK
  std::vector<std::vector<float>> inputs;  // every member's input
  std::vector<double> client_seconds;  // per member that reached Unmask: its compute, all stages
  double server_seconds = 0;           // the server's compute, all stages
  int degree = 0;                      // neighbours per member in the graph over the advertisers
  int threshold = 0;                   // the Shamir threshold that graph implies
  // Bytes one member sends (keys, sealed shares, masked input, signature, revealed shares), over
  // the bytes of its quantised input alone; the mean over members that reached Unmask.
  double expansion = 0;
};

// Fails only on a configuration that cannot run (bad sizes); a round that aborts is reported in
// `status`.
StatusOr<SimulatedRoundResult> SimulateRound(const SimulatedRoundConfig& config);

}  // namespace cartable::bench
