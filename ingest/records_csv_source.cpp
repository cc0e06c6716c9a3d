#include "ingest/records_csv_source.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/files.h"
#include "ingest/internal/text_reader.h"

namespace cartable::ingest {
namespace {

// Most feature columns a file may declare: each becomes a weight of every node's model.
constexpr size_t kMaxFeatures = 4096;

// Whether the reader gives `text` back as it is: not empty, no line break, no space or tab at
// either end (fields are trimmed).
bool ReadsBack(std::string_view text) {
  return !text.empty() && text.find_first_of("\r\n") == std::string_view::npos &&
         internal::Trim(text) == text;
}

// A field as the format writes it: quoted when it holds a comma or a quote.
std::string Field(std::string_view text) {
  if (text.find_first_of(",\"") == std::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  return quoted + "\"";
}

}  // namespace

StatusOr<models::InteractionLog> LoadRecordsCsv(const std::filesystem::path& path,
                                                const Pseudonymizer* pseudonymizer) {
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot open " + path.string());
  internal::LineReader lines(in, path.string());
  std::optional<std::string_view> first = lines.Next();
  CARTABLE_RETURN_IF_ERROR(lines.status());
  if (!first) return InvalidArgumentError(path.string() + ":1: empty file, no header line");
  auto header = internal::SplitQuotedRecord(*first);
  if (!header.ok()) return header.status().WithContext(path.string() + ":1");
  if (header->size() < 3 || internal::Trim((*header)[0]) != "pupil_id" ||
      internal::Trim((*header)[1]) != "outcome") {
    return InvalidArgumentError(path.string() +
                                ":1: the header must be pupil_id,outcome and then at least one "
                                "feature column");
  }
  models::InteractionLog log;
  models::PupilRecords& records = log.records;
  if (header->size() - 2 > kMaxFeatures) {
    return InvalidArgumentError(path.string() + ":1: " + std::to_string(header->size() - 2) +
                                " feature columns, more than " + std::to_string(kMaxFeatures));
  }
  std::unordered_set<std::string> seen;
  for (size_t i = 2; i < header->size(); ++i) {
    const std::string name(internal::Trim((*header)[i]));
    if (name.empty()) {
      return InvalidArgumentError(path.string() + ":1: column " + std::to_string(i + 1) +
                                  " has no name");
    }
    if (!seen.insert(name).second) {
      return InvalidArgumentError(path.string() + ":1: column " + internal::Quote(name) +
                                  " appears twice");
    }
    records.feature_names.push_back(name);
  }
  std::unordered_map<std::string, uint32_t> index_of;
  // Each pupil's records, in file order: the log holds a pupil's records together.
  std::vector<std::vector<float>> features_of;
  std::vector<std::vector<uint8_t>> outcomes_of;
  const size_t width = records.feature_names.size();
  std::vector<float> row(width);
  while (std::optional<std::string_view> line = lines.Next()) {
    if (internal::Trim(*line).empty()) continue;
    const std::string where = internal::Where(path.string(), lines.line_number());
    auto fields = internal::SplitQuotedRecord(*line);
    if (!fields.ok()) return fields.status().WithContext(where);
    if (fields->size() != header->size()) {
      return InvalidArgumentError(where + ": " + std::to_string(fields->size()) +
                                  " fields, the header has " + std::to_string(header->size()));
    }
    const std::string_view pupil = internal::Trim((*fields)[0]);
    if (pupil.empty()) return InvalidArgumentError(where + ": field 'pupil_id' is empty");
    const std::string_view outcome = internal::Trim((*fields)[1]);
    if (outcome != "0" && outcome != "1") {
      return InvalidArgumentError(where + ": field 'outcome': " + internal::Quote(outcome) +
                                  " is neither 0 nor 1");
    }
    for (size_t i = 2; i < fields->size(); ++i) {
      const std::optional<double> value = internal::ParseNumber(internal::Trim((*fields)[i]));
      const auto narrowed = static_cast<float>(value.value_or(0));
      if (!value || !std::isfinite(narrowed)) {
        return InvalidArgumentError(
            where + ": field " + internal::Quote(records.feature_names[i - 2]) + ": " +
            internal::Quote((*fields)[i]) +
            (value ? " is beyond what a 32-bit float holds" : " is not a finite number"));
      }
      row[i - 2] = narrowed;
    }
    std::string key = pseudonymizer ? pseudonymizer->Pseudonym(pupil) : std::string(pupil);
    auto [it, inserted] = index_of.try_emplace(key, static_cast<uint32_t>(log.pupil_keys.size()));
    if (inserted) {
      log.pupil_keys.push_back(std::move(key));
      features_of.emplace_back();
      outcomes_of.emplace_back();
    }
    features_of[it->second].insert(features_of[it->second].end(), row.begin(), row.end());
    outcomes_of[it->second].push_back(outcome == "1" ? 1 : 0);
  }
  CARTABLE_RETURN_IF_ERROR(lines.status());
  if (log.pupil_keys.empty())
    return InvalidArgumentError(path.string() + ": no record after the header");
  for (uint32_t p = 0; p < log.pupil_keys.size(); ++p) {
    records.features.insert(records.features.end(), features_of[p].begin(), features_of[p].end());
    records.outcome.insert(records.outcome.end(), outcomes_of[p].begin(), outcomes_of[p].end());
    records.pupil.insert(records.pupil.end(), outcomes_of[p].size(), p);
  }
  return log;
}

Status WriteRecordsCsv(const models::InteractionLog& log, const std::filesystem::path& path) {
  const models::PupilRecords& records = log.records;
  CARTABLE_RETURN_IF_ERROR(models::Validate(log).WithContext(path.string() + " not written"));
  if (records.num_features() == 0 || records.num_features() > kMaxFeatures) {
    return InvalidArgumentError(
        path.string() + " not written: " + std::to_string(records.num_features()) +
        " feature columns, where the format holds 1 to " + std::to_string(kMaxFeatures));
  }
  std::unordered_set<std::string_view> names;
  for (const std::string& name : records.feature_names) {
    if (!ReadsBack(name) || !names.insert(name).second) {
      return InvalidArgumentError(path.string() + " not written: feature " + internal::Quote(name) +
                                  " is empty, repeated, or has a line break or spaces at an end");
    }
  }
  for (const std::string& key : log.pupil_keys) {
    if (!ReadsBack(key)) {
      return InvalidArgumentError(path.string() + " not written: pupil key " +
                                  internal::Quote(key) +
                                  " is empty, or has a line break or spaces at an end");
    }
  }
  std::string out = "pupil_id,outcome";
  for (const std::string& name : records.feature_names) out.append(",").append(Field(name));
  out.push_back('\n');
  const size_t width = records.num_features();
  char number[32];
  for (size_t row = 0; row < records.size(); ++row) {
    out.append(Field(log.pupil_keys.at(records.pupil[row])))
        .append(records.outcome[row] != 0 ? ",1" : ",0");
    for (size_t f = 0; f < width; ++f) {
      const float value = records.features[row * width + f];
      const auto [end, error] = std::to_chars(number, number + sizeof(number), value);
      if (error != std::errc() || !std::isfinite(value)) {
        return InvalidArgumentError("record " + std::to_string(row + 1) + ", feature '" +
                                    records.feature_names[f] + "': not a finite number, " +
                                    path.string() + " not written");
      }
      out.push_back(',');
      out.append(number, end);
    }
    out.push_back('\n');
  }
  return WriteFileAtomically(path, out);
}

}  // namespace cartable::ingest
