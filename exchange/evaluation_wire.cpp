#include "exchange/evaluation_wire.h"

#include <string>
#include <utility>

namespace cartable::exchange {

std::vector<protocol::WireAttribute> ToWire(const std::vector<models::Attribute>& attributes) {
  std::vector<protocol::WireAttribute> wire;
  wire.reserve(attributes.size());
  for (const models::Attribute& a : attributes) wire.push_back({a.name, a.values});
  return wire;
}

std::vector<models::Attribute> AttributesOf(const std::vector<protocol::WireAttribute>& groups) {
  std::vector<models::Attribute> attributes;
  attributes.reserve(groups.size());
  for (const protocol::WireAttribute& g : groups) attributes.push_back({g.name, g.values});
  return attributes;
}

namespace {

protocol::WireGroupStatistics GroupToWire(models::GroupStatistics g) {
  models::SummableMetrics& m = g.metrics;
  return {std::move(m.positive_histogram),
          std::move(m.negative_histogram),
          m.log_loss_sum,
          m.correct,
          m.count,
          m.squared_error_sum,
          g.pupils};
}

StatusOr<models::GroupStatistics> GroupOf(const protocol::WireGroupStatistics& w) {
  models::GroupStatistics g{{w.positive_histogram, w.negative_histogram, w.log_loss_sum, w.correct,
                             w.count, w.squared_error_sum},
                            w.pupils};
  CARTABLE_RETURN_IF_ERROR(g.metrics.Check());
  if (g.pupils > g.metrics.count || (g.metrics.count > 0 && g.pupils == 0)) {
    return InvalidArgumentError(std::to_string(g.pupils) + " pupils for " +
                                std::to_string(g.metrics.count) + " answers");
  }
  return g;
}

}  // namespace

protocol::EvaluateResult ToWire(models::EvaluationStatistics statistics) {
  protocol::EvaluateResult result{GroupToWire(std::move(statistics.all)), {}};
  result.groups.reserve(statistics.subgroups.size());
  for (models::GroupStatistics& g : statistics.subgroups)
    result.groups.push_back(GroupToWire(std::move(g)));
  return result;
}

StatusOr<models::EvaluationStatistics> StatisticsOf(const protocol::EvaluateResult& r,
                                                    std::span<const models::Attribute> attributes) {
  const size_t subgroups = models::SubgroupCount(attributes);
  if (r.groups.size() != subgroups) {
    return InvalidArgumentError("statistics of " + std::to_string(r.groups.size()) +
                                " subgroups, not the " + std::to_string(subgroups) + " asked for");
  }
  models::EvaluationStatistics s;
  CARTABLE_ASSIGN_OR_RETURN(s.all, GroupOf(r.all));
  const size_t bins = s.all.metrics.positive_histogram.size();
  size_t next = 0;
  for (const models::Attribute& attribute : attributes) {
    uint64_t answers = 0, pupils = 0;
    for (size_t v = 0; v < attribute.values.size(); ++v) {
      CARTABLE_ASSIGN_OR_RETURN(models::GroupStatistics g, GroupOf(r.groups[next++]));
      if (g.metrics.positive_histogram.size() != bins) {
        return InvalidArgumentError("a subgroup's statistics have another number of bins");
      }
      answers += g.metrics.count;
      pupils += g.pupils;
      s.subgroups.push_back(std::move(g));
    }
    if (answers > s.all.metrics.count || pupils > s.all.pupils) {
      return InvalidArgumentError("the subgroups of '" + attribute.name +
                                  "' do not fit within all of the statistics");
    }
  }
  return s;
}

}  // namespace cartable::exchange
