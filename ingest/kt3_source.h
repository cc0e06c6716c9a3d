#pragma once

// Reads answer logs in the three-line format of the DKT and DKVMN papers ("kt3"), per sequence:
//   line 1  the number of answers, optionally followed by a pupil id: "4" or "4,pupil-17"
//   line 2  the skill ids, comma separated: "3,3,7,1"
//   line 3  the answers, 0 or 1, comma separated: "1,0,1,1"
// Counts must agree. A trailing comma on any line is tolerated, as are blank lines before a
// sequence and at the end of the file. Either every sequence names its pupil or none does: without
// ids, sequence N (from 1) belongs to pupil "seq-N". Sequences naming the same pupil are joined in
// file order. Skill ids are integers in [0, 2^20); num_skills is the largest + 1. No item ids.
// Every error names the file, the line and the field (docs/data-formats.md).

#include <filesystem>

#include "core/status.h"
#include "ingest/pseudonymizer.h"
#include "models/dataset.h"

namespace cartable::ingest {

// With a pseudonymizer, pupil ids (and the "seq-N" keys) become pseudonyms as they are read: the
// log never holds a raw id.
StatusOr<models::InteractionLog> LoadKt3(const std::filesystem::path& path,
                                         const Pseudonymizer* pseudonymizer = nullptr);

}  // namespace cartable::ingest
