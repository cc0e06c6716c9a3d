#pragma once

// Strategy: decides the next global model from the current one and the round's UpdateSum (Flower's
// Strategy, reduced to what secure aggregation allows a server to see), or, for the robust
// aggregators of plain runs (NeedsIndividualUpdates), from each node's own update. Strategies may
// keep state across rounds (momentum, Adam moments), so one instance serves one run; not thread
// safe. The factory and the catalog below (names, options, defaults) are pure functions and thread
// safe.

#include <Eigen/Core>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "aggregation/update_sum.h"
#include "core/status.h"

namespace cartable::aggregation {

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // Fails when the sum is empty or its dimension differs from the model's (or from the state's);
  // a failed call leaves the state as it was.
  virtual StatusOr<std::vector<float>> NextModel(std::span<const float> global,
                                                 const UpdateSum& sum) = 0;
  // The next model from each contributor's own delta Δᵢ (unweighted, in cohort order): what the
  // strategies NeedsIndividualUpdates names are given instead of the sum, in rounds without secure
  // aggregation only. The others refuse it (kFailedPrecondition): they decide from the sum alone.
  // Fails as NextModel otherwise, leaving the state as it was.
  virtual StatusOr<std::vector<float>> NextModelFromUpdates(
      std::span<const float> global, std::span<const Eigen::VectorXd> updates);

  // What the strategy carries from one round to the next, for a checkpoint: empty before the first
  // round and for a stateless strategy, otherwise whole blocks of model-size doubles whose order
  // each strategy's header gives. A strategy rebuilt from the same parameters (the checkpoint's
  // plan) and given this back computes bit-identical next models, provided the checkpoint keeps
  // the doubles exactly (their bits, or 17 significant digits).
  virtual std::vector<double> SaveState() const = 0;
  // Replaces the state by one SaveState() returned. kInvalidArgument, leaving the state as it was,
  // when `state` is neither empty (a run not started) nor the size this strategy keeps for a model
  // of `model_size` values, or holds values SaveState() cannot produce (not finite, v < 0).
  [[nodiscard]] virtual Status RestoreState(std::span<const double> state, size_t model_size) = 0;
};

// A strategy as a plan names it: RunConfig's strategy and strategy_options.
struct StrategyParameters {
  std::string name = "fedavg";  // see KnownStrategies()
  // Options by name (StrategyOptionsOf); an absent one takes its default.
  std::map<std::string, double> options;
};

// Validates `parameters` completely, then builds the strategy. kInvalidArgument for an unknown
// name (listing the known ones), an option the strategy does not take (listing those it takes) or
// a value out of range (naming the option, the value and the allowed range).
StatusOr<std::unique_ptr<Strategy>> CreateStrategy(const StrategyParameters& parameters);
// The strategy of this name with its default options.
StatusOr<std::unique_ptr<Strategy>> CreateStrategy(const std::string& name);

// The names CreateStrategy knows, each with a one-line description, for --help and docs.
std::vector<std::pair<std::string, std::string>> KnownStrategies();

struct StrategyOption {
  std::string name;      // "server_learning_rate"
  double default_value;  // what an absent option means
  std::string range;     // the allowed values, as errors print them: "(0, inf)", "[0, 1)"
  std::string meaning;   // one line
};

// The options a strategy takes with their defaults, sorted by name; kInvalidArgument for an
// unknown strategy.
StatusOr<std::vector<StrategyOption>> StrategyOptionsOf(const std::string& strategy_name);

// The μ of FedProx's proximal term that nodes add to their local training under `parameters`
// (its option proximal_mu), 0 for a strategy without one; errors as CreateStrategy's.
StatusOr<double> ProximalMuOf(const StrategyParameters& parameters);

// Ok when a round of `updates` contributions is enough for the strategy `parameters` name to decide
// from: always, but for Krum, which needs more than 2·byzantine + 2 (and selected ≤ n − byzantine).
// kFailedPrecondition naming the counts otherwise; kInvalidArgument as CreateStrategy.
Status CheckUpdateCount(const StrategyParameters& parameters, size_t updates);

// True for the robust aggregators ("median", "trimmed_mean", "krum"): they rank or compare the
// nodes' updates one by one, which secure aggregation exists to prevent (the server only ever
// learns the sum), so a plan asking for one with secure aggregation must be refused. False for
// the averaging strategies above, which need only the sum, and for any other name.
bool NeedsIndividualUpdates(const std::string& strategy_name);

}  // namespace cartable::aggregation
