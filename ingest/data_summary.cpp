#include "ingest/data_summary.h"

#include <algorithm>

namespace cartable::ingest {

DataSummary Summarize(const models::InteractionLog& log) {
  DataSummary s;
  s.pupils = log.num_pupils();
  s.answers = log.size();
  s.skill_space = log.num_skills;
  s.item_space = log.num_items;
  std::vector<size_t> per_pupil(log.num_pupils(), 0);
  std::vector<bool> seen(log.num_skills, false);
  std::vector<bool> item_seen(log.num_items, false);
  size_t correct = 0;
  for (const models::Interaction& x : log.interactions) {
    per_pupil[x.pupil] += 1;
    if (x.skill < seen.size()) seen[x.skill] = true;
    if (x.item < item_seen.size()) item_seen[x.item] = true;
    correct += x.correct;
  }
  s.skills_seen = static_cast<size_t>(std::count(seen.begin(), seen.end(), true));
  s.items_seen = static_cast<size_t>(std::count(item_seen.begin(), item_seen.end(), true));
  s.correct_rate = s.answers ? static_cast<double>(correct) / static_cast<double>(s.answers) : 0;
  if (!per_pupil.empty()) {
    std::vector<size_t> sorted = per_pupil;
    std::sort(sorted.begin(), sorted.end());
    s.min_answers_per_pupil = sorted.front();
    s.median_answers_per_pupil = sorted[sorted.size() / 2];
    s.max_answers_per_pupil = sorted.back();
  }
  const size_t single =
      static_cast<size_t>(std::count(per_pupil.begin(), per_pupil.end(), size_t{1}));
  if (single > 0) {
    s.problems.push_back(std::to_string(single) +
                         " pupil(s) have a single answer: nothing to learn from " +
                         "their history");
  }
  if (s.skills_seen < s.skill_space) {
    s.problems.push_back(std::to_string(s.skill_space - s.skills_seen) + " skill id(s) below " +
                         std::to_string(s.skill_space) +
                         " never occur: is the skill numbering dense?");
  }
  if (s.answers > 0 && (s.correct_rate < 0.05 || s.correct_rate > 0.95)) {
    s.problems.push_back("answers are almost all " +
                         std::string(s.correct_rate > 0.5 ? "right" : "wrong") +
                         ": metrics such as AUC will be unstable");
  }
  s.records = log.records.size();
  s.record_columns = log.records.feature_names;
  if (s.records > 0) {
    size_t positive = 0;
    for (uint8_t outcome : log.records.outcome) positive += outcome;
    s.outcome_rate = static_cast<double>(positive) / static_cast<double>(s.records);
    if (s.outcome_rate < 0.05 || s.outcome_rate > 0.95) {
      s.problems.push_back("record outcomes are almost all " +
                           std::string(s.outcome_rate > 0.5 ? "1" : "0") +
                           ": metrics such as AUC will be unstable");
    }
  }
  if (s.pupils < 10) {
    s.problems.push_back("fewer than 10 pupils: a held-out split will be too small to evaluate");
  }
  return s;
}

}  // namespace cartable::ingest
