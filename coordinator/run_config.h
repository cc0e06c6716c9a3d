#pragma once

// RunConfig: what a federated training run is — the model, how nodes train, how many rounds, who
// must take part, and how long each wait may last. Validated once by RoundLoop::Create
// (CheckRunConfig).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "models/fairness.h"
#include "models/model.h"
#include "protocol/messages.h"

namespace cartable::coordinator {

// How updates are securely aggregated (SecAgg+, aggregation/secagg). Off only for comparison runs.
struct SecAggConfig {
  bool enabled = true;
  // Neighbours per node: −1 for the smallest k aggregation::secagg::PlanGraph finds for the cohort
  // and the tolerances below, 0 for every other node (classic SecAgg), or an even k ≥ 2. A k the
  // cohort cannot hold becomes 0.
  int neighbours = -1;
  // Fractions of the cohort that may collude with the coordinator, and that may drop mid-round,
  // which the neighbour count and Shamir threshold are chosen to withstand (graph_plan.h).
  double tolerate_corrupt = 0.05;
  double tolerate_dropout = 0.1;
  int modulus_bits = 32;  // updates are summed modulo 2^bits, 8..62
};

// How nodes pack what they contribute to a round (exchange/contribution.h), with or without secure
// aggregation, so both paths weight nodes the same way: the value range every packed value lies in
// (each delta value is clamped to it before weighting, and secure aggregation quantises it), the
// weight cap (a node's weight is min(examples, weight_cap) / weight_cap, in (0, 1]) and the norm
// bound (0: none). Sent to the nodes as it is.
using ContributionConfig = protocol::WireContribution;

struct RunConfig {
  uint64_t run_id = 1;  // names the run in every frame; stale runs' messages are refused
  uint32_t rounds = 10;
  // The first round starts as soon as this many nodes have joined (0: wait for the join deadline).
  size_t expected_nodes = 0;
  // Fewer nodes than this joined at the join deadline fails the run; fewer connected when a round
  // (or a retry) starts makes it wait for joins, up to join_timeout; fewer answering fails the
  // attempt.
  size_t min_nodes = 2;
  models::ModelSpec model;
  protocol::WireTrainConfig train;  // local epochs, batch size, rate, seed
  // Of the nodes that could take part, the fraction sampled into each round (never fewer than
  // min_nodes), drawn from train.seed and the round number, so a run can be replayed.
  double fraction = 1.0;
  std::string strategy = "fedavg";
  // The strategy's parameters by name (aggregation/strategies); absent ones take its defaults.
  std::map<std::string, double> strategy_options;
  ContributionConfig contribution;
  SecAggConfig secagg;
  // DP-SGD per pupil at the nodes (the plan's [privacy] table); `rounds` is the run's.
  protocol::WirePupilDp dp;
  // Establishment-level DP under secure aggregation (the [privacy] table's establishment_dp):
  // each node adds its share of distributed discrete Gaussian noise; `rounds` is the run's.
  protocol::WireEstablishmentDp establishment_dp;
  // The SHA-256 of the run's plan (plan.h), sent to the nodes with each round; zeros for a run
  // started from flags.
  protocol::DigestBytes plan_hash{};
  // The pupil attributes whose subgroups the last round's evaluation reports (fairness;
  // models/fairness.h), each with its values, and the fewest pupils a subgroup must hold
  // federation-wide for any of its figures to be shown.
  std::vector<models::Attribute> fairness;
  uint64_t min_group_pupils = models::kDefaultMinGroupPupils;
  // Attempts at one round whose aggregation failed (too few nodes left to unmask the sum, or a sum
  // no honest cohort gives); each retry leaves out the nodes that dropped or misbehaved. Then the
  // run fails.
  int max_attempts = 3;
  Duration join_timeout = std::chrono::seconds(60);
  Duration round_timeout = std::chrono::seconds(120);  // per stage (training, evaluation)
  // A node not busy in a round stage and silent this long (no heartbeat) is forgotten until it says
  // Hello again. Nodes send heartbeats every few seconds, so this only catches nodes that are gone.
  Duration node_timeout = std::chrono::seconds(30);
  // Every joined node the coordinator has sent nothing to for this long gets a Heartbeat, so a node
  // can tell a quiet coordinator from a gone one (it waits a few intervals, then says Hello again).
  Duration heartbeat_interval = std::chrono::seconds(5);
};

// Ok, or what in `config` no run could work with.
Status CheckRunConfig(const RunConfig& config);

// The local learning rate as the nodes receive it (a float), in its shortest decimal form rather
// than the widened double: what plan hashes and model cards record.
double LearningRateAsSent(const RunConfig& config);

}  // namespace cartable::coordinator
