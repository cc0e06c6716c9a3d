#pragma once

// Reads answer logs in the long CSV format — a header line, then one answer per line:
//   pupil_id,timestamp,skill_id,item_id,correct
// `timestamp` and `item_id` are optional columns (the header says which are present, in any order).
// skill_id is a non-negative integer, correct is 0 or 1, timestamp an integer or decimal number.
// item_id is any non-empty text; items are numbered densely in order of first appearance in the
// file (so the numbering is local to the file), filling Interaction::item and num_items. Answers
// are grouped by pupil (in order of first appearance) and sorted by timestamp within a pupil (file
// order when there is no timestamp). Columns `group` and `school` are pupil attributes
// (ingest/pupil_attributes.h), which this reader skips; any other column is an error. Every error
// names the file, the line and the field.

#include <filesystem>
#include <string_view>

#include "core/status.h"
#include "ingest/pseudonymizer.h"
#include "models/dataset.h"

namespace cartable::ingest {

// Whether `column` is one of the pupil attributes a long CSV file may carry (group, school).
bool IsCsvAttributeColumn(std::string_view column);

// With a pseudonymizer, pupil ids become pseudonyms as they are read: the log never holds a raw id.
StatusOr<models::InteractionLog> LoadLongCsv(const std::filesystem::path& path,
                                             const Pseudonymizer* pseudonymizer = nullptr);

// Writes `log`'s answers in this format, pupil by pupil as the log holds them: pupil_id (the log's
// pupil key, so pseudonyms stay pseudonyms), timestamp (each pupil's answers numbered in order),
// skill_id and correct; items are left out. Read back, it gives the same answers in the same order.
// Refuses a pupil key that is empty or holds a comma, a quote or a line break (the format has no
// quoting), naming it; the file is written whole or not at all.
Status WriteLongCsv(const models::InteractionLog& log, const std::filesystem::path& path);

}  // namespace cartable::ingest
