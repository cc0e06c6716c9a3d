#pragma once

// Reads the Open University Learning Analytics Dataset (OULAD; Kuzilek, Hlosta & Zdrahal,
// Scientific Data 4, 170171, 2017) into pupil records for early-warning models: one record per
// registration (a student in one module presentation), outcome 1 when the registration ended
// Withdrawn or Fail, 0 for Pass or Distinction. A directory holds studentInfo.csv,
// studentAssessment.csv, assessments.csv and courses.csv, with their header lines (columns in any
// order, extra columns ignored, fields may be quoted).
//
// Only what is known on the cut-off day (default: day 60 of the presentation) enters the features:
// registration data, and assessments whose due date is on or before the cut-off with the
// submissions made by then (banked results count as on time). The columns, fixed so every node
// produces the same, are OuladFeatureNames(); docs/data-formats.md gives each one's scale.
// Registrations that were withdrawn before the cut-off cannot be told apart
// (studentRegistration.csv is not read) and stay in: they look like registrations that missed every
// assessment so far, which flatters the figures (see the docs).
//
// A student's registrations are rows of one pupil. The pupil key is the Pseudonymizer's pseudonym
// of id_student; without one, "s1", "s2", ... in order of first appearance in studentInfo.csv. A
// raw id_student never reaches the log. Every error names the file, the line and the field.

#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"
#include "ingest/pseudonymizer.h"
#include "models/dataset.h"

namespace cartable::ingest {

struct OuladOptions {
  int cutoff_day = 60;  // days since the presentation started; in [0, 1000]
};

// The feature columns, in order.
const std::vector<std::string>& OuladFeatureNames();

StatusOr<models::InteractionLog> LoadOulad(const std::filesystem::path& dir,
                                           const OuladOptions& options,
                                           const Pseudonymizer* pseudonymizer = nullptr);

// `location` is "DIR" or "DIR?cutoff=DAYS", the PATH part of "oulad:PATH" for LoadData.
StatusOr<models::InteractionLog> LoadOuladLocation(const std::string& location,
                                                   const Pseudonymizer* pseudonymizer = nullptr);

}  // namespace cartable::ingest
