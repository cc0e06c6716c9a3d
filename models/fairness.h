#pragma once

// Fairness by subgroup: does a model serve every group of pupils equally well? Pupils carry
// attributes (gender, age band, disability, deprivation band, …); each value of an attribute is a
// subgroup. An evaluation sums, beside the statistics of all held-out answers, the same statistics
// for each subgroup's answers and the number of pupils behind each (EvaluationStatistics, summable
// like SummableMetrics, so securely). From the federation's sum, FairnessTable gives each
// subgroup's AUC, calibration error, true-positive rate and rate of flags (predictions ≥ 0.5), and
// per attribute the gap in true-positive rate between its subgroups (equal opportunity) and in the
// rate of flags (demographic parity).
//
// Small groups are suppressed: a subgroup with fewer than k pupils shows no figure at all; and
// since the statistics of all pupils are published too, the pupils of an attribute in no shown
// subgroup (the suppressed ones, and those whose value is in none) are "all minus the shown ones":
// while they number between 1 and k − 1, the smallest shown subgroup is suppressed as well
// (complementary suppression). What this does and does not protect: docs/evaluation.md. Pure
// functions.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "models/dataset.h"
#include "models/metrics.h"
#include "models/model.h"

namespace cartable::models {

// An attribute and the values it reports subgroups for; a pupil whose value is not listed counts
// in no subgroup of it.
struct Attribute {
  std::string name;
  std::vector<std::string> values;
};

// Subgroups one evaluation reports at most (every subgroup adds a block of statistics as large as
// the whole evaluation's).
inline constexpr size_t kMaxSubgroups = 64;
inline constexpr size_t kMaxAttributeText = 64;  // bytes in an attribute's name or value
inline constexpr uint64_t kDefaultMinGroupPupils = 10;

// Ok, or the first problem: an empty or repeated name or value, text over kMaxAttributeText bytes,
// an attribute without values, more than kMaxSubgroups subgroups in all.
Status CheckAttributes(std::span<const Attribute> attributes);
size_t SubgroupCount(std::span<const Attribute> attributes);

// For each attribute a node knows, each of its pupils' value, by pseudonymous key.
using PupilAttributes = std::map<std::string, std::unordered_map<std::string, std::string>>;

// Statistics of some answers and the number of distinct pupils who gave them.
struct GroupStatistics {
  SummableMetrics metrics;
  uint64_t pupils = 0;
};

struct EvaluationStatistics {
  GroupStatistics all;
  // One per subgroup, attribute by attribute and value by value, as in the Attribute list.
  std::vector<GroupStatistics> subgroups;

  // The statistics of `scores` (one per example of `log` as `input` reads it, labelled by Labels),
  // with each subgroup's answers found through the pupil's key in `known` (an attribute `known`
  // lacks puts nobody in its subgroups).
  static StatusOr<EvaluationStatistics> Of(std::span<const float> scores, const InteractionLog& log,
                                           ModelInput input, std::span<const Attribute> attributes,
                                           const PupilAttributes& known,
                                           int bins = kDefaultHistogramBins);
};

struct FairnessRow {
  std::string attribute, value;
  bool suppressed = false;  // fewer than k pupils, or suppressed to protect one that is
  // The rest is set only when not suppressed.
  uint64_t pupils = 0, answers = 0;
  std::optional<double> auc, auc_bound, calibration_error;
  std::optional<double> true_positive_rate;  // of label-1 answers, the share flagged
  std::optional<double> flag_rate;           // of all answers, the share flagged
};

struct FairnessGaps {
  std::string attribute;
  // Largest minus smallest over the attribute's shown subgroups; none below two shown subgroups
  // with a defined rate.
  std::optional<double> equal_opportunity;   // true-positive rates
  std::optional<double> demographic_parity;  // flag rates
};

struct FairnessTable {
  uint64_t min_group_pupils = kDefaultMinGroupPupils;
  std::vector<FairnessRow> rows;   // attribute by attribute, value by value
  std::vector<FairnessGaps> gaps;  // one per attribute
};

// The table of `statistics` (the sum for `attributes`) with subgroups under `min_group_pupils`
// pupils suppressed as described above. Statistics whose subgroup count is not the attributes'
// are a programmer error (checked).
FairnessTable BuildFairnessTable(std::span<const Attribute> attributes,
                                 const EvaluationStatistics& statistics, uint64_t min_group_pupils);

}  // namespace cartable::models
