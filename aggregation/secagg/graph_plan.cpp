#include "aggregation/secagg/graph_plan.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "aggregation/secagg/neighbour_graph.h"

namespace cartable::aggregation::secagg {
namespace {

// Beyond this degree a sparse graph stops paying off against the full one; the search ends there.
constexpr int kMaxSparseDegree = 4096;
// Cohorts up to this size use the full graph: a member's work is then at most 63 key agreements
// and signature checks (a few milliseconds), and the full graph's single consistent survivor set
// also stands against a coordinator that deviates from the protocol.
constexpr int kAlwaysFullUpTo = 64;

double LogChoose(int n, int k) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
}

// tail[m] = P[X ≥ m] for X ~ Hypergeometric(population, successes, draws), m = 0..draws + 1.
// Summed from the top, so the tiny tails the plan compares with 2^−40 keep their precision.
std::vector<double> UpperTails(int population, int successes, int draws) {
  std::vector<double> tail(static_cast<size_t>(draws) + 2, 0.0);
  const int low = std::max(0, draws - (population - successes));
  const int high = std::min(successes, draws);
  const double total = LogChoose(population, draws);
  for (int i = draws; i >= 0; --i) {
    double p = 0;
    if (i >= low && i <= high) {
      p = std::exp(LogChoose(successes, i) + LogChoose(population - successes, draws - i) - total);
    }
    tail[static_cast<size_t>(i)] = tail[static_cast<size_t>(i) + 1] + p;
  }
  return tail;
}

// The smallest c with n·P[X > c] ≤ 2^−bits, X the colluders among k neighbours.
int CorruptAllowance(int n, int colluders, int k, int bits) {
  const std::vector<double> tail = UpperTails(n - 1, colluders, k);
  const double bound = std::ldexp(1.0, -bits) / n;
  int c = 0;
  while (c < k && tail[static_cast<size_t>(c) + 1] > bound) ++c;
  return c;
}

// Bell et al.'s other condition: the honest survivors must stay connected, or the coordinator
// learns the sums of the separate parts. Cutting the ring of the circulant graph takes two runs of
// k/2 consecutive positions held by colluders or dropped members; the positions are a random
// permutation, so a fixed set of k positions is all bad with probability C(B, k)/C(n, k), and
// there are fewer than n² pairs of runs.
bool RingStaysConnected(int n, int bad, int k, int bits) {
  if (bad < k) return true;
  const double log_probability =
      2 * std::log(static_cast<double>(n)) + LogChoose(bad, k) - LogChoose(n, k);
  return log_probability <= -bits * std::log(2.0);
}

GraphPlan Describe(int neighbours, int degree, int allowance) {
  const int t = ShamirThreshold(degree, allowance);
  return {neighbours, allowance, degree, t, degree - t};
}

StatusOr<GraphPlan> FullPlan(int n, int colluders, int dropped) {
  GraphPlan plan = Describe(kFullNeighbourGraph, n - 1, colluders);
  if (plan.threshold > plan.degree) {
    return InvalidArgumentError(
        "a cohort of " + std::to_string(n) + " is too small for secure aggregation: tolerating " +
        std::to_string(colluders) + " colluding member(s) needs a threshold of " +
        std::to_string(plan.threshold) + " shares, and each member has only " +
        std::to_string(plan.degree) +
        " share holder(s); enlarge the cohort (3 members at least) or tolerate fewer colluders");
  }
  if (dropped > plan.tolerated_dropouts) {
    return InvalidArgumentError(
        "a cohort of " + std::to_string(n) + " that tolerates " + std::to_string(colluders) +
        " colluding member(s) needs a threshold of " + std::to_string(plan.threshold) + " of " +
        std::to_string(plan.degree) + " share holders, which leaves room for " +
        std::to_string(plan.tolerated_dropouts) + " dropout(s), fewer than the " +
        std::to_string(dropped) +
        " declared; tolerate fewer colluders or dropouts, or enlarge the cohort");
  }
  return plan;
}

}  // namespace

int ShamirThreshold(int degree, int corrupt_allowance) {
  return (degree + 1 + corrupt_allowance) / 2 + 1;
}

StatusOr<GraphPlan> PlanGraph(int num_nodes, const SecAggTolerance& tolerance,
                              std::optional<int> neighbours) {
  const int n = num_nodes;
  if (n < 2 || n > kNeighbourGraphMaxNodes) {
    return InvalidArgumentError("a secure-aggregation cohort has 2 to " +
                                std::to_string(kNeighbourGraphMaxNodes) + " members, got " +
                                std::to_string(n));
  }
  for (double fraction : {tolerance.corrupt_fraction, tolerance.dropout_fraction}) {
    if (!(fraction >= 0 && fraction < 1)) {
      return InvalidArgumentError(
          "tolerated fractions of colluding and dropped members are in "
          "[0, 1), got " +
          std::to_string(fraction));
    }
  }
  if (tolerance.security_bits < 1 || tolerance.correctness_bits < 1) {
    return InvalidArgumentError("security and correctness levels are at least 1 bit");
  }
  const int colluders = static_cast<int>(std::floor(tolerance.corrupt_fraction * n));
  const int dropped = static_cast<int>(std::floor(tolerance.dropout_fraction * n));

  if (neighbours.has_value()) {
    const int k = *neighbours;
    if (k == kFullNeighbourGraph || k >= n - 1) return FullPlan(n, colluders, dropped);
    if (k < 2 || k % 2 != 0) {
      return InvalidArgumentError("neighbours must be an even k ≥ 2 or the full graph, got " +
                                  std::to_string(k));
    }
    return Describe(k, k, CorruptAllowance(n, colluders, k, tolerance.security_bits));
  }

  if (n <= kAlwaysFullUpTo) return FullPlan(n, colluders, dropped);
  const double dropout_bound = std::ldexp(1.0, -tolerance.correctness_bits) / n;
  for (int k = 2; k < std::min(n - 1, kMaxSparseDegree + 1); k += 2) {
    const GraphPlan plan =
        Describe(k, k, CorruptAllowance(n, colluders, k, tolerance.security_bits));
    if (plan.threshold > k) continue;
    if (!RingStaysConnected(n, colluders + dropped, k, tolerance.security_bits)) continue;
    const std::vector<double> dropouts = UpperTails(n - 1, dropped, k);
    if (dropouts[static_cast<size_t>(plan.tolerated_dropouts) + 1] <= dropout_bound) return plan;
  }
  return FullPlan(n, colluders, dropped);
}

}  // namespace cartable::aggregation::secagg
