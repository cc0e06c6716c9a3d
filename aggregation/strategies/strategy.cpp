// The catalog of strategies CreateStrategy knows: each one's name, description and options, with
// their defaults and ranges, in one table so that --help, the docs and validation cannot disagree.

#include "aggregation/strategies/strategy.h"

#include <cmath>
#include <set>

#include "aggregation/strategies/fedavg.h"
#include "aggregation/strategies/fedavgm.h"
#include "aggregation/strategies/fedopt.h"
#include "aggregation/strategies/internal/checks.h"
#include "aggregation/strategies/robust.h"

namespace cartable::aggregation {
namespace {

// (0, inf), [0, 1), [0, 0.5), and the whole numbers in [0, kMaxCount] and [1, kMaxCount].
enum class Range { kPositive, kFraction, kUnderHalf, kCount, kPositiveCount };
constexpr double kMaxCount = 100000;  // a plan's most nodes

struct OptionRule {
  const char* name;
  double fallback;
  Range range;
  const char* meaning;
};

using Values = std::map<std::string, double>;

struct Entry {
  const char* name;
  const char* description;
  std::vector<OptionRule> options;  // sorted by name
  std::unique_ptr<Strategy> (*make)(const Values&);
  // Ok when a round of n updates is enough to decide from; absent: any n ≥ 1 is.
  Status (*enough)(const Values&, size_t n) = nullptr;
};

OptionRule Rate(double fallback) {
  return {"server_learning_rate", fallback, Range::kPositive, "η, the server's step size"};
}
constexpr OptionRule kBeta1 = {"beta1", 0.9, Range::kFraction, "β₁, decay of the mean m of Δ"};
constexpr OptionRule kBeta2 = {"beta2", 0.99, Range::kFraction, "β₂, decay of the moment v of Δ²"};
constexpr OptionRule kTau = {"tau", 1e-3, Range::kPositive,
                             "τ, added to √v (v starts at τ²); smaller adapts more"};
constexpr OptionRule kMomentum = {"momentum", 0.9, Range::kFraction, "β, server momentum"};
constexpr OptionRule kProximalMu = {
    "proximal_mu", 0.01, Range::kPositive,
    "μ, weight of the proximal term μ/2·‖w − w_global‖² in each node's local training"};
constexpr OptionRule kTrim = {"trim_fraction", 0.1, Range::kUnderHalf,
                              "β, the fraction of largest and of smallest values dropped"};
constexpr OptionRule kByzantine = {"byzantine", 1, Range::kCount,
                                   "f, the updates that may be adversarial (needs n > 2f + 2)"};
constexpr OptionRule kSelected = {
    "selected", 1, Range::kPositiveCount,
    "m, the best-scored updates averaged (1: Krum, more: Multi-Krum)"};

template <FedOpt::Variant variant>
std::unique_ptr<Strategy> MakeFedOpt(const Values& values) {
  FedOptOptions options;
  options.server_learning_rate = values.at("server_learning_rate");
  options.beta1 = values.at("beta1");
  if (values.contains("beta2")) options.beta2 = values.at("beta2");
  options.tau = values.at("tau");
  return std::make_unique<FedOpt>(variant, options);
}

template <RobustAggregator::Rule rule>
std::unique_ptr<Strategy> MakeRobust(const Values& values) {
  RobustOptions options;
  options.server_learning_rate = values.at("server_learning_rate");
  if (values.contains("trim_fraction")) options.trim_fraction = values.at("trim_fraction");
  if (values.contains("byzantine")) options.byzantine = static_cast<int>(values.at("byzantine"));
  if (values.contains("selected")) options.selected = static_cast<int>(values.at("selected"));
  return std::make_unique<RobustAggregator>(rule, options);
}

Status KrumEnough(const Values& values, size_t n) {
  return CheckKrumCount(n, static_cast<int>(values.at("byzantine")),
                        static_cast<int>(values.at("selected")));
}

const std::vector<Entry>& Catalog() {
  static const std::vector<Entry> catalog = {
      {"fedavg",
       "the model plus the weighted mean of the updates (McMahan et al. 2017)",
       {Rate(1.0)},
       [](const Values& v) -> std::unique_ptr<Strategy> {
         return std::make_unique<FedAvg>(v.at("server_learning_rate"));
       }},
      {"fedprox",
       "FedAvg whose nodes train with a proximal term, for dissimilar schools (Li et al. 2020)",
       {kProximalMu, Rate(1.0)},
       [](const Values& v) -> std::unique_ptr<Strategy> {
         return std::make_unique<FedAvg>(v.at("server_learning_rate"), "fedprox");
       }},
      {"fedavgm",
       "FedAvg with server momentum (Hsu et al. 2019)",
       {kMomentum, Rate(1.0)},
       [](const Values& v) -> std::unique_ptr<Strategy> {
         return std::make_unique<FedAvgM>(v.at("server_learning_rate"), v.at("momentum"));
       }},
      {"fedadagrad",
       "adaptive server steps, Adagrad moments (Reddi et al. 2021)",
       {kBeta1, Rate(0.01), kTau},
       MakeFedOpt<FedOpt::Variant::kAdagrad>},
      {"fedadam",
       "adaptive server steps, Adam moments (Reddi et al. 2021)",
       {kBeta1, kBeta2, Rate(0.01), kTau},
       MakeFedOpt<FedOpt::Variant::kAdam>},
      {"fedyogi",
       "adaptive server steps, Yogi moments (Reddi et al. 2021)",
       {kBeta1, kBeta2, Rate(0.01), kTau},
       MakeFedOpt<FedOpt::Variant::kYogi>},
      {"median",
       "the model plus the coordinate-wise median of the updates (Yin et al. 2018); plain runs "
       "only",
       {Rate(1.0)},
       MakeRobust<RobustAggregator::Rule::kMedian>},
      {"trimmed_mean",
       "the model plus the coordinate-wise trimmed mean of the updates (Yin et al. 2018); plain "
       "runs only",
       {Rate(1.0), kTrim},
       MakeRobust<RobustAggregator::Rule::kTrimmedMean>},
      {"krum",
       "the model plus the update closest to its neighbours (Blanchard et al. 2017); plain runs "
       "only",
       {kByzantine, kSelected, Rate(1.0)},
       MakeRobust<RobustAggregator::Rule::kKrum>,
       KrumEnough},
  };
  return catalog;
}

StatusOr<const Entry*> Find(const std::string& name) {
  std::string known;
  for (const Entry& entry : Catalog()) {
    if (name == entry.name) return &entry;
    known += (known.empty() ? "" : ", ") + std::string(entry.name);
  }
  return InvalidArgumentError("unknown strategy '" + name + "' (known: " + known + ")");
}

std::string RangeText(Range range) {
  switch (range) {
    case Range::kPositive:
      return "(0, inf)";
    case Range::kFraction:
      return "[0, 1)";
    case Range::kUnderHalf:
      return "[0, 0.5)";
    case Range::kCount:
      return "an integer in [0, 100000]";
    case Range::kPositiveCount:
      return "an integer in [1, 100000]";
  }
  return "?";
}

bool InRange(Range range, double value) {  // every comparison is false for NaN
  switch (range) {
    case Range::kPositive:
      return std::isfinite(value) && value > 0;
    case Range::kFraction:
      return value >= 0 && value < 1;
    case Range::kUnderHalf:
      return value >= 0 && value < 0.5;
    case Range::kCount:
      return value >= 0 && value <= kMaxCount && value == std::floor(value);
    case Range::kPositiveCount:
      return value >= 1 && value <= kMaxCount && value == std::floor(value);
  }
  return false;
}

Status CheckKnown(const Entry& entry, const Values& given) {
  std::string taken;
  for (const OptionRule& rule : entry.options)
    taken += (taken.empty() ? "" : ", ") + std::string(rule.name);
  for (const auto& [key, value] : given) {
    bool known = false;
    for (const OptionRule& rule : entry.options) known = known || key == rule.name;
    if (!known) {
      std::string message = "strategy '";
      message += entry.name;
      message += "' has no option '";
      message += key;
      message += "' (its options: ";
      message += taken;
      message += ")";
      return InvalidArgumentError(message);
    }
  }
  return Status::Ok();
}

// Every option of `entry`, given or defaulted, checked against its range.
StatusOr<Values> Resolve(const Entry& entry, const Values& given) {
  CARTABLE_RETURN_IF_ERROR(CheckKnown(entry, given));
  Values values;
  for (const OptionRule& rule : entry.options) {
    const auto it = given.find(rule.name);
    const double value = it == given.end() ? rule.fallback : it->second;
    if (!InRange(rule.range, value)) {
      return InvalidArgumentError("strategy '" + std::string(entry.name) + "': option " +
                                  rule.name + " = " + internal::NumberText(value) +
                                  " is out of range; allowed: " + RangeText(rule.range));
    }
    values[rule.name] = value;
  }
  return values;
}

}  // namespace

StatusOr<std::unique_ptr<Strategy>> CreateStrategy(const StrategyParameters& parameters) {
  CARTABLE_ASSIGN_OR_RETURN(const Entry* entry, Find(parameters.name));
  CARTABLE_ASSIGN_OR_RETURN(Values values, Resolve(*entry, parameters.options));
  return entry->make(values);
}

StatusOr<std::unique_ptr<Strategy>> CreateStrategy(const std::string& name) {
  return CreateStrategy(StrategyParameters{name, {}});
}

std::vector<std::pair<std::string, std::string>> KnownStrategies() {
  std::vector<std::pair<std::string, std::string>> known;
  for (const Entry& entry : Catalog()) known.emplace_back(entry.name, entry.description);
  return known;
}

StatusOr<std::vector<StrategyOption>> StrategyOptionsOf(const std::string& strategy_name) {
  CARTABLE_ASSIGN_OR_RETURN(const Entry* entry, Find(strategy_name));
  std::vector<StrategyOption> options;
  for (const OptionRule& rule : entry->options) {
    options.push_back({rule.name, rule.fallback, RangeText(rule.range), rule.meaning});
  }
  return options;
}

StatusOr<double> ProximalMuOf(const StrategyParameters& parameters) {
  CARTABLE_ASSIGN_OR_RETURN(const Entry* entry, Find(parameters.name));
  CARTABLE_ASSIGN_OR_RETURN(Values values, Resolve(*entry, parameters.options));
  const auto mu = values.find(kProximalMu.name);
  return mu == values.end() ? 0.0 : mu->second;
}

Status CheckUpdateCount(const StrategyParameters& parameters, size_t updates) {
  CARTABLE_ASSIGN_OR_RETURN(const Entry* entry, Find(parameters.name));
  CARTABLE_ASSIGN_OR_RETURN(Values values, Resolve(*entry, parameters.options));
  if (entry->enough == nullptr) return Status::Ok();
  return entry->enough(values, updates);
}

StatusOr<std::vector<float>> Strategy::NextModelFromUpdates(
    std::span<const float> /*global*/, std::span<const Eigen::VectorXd> /*updates*/) {
  return FailedPreconditionError("strategy '" + name() +
                                 "' decides from the sum of the updates, not from each one");
}

bool NeedsIndividualUpdates(const std::string& strategy_name) {
  static const std::set<std::string> kRobust = {"median", "trimmed_mean", "krum"};
  return kRobust.contains(strategy_name);
}

}  // namespace cartable::aggregation
