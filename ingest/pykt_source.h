#pragma once

// Reads the sequence files written by pyKT's preprocessing (train_valid_sequences.csv,
// test_sequences.csv, test_window_sequences.csv): a header line, then one row per (chunk of a)
// pupil's sequence, e.g.
//   fold,uid,questions,concepts,responses,timestamps,selectmasks,is_repeat
//   0,u17,"4,9,9,-1","1,3,3,-1","1,0,1,-1","100,200,300,-1","1,1,1,-1","0,0,1,-1"
// Required columns: uid, concepts, responses. Optional: questions (item ids), timestamps,
// selectmasks, is_repeat, fold (ignored: every fold is loaded). Other columns (usetimes, qidxs,
// ...) are ignored. Fields follow RFC 4180 quoting within one line; lists are comma separated and
// as long as `concepts`. Entry i is skipped when its response is -1 (padding) or its selectmask is
// not 1 (-1: padding; 0: history repeated by a sliding window); every kept entry is an answer.
// Concepts are integers in [0, 2^20), questions integers in [0, 2^22) kept as pyKT numbered them;
// num_skills and num_items are the largest
// + 1. Rows of one uid are joined in file order, then ordered by timestamp when the column is
// present. Every error names the file, the line and the field (docs/data-formats.md).

#include <filesystem>

#include "core/status.h"
#include "ingest/pseudonymizer.h"
#include "models/dataset.h"

namespace cartable::ingest {

// With a pseudonymizer, uids become pseudonyms as they are read: the log never holds a raw id.
StatusOr<models::InteractionLog> LoadPykt(const std::filesystem::path& path,
                                          const Pseudonymizer* pseudonymizer = nullptr);

}  // namespace cartable::ingest
