#pragma once

// Reads pupil records (the rows early-warning models learn from) in the records CSV format — a
// header line, then one record per line:
//   pupil_id,outcome,FEATURE,FEATURE,...
// pupil_id is any non-empty text (a pupil may have several records, anywhere in the file; the log
// holds them together, pupils in order of first appearance), outcome is 0 or 1, and every
// other column is a feature, a finite number; the features are the header's columns in its order,
// which every node of a federation must share. Fields may be quoted as in RFC 4180. It is how a
// simulation hands each school's share of a records dataset to its node process, and a plain way
// for an establishment to export its own tabular records. Every error names the file, the line and
// the field.

#include <filesystem>

#include "core/status.h"
#include "ingest/pseudonymizer.h"
#include "models/dataset.h"

namespace cartable::ingest {

// With a pseudonymizer, pupil ids become pseudonyms as they are read: the log never holds a raw id.
StatusOr<models::InteractionLog> LoadRecordsCsv(const std::filesystem::path& path,
                                                const Pseudonymizer* pseudonymizer = nullptr);

// Writes `log`'s records in this format: pupil_id (the log's pupil key, so pseudonyms stay
// pseudonyms), outcome and the features, each the shortest text that reads back as the same float.
// Read back, it gives the same records in the same order. Refuses, naming it, what would not read
// back so (an invalid log, a key or a feature name that is empty, has a line break or spaces at an
// end, a repeated name, no or too many features). The file is written whole or not at all.
Status WriteRecordsCsv(const models::InteractionLog& log, const std::filesystem::path& path);

}  // namespace cartable::ingest
