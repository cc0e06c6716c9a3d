#include "models/fairness.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <unordered_map>

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
    auto printable = [](const std::string& text) {
      return std::all_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x20 && u != 0x7f;
      });
    };
    if (!printable(a.name) || !std::all_of(a.values.begin(), a.values.end(), printable)) {
      return InvalidArgumentError(
          "attribute names and values are printable text, no control "
          "character");
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
    // Each pupil's subgroup of this attribute, looked up once (none: −1), then one pass over the
    // examples.
    const size_t n = attribute.values.size();
    std::vector<int> subgroup_of(log.num_pupils(), -1);
    if (const auto values = known.find(attribute.name); values != known.end()) {
      std::unordered_map<std::string, int> index;
      for (size_t v = 0; v < n; ++v) index.emplace(attribute.values[v], static_cast<int>(v));
      for (size_t p = 0; p < log.num_pupils(); ++p) {
        const auto value = values->second.find(log.pupil_keys[p]);
        if (value == values->second.end()) continue;
        if (const auto it = index.find(value->second); it != index.end())
          subgroup_of[p] = it->second;
      }
    }
    std::vector<std::vector<float>> group_scores(n);
    std::vector<std::vector<uint8_t>> group_labels(n);
    std::vector<std::vector<uint32_t>> group_pupils(n);
    for (size_t i = 0; i < scores.size(); ++i) {
      const int g = pupils[i] < subgroup_of.size() ? subgroup_of[pupils[i]] : -1;
      if (g < 0) continue;
      group_scores[static_cast<size_t>(g)].push_back(scores[i]);
      group_labels[static_cast<size_t>(g)].push_back(labels[i]);
      group_pupils[static_cast<size_t>(g)].push_back(pupils[i]);
    }
    for (size_t v = 0; v < n; ++v) {
      CARTABLE_ASSIGN_OR_RETURN(
          GroupStatistics g, StatisticsOf(group_scores[v], group_labels[v], group_pupils[v], bins));
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
    // Complementary suppression. The pupils in no shown subgroup are all minus the shown ones, and
    // the suppressed subgroups' pupils together can be had by subtraction too (through another
    // attribute whose subgroups cover the same pupils): each of the two must be none or at least
    // k, else the smallest shown subgroup is hidden as well.
    while (true) {
      uint64_t shown = 0, hidden = 0;
      for (size_t i = 0; i < rows.size(); ++i) (rows[i].suppressed ? hidden : shown) += pupils[i];
      const uint64_t rest = statistics.all.pupils - std::min(shown, statistics.all.pupils);
      auto safe = [min_group_pupils](uint64_t n) { return n == 0 || n >= min_group_pupils; };
      if (safe(rest) && safe(hidden)) break;
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
