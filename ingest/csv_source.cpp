#include "ingest/csv_source.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/files.h"
#include "ingest/internal/text_reader.h"

namespace cartable::ingest {
namespace {

constexpr uint32_t kMaxSkills = 1 << 20;

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    std::string_view f =
        line.substr(start, comma == std::string_view::npos ? comma : comma - start);
    while (!f.empty() && (f.front() == ' ' || f.front() == '\t')) f.remove_prefix(1);
    while (!f.empty() && (f.back() == ' ' || f.back() == '\t' || f.back() == '\r'))
      f.remove_suffix(1);
    fields.push_back(f);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return fields;
}

struct Columns {
  int pupil = -1, timestamp = -1, skill = -1, item = -1, correct = -1;
  size_t count = 0;
};

StatusOr<Columns> ParseHeader(std::string_view line) {
  Columns c;
  auto fields = SplitFields(line);
  c.count = fields.size();
  for (size_t i = 0; i < fields.size(); ++i) {
    int* slot = fields[i] == "pupil_id"    ? &c.pupil
                : fields[i] == "timestamp" ? &c.timestamp
                : fields[i] == "skill_id"  ? &c.skill
                : fields[i] == "item_id"   ? &c.item
                : fields[i] == "correct"   ? &c.correct
                                           : nullptr;
    if (slot == nullptr && IsCsvAttributeColumn(fields[i])) continue;  // read by pupil_attributes
    if (slot == nullptr) {
      return InvalidArgumentError("unknown column '" + std::string(fields[i]) +
                                  "' (expected pupil_id, timestamp, skill_id, item_id, correct, "
                                  "and the pupil attributes group and school)");
    }
    if (*slot >= 0)
      return InvalidArgumentError("column '" + std::string(fields[i]) + "' appears twice");
    *slot = static_cast<int>(i);
  }
  for (auto [column, name] :
       {std::pair{c.pupil, "pupil_id"}, {c.skill, "skill_id"}, {c.correct, "correct"}}) {
    if (column < 0) {
      return InvalidArgumentError(std::string("the header lacks the required column '") + name +
                                  "' (required: pupil_id, skill_id, correct)");
    }
  }
  return c;
}

struct Row {
  uint32_t skill;
  uint8_t correct;
  double timestamp;
  size_t order;
  uint32_t item;
};

}  // namespace

bool IsCsvAttributeColumn(std::string_view column) {
  return column == "group" || column == "school";
}

StatusOr<models::InteractionLog> LoadLongCsv(const std::filesystem::path& path,
                                             const Pseudonymizer* pseudonymizer) {
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot open " + path.string());
  internal::LineReader lines(in, path.string());  // caps line lengths
  std::optional<std::string_view> header = lines.Next();
  CARTABLE_RETURN_IF_ERROR(lines.status());
  if (!header) return InvalidArgumentError(path.string() + ":1: empty file, no header line");
  auto columns = ParseHeader(*header);
  if (!columns.ok()) return columns.status().WithContext(path.string() + ":1");

  std::vector<std::string> keys;
  std::unordered_map<std::string, uint32_t> index_of;
  std::vector<std::vector<Row>> rows;
  uint32_t max_skill = 0;
  internal::DenseIds items(internal::kMaxItems);  // item_id strings, numbered by first appearance
  size_t line_number = 1;
  size_t order = 0;
  while (std::optional<std::string_view> next = lines.Next()) {
    const std::string_view line = *next;
    ++line_number;
    if (line.empty() || line == "\r") continue;
    const std::string where = path.string() + ":" + std::to_string(line_number);
    auto fields = SplitFields(line);
    if (fields.size() != columns->count) {
      return InvalidArgumentError(where + ": " + std::to_string(fields.size()) +
                                  " fields, the header has " + std::to_string(columns->count));
    }
    std::string_view pupil = fields[columns->pupil];
    if (pupil.empty()) return InvalidArgumentError(where + ": field 'pupil_id' is empty");
    Row row{0, 0, 0, order++, 0};
    std::string_view skill = fields[columns->skill];
    auto [end, error] = std::from_chars(skill.data(), skill.data() + skill.size(), row.skill);
    if (error != std::errc() || end != skill.data() + skill.size() || row.skill >= kMaxSkills) {
      return InvalidArgumentError(where + ": field 'skill_id': '" + std::string(skill) +
                                  "' is not an integer in [0, 1048576)");
    }
    std::string_view correct = fields[columns->correct];
    if (correct != "0" && correct != "1") {
      return InvalidArgumentError(where + ": field 'correct': '" + std::string(correct) +
                                  "' is neither 0 nor 1");
    }
    row.correct = correct == "1";
    if (columns->timestamp >= 0) {
      std::string_view t = fields[columns->timestamp];
      auto [tend, terror] = std::from_chars(t.data(), t.data() + t.size(), row.timestamp);
      if (terror != std::errc() || tend != t.data() + t.size()) {
        return InvalidArgumentError(where + ": field 'timestamp': '" + std::string(t) +
                                    "' is not a number");
      }
    }
    std::string key = pseudonymizer ? pseudonymizer->Pseudonym(pupil) : std::string(pupil);
    auto [it, inserted] = index_of.try_emplace(key, static_cast<uint32_t>(keys.size()));
    if (inserted) {
      keys.push_back(std::move(key));
      rows.emplace_back();
    }
    if (columns->item >= 0) {
      std::string_view item = fields[columns->item];
      if (item.empty()) return InvalidArgumentError(where + ": field 'item_id' is empty");
      auto id = items.Id(item);
      if (!id)
        return InvalidArgumentError(where + ": field 'item_id': more than 4194304 distinct items");
      row.item = *id;
    }
    rows[it->second].push_back(row);
    max_skill = std::max(max_skill, row.skill);
  }
  CARTABLE_RETURN_IF_ERROR(lines.status());
  if (keys.empty()) return InvalidArgumentError(path.string() + ": no answer after the header");

  models::InteractionLog log;
  log.pupil_keys = std::move(keys);
  log.num_skills = max_skill + 1;
  log.num_items = items.size();
  for (uint32_t p = 0; p < rows.size(); ++p) {
    std::stable_sort(rows[p].begin(), rows[p].end(),
                     [](const Row& a, const Row& b) { return a.timestamp < b.timestamp; });
    for (const Row& r : rows[p]) log.interactions.push_back({p, r.skill, r.correct, r.item});
  }
  return log;
}

Status WriteLongCsv(const models::InteractionLog& log, const std::filesystem::path& path) {
  for (const std::string& key : log.pupil_keys) {
    if (key.empty() || key.find_first_of(",\"\r\n") != std::string::npos) {
      return InvalidArgumentError("pupil key '" + key + "' cannot be written to " + path.string() +
                                  ": a csv pupil_id is non-empty, without commas, quotes or line "
                                  "breaks");
    }
  }
  std::string out = "pupil_id,timestamp,skill_id,correct\n";
  std::vector<uint32_t> answered(log.num_pupils(), 0);
  for (const models::Interaction& x : log.interactions) {
    out.append(log.pupil_keys[x.pupil])
        .append(",")
        .append(std::to_string(answered[x.pupil]++))
        .append(",")
        .append(std::to_string(x.skill))
        .append(x.correct != 0 ? ",1\n" : ",0\n");
  }
  return WriteFileAtomically(path, out);
}

}  // namespace cartable::ingest
