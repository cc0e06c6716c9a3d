#pragma once

// What an establishment's answer log holds, for `cartable data check`: counts, label balance, and
// the things worth a look before training (pupils with too few answers to be held out usefully,
// skill ids that never occur). Reads the log only; writes nothing.

#include <string>
#include <vector>

#include "models/dataset.h"

namespace cartable::ingest {

struct DataSummary {
  size_t pupils = 0;
  size_t answers = 0;
  size_t skills_seen = 0;    // distinct skill ids present
  uint32_t skill_space = 0;  // max skill id + 1
  size_t items_seen = 0;     // distinct item ids present; 0 when the log has no item ids
  uint32_t item_space = 0;   // the log's num_items; 0 when it has no item ids
  double correct_rate = 0;   // share of answers that are right (label balance)
  size_t min_answers_per_pupil = 0, median_answers_per_pupil = 0, max_answers_per_pupil = 0;
  size_t records = 0;                       // pupil records (early-warning rows), 0 when none
  std::vector<std::string> record_columns;  // their feature columns, in order
  double outcome_rate = 0;                  // share of records with outcome 1 (outcome balance)
  std::vector<std::string> problems;        // one line each, for a person to read
};

DataSummary Summarize(const models::InteractionLog& log);

}  // namespace cartable::ingest
