#pragma once

// LoadPupilAttribute: one attribute of each pupil (a region, a module, a gender, a school column),
// read beside the answers or records, for splitting a dataset into virtual schools by it and for
// fairness by subgroup. Formats that carry attributes:
//   oulad  the columns of studentInfo.csv: code_module, code_presentation, gender, region,
//          highest_education, imd_band, age_band, disability (a student registered several times
//          takes the value of its first registration in the file)
//   csv    the columns group and school of the answer log (a pupil takes the value of its first
//          row)
//   xapi   group and school, from context.extensions keys ending in those words (a group from
//          context.team.name too; a pupil takes the value of its first statement carrying one)
// Keys are the same pseudonyms LoadData gives with the same pseudonymizer; an empty field is the
// value "unknown". An unknown column, or a format without attributes, is an InvalidArgument naming
// what there is.

#include <string>
#include <unordered_map>

#include "core/status.h"
#include "ingest/pseudonymizer.h"

namespace cartable::ingest {

// Pupil key → the pupil's value of `column`.
using PupilAttribute = std::unordered_map<std::string, std::string>;

StatusOr<PupilAttribute> LoadPupilAttribute(const std::string& spec, const std::string& column,
                                            const Pseudonymizer* pseudonymizer = nullptr);

}  // namespace cartable::ingest
