#include "aggregation/strategies/robust.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "aggregation/strategies/fedavg.h"
#include "aggregation/strategies/internal/checks.h"

namespace cartable::aggregation {
namespace {

Status CheckUpdates(std::span<const Eigen::VectorXd> updates) {
  if (updates.empty()) {
    return FailedPreconditionError("no update to aggregate: the round has no contributor");
  }
  const Eigen::Index dimension = updates[0].size();
  for (size_t i = 0; i < updates.size(); ++i) {
    if (updates[i].size() != dimension) {
      return InvalidArgumentError("update " + std::to_string(i) + " has " +
                                  std::to_string(updates[i].size()) + " values, update 0 has " +
                                  std::to_string(dimension));
    }
    if (!updates[i].allFinite()) {
      return InvalidArgumentError("update " + std::to_string(i) +
                                  " holds a value that is not finite");
    }
  }
  return Status::Ok();
}

// Calls `reduce` on the n values of each coordinate in turn (in update order, reordered at will)
// and collects what it returns.
template <typename Reduce>
Eigen::VectorXd PerCoordinate(std::span<const Eigen::VectorXd> updates, Reduce reduce) {
  const Eigen::Index dimension = updates[0].size();
  Eigen::VectorXd result(dimension);
  std::vector<double> column(updates.size());
  for (Eigen::Index j = 0; j < dimension; ++j) {
    for (size_t i = 0; i < updates.size(); ++i) column[i] = updates[i][j];
    result[j] = reduce(column);
  }
  return result;
}

double Median(std::vector<double>& values) {
  const size_t n = values.size();
  const auto middle = values.begin() + static_cast<std::ptrdiff_t>(n / 2);
  std::nth_element(values.begin(), middle, values.end());
  if (n % 2 == 1) return *middle;
  // The lower middle value is the largest of those nth_element put before the upper one.
  const double lower = *std::max_element(values.begin(), middle);
  return (lower + *middle) / 2;
}

}  // namespace

StatusOr<Eigen::VectorXd> CoordinateMedian(std::span<const Eigen::VectorXd> updates) {
  CARTABLE_RETURN_IF_ERROR(CheckUpdates(updates));
  return PerCoordinate(updates, Median);
}

StatusOr<Eigen::VectorXd> TrimmedMean(std::span<const Eigen::VectorXd> updates,
                                      double trim_fraction) {
  if (!(trim_fraction >= 0 && trim_fraction < 0.5)) {
    return InvalidArgumentError("trim_fraction = " + internal::NumberText(trim_fraction) +
                                " is out of range; allowed: [0, 0.5)");
  }
  CARTABLE_RETURN_IF_ERROR(CheckUpdates(updates));
  const size_t n = updates.size();
  // β < 0.5 keeps 2k ≤ n − 1 even after the nudge, since β·n + 1e-9 < n/2 + 1e-9.
  const auto k = static_cast<size_t>(std::floor(trim_fraction * static_cast<double>(n) + 1e-9));
  const auto kept = static_cast<std::ptrdiff_t>(n - 2 * k);
  return PerCoordinate(updates, [&](std::vector<double>& values) {
    std::sort(values.begin(), values.end());
    const auto first = values.begin() + static_cast<std::ptrdiff_t>(k);
    return std::accumulate(first, first + kept, 0.0) / static_cast<double>(kept);
  });
}

Status CheckKrumCount(size_t updates, int byzantine, int selected) {
  CARTABLE_CHECK(byzantine >= 0 && selected >= 1) << byzantine << " " << selected;
  const size_t f = static_cast<size_t>(byzantine);
  const std::string n = std::to_string(updates);
  if (updates <= 2 * f + 2) {
    return FailedPreconditionError("Krum with byzantine f = " + std::to_string(f) +
                                   " needs n > 2f + 2 = " + std::to_string(2 * f + 2) +
                                   " updates, got n = " + n);
  }
  if (static_cast<size_t>(selected) > updates - f) {
    return FailedPreconditionError("Multi-Krum with selected m = " + std::to_string(selected) +
                                   " averages at most n − f = " + std::to_string(updates - f) +
                                   " of n = " + n + " updates (f = " + std::to_string(f) + ")");
  }
  return Status::Ok();
}

StatusOr<std::vector<double>> KrumScores(std::span<const Eigen::VectorXd> updates, int byzantine) {
  CARTABLE_RETURN_IF_ERROR(CheckUpdates(updates));
  CARTABLE_RETURN_IF_ERROR(CheckKrumCount(updates.size(), byzantine, 1));
  const size_t n = updates.size();
  std::vector<double> distances(n * n, 0.0);  // symmetric, each pair computed once
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      distances[i * n + j] = distances[j * n + i] = (updates[i] - updates[j]).squaredNorm();
    }
  }
  const size_t neighbours = n - static_cast<size_t>(byzantine) - 2;
  std::vector<double> scores(n);
  std::vector<double> others;
  for (size_t i = 0; i < n; ++i) {
    others.clear();
    for (size_t j = 0; j < n; ++j) {
      if (j != i) others.push_back(distances[i * n + j]);
    }
    std::sort(others.begin(), others.end());
    scores[i] = std::accumulate(others.begin(),
                                others.begin() + static_cast<std::ptrdiff_t>(neighbours), 0.0);
  }
  return scores;
}

