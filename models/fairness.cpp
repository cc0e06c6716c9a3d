#include "models/fairness.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "core/check.h"

namespace cartable::models {

size_t SubgroupCount(std::span<const Attribute> attributes) {
  size_t n = 0;
  for (const Attribute& a : attributes) n += a.values.size();
  return n;
}

Status CheckAttributes(std::span<const Attribute> attributes) {
  std::set<std::string> names;
  for (const Attribute& a : attributes) {
    if (a.name.empty() || a.name.size() > kMaxAttributeText) {
      return InvalidArgumentError("an attribute name must have 1 to " +
                                  std::to_string(kMaxAttributeText) + " bytes");
    }
    if (!names.insert(a.name).second) {
      return InvalidArgumentError("attribute '" + a.name + "' is listed twice");
    }
    if (a.values.empty()) return InvalidArgumentError("attribute '" + a.name + "' has no values");
    std::set<std::string> values;
    for (const std::string& v : a.values) {
      if (v.empty() || v.size() > kMaxAttributeText) {
        return InvalidArgumentError("a value of attribute '" + a.name + "' must have 1 to " +
                                    std::to_string(kMaxAttributeText) + " bytes");
      }
      if (!values.insert(v).second) {
        return InvalidArgumentError("attribute '" + a.name + "' lists value '" + v + "' twice");
      }
    }
  }
  if (SubgroupCount(attributes) > kMaxSubgroups) {
    return InvalidArgumentError(std::to_string(SubgroupCount(attributes)) +
                                " subgroups; an evaluation reports at most " +
                                std::to_string(kMaxSubgroups));
  }
  return Status::Ok();
}

namespace {

// The pupil of each example, as `input` reads the log.
std::vector<uint32_t> ExamplePupils(const InteractionLog& log, ModelInput input) {
  if (input == ModelInput::kPupilRecords) return log.records.pupil;
  std::vector<uint32_t> pupils;
  pupils.reserve(log.size());
  for (const Interaction& x : log.interactions) pupils.push_back(x.pupil);
  return pupils;
}

StatusOr<GroupStatistics> StatisticsOf(std::span<const float> scores,
                                       std::span<const uint8_t> labels,
                                       std::span<const uint32_t> pupils, int bins) {
  GroupStatistics g{SummableMetrics::Empty(bins), 0};
  if (scores.empty()) return g;  // a subgroup none of these pupils is in
  CARTABLE_ASSIGN_OR_RETURN(g.metrics, SummableMetrics::Of(scores, labels, bins));
  g.pupils = std::set<uint32_t>(pupils.begin(), pupils.end()).size();
  return g;
}

// Answers flagged (score ≥ 0.5, i.e. bins from the middle up) among label-1 answers and among all.
struct Flags {
  uint64_t positives = 0, flagged_positives = 0, flagged = 0;
};
Flags FlagsOf(const SummableMetrics& m) {
  Flags f;
  const size_t bins = m.positive_histogram.size();
  for (size_t b = 0; b < bins; ++b) {
    f.positives += m.positive_histogram[b];
    if (b >= bins / 2) {
      f.flagged_positives += m.positive_histogram[b];
      f.flagged += m.positive_histogram[b] + m.negative_histogram[b];
    }
  }
  return f;
}

template <typename T>
std::optional<double> ValueOf(const StatusOr<T>& v) {
  return v.ok() ? std::optional<double>(*v) : std::nullopt;
}

FairnessRow RowOf(const Attribute& attribute, const std::string& value, const GroupStatistics& g) {
  FairnessRow row{attribute.name, value};
  row.pupils = g.pupils;
  row.answers = g.metrics.count;
  row.auc = ValueOf(g.metrics.Auc());
  row.auc_bound = ValueOf(g.metrics.AucBinningBound());
  row.calibration_error = ValueOf(g.metrics.CalibrationError());
  const Flags f = FlagsOf(g.metrics);
  if (f.positives > 0) row.true_positive_rate = double(f.flagged_positives) / double(f.positives);
  if (g.metrics.count > 0) row.flag_rate = double(f.flagged) / double(g.metrics.count);
  return row;
}

std::optional<double> Spread(const std::vector<FairnessRow>& rows,
                             std::optional<double> FairnessRow::*rate) {
  std::vector<double> seen;
  for (const FairnessRow& r : rows) {
    if (!r.suppressed && (r.*rate).has_value()) seen.push_back(*(r.*rate));
  }
  if (seen.size() < 2) return std::nullopt;
  const auto [low, high] = std::minmax_element(seen.begin(), seen.end());
  return *high - *low;
}

}  // namespace

StatusOr<EvaluationStatistics> EvaluationStatistics::Of(std::span<const float> scores,
                                                        const InteractionLog& log, ModelInput input,
                                                        std::span<const Attribute> attributes,
                                                        const PupilAttributes& known, int bins) {
  const std::vector<uint8_t> labels = Labels(log, input);
  const std::vector<uint32_t> pupils = ExamplePupils(log, input);
  if (scores.size() != labels.size()) {
    return InvalidArgumentError(std::to_string(scores.size()) + " scores for " +
                                std::to_string(labels.size()) + " examples");
  }
  if (scores.empty()) return InvalidArgumentError("no example to evaluate");
  EvaluationStatistics s;
  CARTABLE_ASSIGN_OR_RETURN(s.all, StatisticsOf(scores, labels, pupils, bins));
  for (const Attribute& attribute : attributes) {
    const auto values = known.find(attribute.name);
    for (const std::string& value : attribute.values) {
      std::vector<float> group_scores;
      std::vector<uint8_t> group_labels;
      std::vector<uint32_t> group_pupils;
      if (values != known.end()) {
        for (size_t i = 0; i < scores.size(); ++i) {
          const auto it = values->second.find(log.pupil_keys[pupils[i]]);
          if (it == values->second.end() || it->second != value) continue;
          group_scores.push_back(scores[i]);
          group_labels.push_back(labels[i]);
          group_pupils.push_back(pupils[i]);
        }
      }
      CARTABLE_ASSIGN_OR_RETURN(GroupStatistics g,
                                StatisticsOf(group_scores, group_labels, group_pupils, bins));
      s.subgroups.push_back(std::move(g));
    }
  }
  return s;
}

FairnessTable BuildFairnessTable(std::span<const Attribute> attributes,
                                 const EvaluationStatistics& statistics,
                                 uint64_t min_group_pupils) {
  CARTABLE_CHECK(statistics.subgroups.size() == SubgroupCount(attributes));
  FairnessTable table;
  table.min_group_pupils = min_group_pupils;
  size_t next = 0;
  for (const Attribute& attribute : attributes) {
    std::vector<FairnessRow> rows;
    std::vector<uint64_t> pupils;
    for (const std::string& value : attribute.values) {
      const GroupStatistics& g = statistics.subgroups[next++];
      rows.push_back(RowOf(attribute, value, g));
      rows.back().suppressed = g.pupils < min_group_pupils;
      pupils.push_back(g.pupils);
    }
    // Complementary suppression: the pupils in no shown subgroup are all minus the shown ones.
    while (true) {
      uint64_t shown = 0;
      for (size_t i = 0; i < rows.size(); ++i) shown += rows[i].suppressed ? 0 : pupils[i];
      const uint64_t rest = statistics.all.pupils - std::min(shown, statistics.all.pupils);
      if (rest == 0 || rest >= min_group_pupils) break;
      size_t smallest = rows.size();
      for (size_t i = 0; i < rows.size(); ++i) {
        if (!rows[i].suppressed && (smallest == rows.size() || pupils[i] < pupils[smallest]))
          smallest = i;
      }
      if (smallest == rows.size()) break;
      rows[smallest].suppressed = true;
    }
    for (FairnessRow& row : rows) {
      if (row.suppressed) row = FairnessRow{row.attribute, row.value, true};
    }
    table.gaps.push_back({attribute.name, Spread(rows, &FairnessRow::true_positive_rate),
                          Spread(rows, &FairnessRow::flag_rate)});
    for (FairnessRow& row : rows) table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace cartable::models
