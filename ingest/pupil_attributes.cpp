#include "ingest/pupil_attributes.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "ingest/csv_source.h"
#include "ingest/internal/text_reader.h"
#include "ingest/xapi_source.h"

namespace cartable::ingest {
namespace {

const std::vector<std::string>& OuladAttributes() {
  static const std::vector<std::string> columns = {"code_module", "code_presentation", "gender",
                                                   "region",      "highest_education", "imd_band",
                                                   "age_band",    "disability"};
  return columns;
}

// Without the spaces around it, as the csv adapter reads its fields.
std::string Trimmed(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

std::string Listed(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Reads `id_column` and `column` of a CSV table; the first value seen for each pupil counts.
// Without a pseudonymizer, keys are "s1", "s2", ... in order of first appearance (as the oulad
// adapter numbers them) or the raw ids (as the csv adapter keeps them).
StatusOr<PupilAttribute> ReadColumn(const std::filesystem::path& path, const std::string& id_column,
                                    const std::string& column, const Pseudonymizer* pseudonymizer,
                                    bool numbered) {
  CARTABLE_ASSIGN_OR_RETURN(internal::CsvTable table,
                            internal::CsvTable::Open(path, {id_column, column}));
  PupilAttribute values;
  std::unordered_map<std::string, std::string> key_of;  // raw id → key, when numbered
  while (true) {
    CARTABLE_ASSIGN_OR_RETURN(bool more, table.Next());
    if (!more) break;
    const std::string id = Trimmed(table.Get(id_column));
    std::string key;
    if (pseudonymizer) {
      key = pseudonymizer->Pseudonym(id);
    } else if (numbered) {
      auto [it, inserted] = key_of.try_emplace(id, "s" + std::to_string(key_of.size() + 1));
      key = it->second;
    } else {
      key = id;
    }
    const std::string value = Trimmed(table.Get(column));
    values.try_emplace(std::move(key), value.empty() ? "unknown" : value);
  }
  return values;
}

}  // namespace

StatusOr<PupilAttribute> LoadPupilAttribute(const std::string& spec, const std::string& column,
                                            const Pseudonymizer* pseudonymizer) {
  const size_t colon = spec.find(':');
  const std::string format = colon == std::string::npos ? "" : spec.substr(0, colon);
  std::string path = colon == std::string::npos ? spec : spec.substr(colon + 1);
  if (format == "oulad") {
    path = path.substr(0, path.find('?'));
    const auto& known = OuladAttributes();
    if (std::find(known.begin(), known.end(), column) == known.end()) {
      return InvalidArgumentError("oulad has no pupil attribute '" + column +
                                  "' (known: " + Listed(known) + ")");
    }
    auto values = ReadColumn(std::filesystem::path(path) / "studentInfo.csv", "id_student", column,
                             pseudonymizer, /*numbered=*/true);
    if (!values.ok()) return values.status().WithContext(spec);
    return values;
  }
  if (format == "csv") {
    if (!IsCsvAttributeColumn(column)) {
      return InvalidArgumentError("'" + column + "' is not a pupil attribute of the csv format " +
                                  "(known: group, school)");
    }
    auto values = ReadColumn(path, "pupil_id", column, pseudonymizer, /*numbered=*/false);
    if (!values.ok()) return values.status().WithContext(spec);
    return values;
  }
  if (format == "xapi") {
    auto values = LoadXapiAttribute(path, column, pseudonymizer);
    if (!values.ok()) return values.status().WithContext(spec);
    return values;
  }
  return InvalidArgumentError("'" + spec + "' carries no pupil attribute: only csv and xapi " +
                              "(group, school) and oulad (" + Listed(OuladAttributes()) + ") do");
}

}  // namespace cartable::ingest
