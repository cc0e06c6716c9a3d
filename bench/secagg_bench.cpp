#include "bench/secagg_bench.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "aggregation/privacy/distributed_gaussian.h"
#include "aggregation/secagg/graph_plan.h"
#include "aggregation/secagg/masking.h"
#include "aggregation/secagg/neighbour_graph.h"
#include "bench/secagg_round.h"

namespace cartable::bench {
namespace {

namespace secagg = aggregation::secagg;

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

StatusOr<secagg::GraphPlan> Plan(const SecAggBenchConfig& config) {
  secagg::SecAggTolerance tolerance;
  tolerance.corrupt_fraction = config.tolerate_corrupt;
  tolerance.dropout_fraction =
      config.tolerate_dropout < 0 ? std::max(0.1, config.dropout) : config.tolerate_dropout;
  std::optional<int> k;
  if (config.neighbours >= 0) k = config.neighbours;
  auto plan = secagg::PlanGraph(config.nodes, tolerance, k);
  if (!plan.ok()) return plan.status().WithContext("--tolerate-corrupt/--tolerate-dropout");
  return plan;
}

// Who drops after ShareKeys: round(F·N) members drawn without replacement with the bench seed.
std::vector<DropPoint> DrawDropouts(const SecAggBenchConfig& config, int* dropped) {
  std::vector<int> order(static_cast<size_t>(config.nodes));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(config.seed ^
                      0x9e3779b97f4a7c15ULL);  // not the stream SimulateRound draws from
  std::shuffle(order.begin(), order.end(), rng);
  *dropped = static_cast<int>(std::lround(config.dropout * config.nodes));
  std::vector<DropPoint> drops(order.size(), DropPoint::kNever);
  for (int i = 0; i < *dropped; ++i) {
    drops[static_cast<size_t>(order[static_cast<size_t>(i)])] = DropPoint::kBeforeMaskedInput;
  }
  return drops;
}

}  // namespace

Status CheckSecAggBenchConfig(const SecAggBenchConfig& config) {
  if (config.nodes < 3 || config.nodes > secagg::kNeighbourGraphMaxNodes) {
    return InvalidArgumentError("--nodes must be in [3, 65535], got " +
                                std::to_string(config.nodes));
  }
  if (config.dim < 1)
    return InvalidArgumentError("--dim must be at least 1, got " + std::to_string(config.dim));
  if (!(config.dropout >= 0 && config.dropout < 1)) {
    return InvalidArgumentError("--dropout is a fraction in [0, 1), got " +
                                std::to_string(config.dropout));
  }
  if (!(config.noise == 0 || (config.noise >= 0.01 && config.noise <= 1000))) {
    return InvalidArgumentError("--noise must be 0 or in [0.01, 1000], got " +
                                std::to_string(config.noise));
  }
  if (config.bits < secagg::kMaskingMinBits || config.bits > secagg::kMaskingMaxBits) {
    return InvalidArgumentError("--bits must be in [8, 62], got " + std::to_string(config.bits));
  }
  // The quantiser needs at least 2 levels per contributor: (2^b − 1) / N ≥ 2.
  if (((uint64_t{1} << config.bits) - 1) / static_cast<uint64_t>(config.nodes) < 2) {
    return InvalidArgumentError("--bits " + std::to_string(config.bits) +
                                " cannot hold the sum of " + std::to_string(config.nodes) +
                                " inputs; use more bits");
  }
  const int k = config.neighbours;
  if (k > 0 && (k < 2 || k % 2 != 0 || k >= config.nodes)) {
    return InvalidArgumentError("--neighbours must be 'full' or an even k in [2, " +
                                std::to_string(config.nodes - 1) + "], got " + std::to_string(k));
  }
  return Plan(config).status();
}

StatusOr<SecAggBenchResult> RunSecAggBench(const SecAggBenchConfig& config,
                                           std::function<void(std::string_view)> progress) {
  CARTABLE_RETURN_IF_ERROR(CheckSecAggBenchConfig(config));
  SecAggBenchResult out;
  CARTABLE_ASSIGN_OR_RETURN(const secagg::GraphPlan plan, Plan(config));
  out.neighbours = plan.neighbours;
  out.corrupt_allowance = plan.corrupt_allowance;
  out.tolerated_dropouts = plan.tolerated_dropouts;
  SimulatedRoundConfig round;
  round.members = config.nodes;
  round.dimension = static_cast<size_t>(config.dim);
  round.neighbours = out.neighbours;
  round.corrupt_allowance = plan.corrupt_allowance;
  round.modulus_bits = config.bits;
  round.seed = config.seed;
  if (config.noise > 0) {
    aggregation::privacy::DistributedGaussianPlan noise;
    noise.noise_multiplier = config.noise;
    noise.range = round.value_range;
    noise.min_contributors = noise.max_contributors = config.nodes;
    noise.dimension = round.dimension;
    noise.modulus_bits = secagg::kMaskingMaxBits;
    auto mechanism = aggregation::privacy::PlanDistributedGaussian(noise);
    if (!mechanism.ok()) return mechanism.status().WithContext("--noise");
    round.modulus_bits = std::max(round.modulus_bits, mechanism->modulus_bits);
    round.noise_multiplier = config.noise;
  }
  out.bits = round.modulus_bits;
  round.drops = DrawDropouts(config, &out.dropped);
  round.on_stage = std::move(progress);
  CARTABLE_ASSIGN_OR_RETURN(SimulatedRoundResult result, SimulateRound(round));
  out.degree = result.degree;
  out.threshold = result.threshold;
  out.client_ms = 1e3 * Median(result.client_seconds);
  out.server_ms = 1e3 * result.server_seconds;
  out.expansion = result.expansion;
  out.status = result.status;
  return out;
}

}  // namespace cartable::bench