StatusOr<Eigen::VectorXd> MultiKrum(std::span<const Eigen::VectorXd> updates, int byzantine,
                                    int selected) {
  CARTABLE_RETURN_IF_ERROR(CheckUpdates(updates));
  CARTABLE_RETURN_IF_ERROR(CheckKrumCount(updates.size(), byzantine, selected));
  CARTABLE_ASSIGN_OR_RETURN(std::vector<double> scores, KrumScores(updates, byzantine));
  std::vector<size_t> order(updates.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  order.resize(static_cast<size_t>(selected));
  std::sort(order.begin(), order.end());
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(updates[0].size());
  for (size_t i : order) mean += updates[i];
  return Eigen::VectorXd(mean / static_cast<double>(selected));
}

RobustAggregator::RobustAggregator(Rule rule, const RobustOptions& options)
    : rule_(rule), options_(options) {
  CARTABLE_CHECK(std::isfinite(options.server_learning_rate) && options.server_learning_rate > 0)
      << options.server_learning_rate;
  CARTABLE_CHECK(options.trim_fraction >= 0 && options.trim_fraction < 0.5)
      << options.trim_fraction;
  CARTABLE_CHECK(options.byzantine >= 0 && options.selected >= 1)
      << options.byzantine << " " << options.selected;
}

std::string RobustAggregator::name() const {
  switch (rule_) {
    case Rule::kMedian:
      return "median";
    case Rule::kTrimmedMean:
      return "trimmed_mean";
    case Rule::kKrum:
      return "krum";
  }
  return "robust";
}

StatusOr<std::vector<float>> RobustAggregator::NextModel(std::span<const float> /*global*/,
                                                         const UpdateSum& /*sum*/) {
  return FailedPreconditionError("strategy '" + name() +
                                 "' needs each node's own update, and was given only their sum");
}

StatusOr<Eigen::VectorXd> RobustAggregator::Aggregate(
    std::span<const Eigen::VectorXd> updates) const {
  switch (rule_) {
    case Rule::kMedian:
      return CoordinateMedian(updates);
    case Rule::kTrimmedMean:
      return TrimmedMean(updates, options_.trim_fraction);
    case Rule::kKrum:
      return MultiKrum(updates, options_.byzantine, options_.selected);
  }
  return InternalError("unknown robust rule");
}

StatusOr<std::vector<float>> RobustAggregator::NextModelFromUpdates(
    std::span<const float> global, std::span<const Eigen::VectorXd> updates) {
  for (size_t i = 0; i < updates.size(); ++i) {
    if (updates[i].size() != static_cast<Eigen::Index>(global.size())) {
      return InvalidArgumentError("update " + std::to_string(i) + " has " +
                                  std::to_string(updates[i].size()) + " values, the model has " +
                                  std::to_string(global.size()));
    }
  }
  CARTABLE_ASSIGN_OR_RETURN(Eigen::VectorXd delta, Aggregate(updates));
  return AddStep(global, options_.server_learning_rate * delta);
}

Status RobustAggregator::RestoreState(std::span<const double> state, size_t model_size) {
  return internal::CheckStateSize(name(), state.size(), model_size, /*blocks=*/0);
}

}  // namespace cartable::aggregation
