#include "ingest/xapi_source.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>

#include "ingest/internal/text_reader.h"

namespace cartable::ingest {
namespace {

using internal::Quote;
using nlohmann::json;

constexpr int kMaxNesting = 64;

// nlohmann's parser keeps its own stack, but deep values are still costly to build and to destroy:
// refuse them before parsing.
bool NestingWithin(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

// The value at a path of object keys, or nullptr when any step is missing or not an object.
const json* Find(const json& root, std::initializer_list<const char*> keys) {
  const json* at = &root;
  for (const char* key : keys) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

// A non-empty string at `keys`, or nullopt.
std::optional<std::string> Text(const json& root, std::initializer_list<const char*> keys) {
  const json* value = Find(root, keys);
  if (value == nullptr || !value->is_string() || value->get_ref<const std::string&>().empty()) {
    return std::nullopt;
  }
  return value->get<std::string>();
}

// Whether `key` ends in `word` (lowercase), in any case.
bool EndsWith(const std::string& key, std::string_view word) {
  if (key.size() < word.size()) return false;
  std::string tail = key.substr(key.size() - word.size());
  for (char& c : tail) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return tail == word;
}

// The value of the first extension at `keys` whose key ends in `word` ("skill", "group",
// "school"); an error for a value that is neither a non-empty string nor an integer.
StatusOr<std::optional<std::string>> Extension(const json& statement,
                                               std::initializer_list<const char*> keys,
                                               const std::string& field, std::string_view word) {
  const json* extensions = Find(statement, keys);
  if (extensions == nullptr || !extensions->is_object()) return std::optional<std::string>();
  for (const auto& [key, value] : extensions->items()) {
    if (!EndsWith(key, word)) continue;
    if (value.is_string() && !value.get_ref<const std::string&>().empty()) {
      return std::optional<std::string>(value.get<std::string>());
    }
    if (value.is_number_integer()) return std::optional<std::string>(value.dump());
    return InvalidArgumentError("field '" + field + "': the value of " + Quote(key) +
                                " is neither a non-empty string nor an integer");
  }
  return std::optional<std::string>();
}

StatusOr<std::string> Skill(const json& statement) {
  CARTABLE_ASSIGN_OR_RETURN(std::optional<std::string> skill,
                            Extension(statement, {"object", "definition", "extensions"},
                                      "object.definition.extensions", "skill"));
  if (skill) return *skill;
  CARTABLE_ASSIGN_OR_RETURN(
      skill, Extension(statement, {"context", "extensions"}, "context.extensions", "skill"));
  if (skill) return *skill;
  for (const char* kind : {"parent", "grouping"}) {
    const json* activities = Find(statement, {"context", "contextActivities", kind});
    if (activities != nullptr && activities->is_array() && !activities->empty()) {
      if (auto id = Text((*activities)[0], {"id"})) return *id;
    }
  }
  return InvalidArgumentError(
      "field 'skill': none found (expected an extension key ending in 'skill' in "
      "object.definition.extensions "
      "or context.extensions, or context.contextActivities.parent[0].id or .grouping[0].id)");
}

// The pupil a statement is about: actor.account.name, else actor.mbox_sha1sum, mbox or openid.
std::optional<std::string> ActorId(const json& statement) {
  std::optional<std::string> actor = Text(statement, {"actor", "account", "name"});
  for (const char* key : {"mbox_sha1sum", "mbox", "openid"}) {
    if (!actor) actor = Text(statement, {"actor", key});
  }
  return actor;
}

// One statement of a line, checked for nesting and parsed.
StatusOr<json> ParseStatement(std::string_view line) {
  if (!NestingWithin(line, kMaxNesting)) {
    return InvalidArgumentError("field 'statement': JSON nested deeper than " +
                                std::to_string(kMaxNesting) + " levels");
  }
  json statement;
  try {
    statement = json::parse(line);
  } catch (const json::exception& e) {
    return InvalidArgumentError("field 'statement': not JSON: " + Quote(e.what()));
  }
  if (!statement.is_object()) return InvalidArgumentError("field 'statement': not a JSON object");
  return statement;
}

// A statement's value of the attribute `column`, if it carries one: the extension whose key's last
// word is `column` (after a '/', '#', ':' or '.', or the whole key, so ".../agegroup" is no group),
// without the spaces around it.
StatusOr<std::optional<std::string>> AttributeOf(const json& statement, const std::string& column) {
  std::optional<std::string> value;
  const json* extensions = Find(statement, {"context", "extensions"});
  if (extensions != nullptr && extensions->is_object()) {
    for (const auto& [key, v] : extensions->items()) {
      if (!EndsWith(key, column)) continue;
      if (key.size() > column.size()) {
        const char before = key[key.size() - column.size() - 1];
        if (before != '/' && before != '#' && before != ':' && before != '.') continue;
      }
      if (v.is_string() && !internal::Trim(v.get_ref<const std::string&>()).empty()) {
        value = std::string(internal::Trim(v.get_ref<const std::string&>()));
      } else if (v.is_number_integer()) {
        value = v.dump();
      } else {
        return InvalidArgumentError("field 'context.extensions': the value of " + Quote(key) +
                                    " is neither a non-empty string nor an integer");
      }
      break;
    }
  }
  if (!value && column == "group") {
    if (auto team = Text(statement, {"context", "team", "name"}))
      if (!internal::Trim(*team).empty()) value = std::string(internal::Trim(*team));
  }
  return value;
}

class XapiReader {
 public:
  XapiReader(std::istream& in, std::string path, const Pseudonymizer* pseudonymizer)
      : lines_(in, path), path_(std::move(path)), builder_(pseudonymizer) {}

  StatusOr<models::InteractionLog> Read(XapiCounts& counts) {
    while (auto line = lines_.Next()) {
      if (internal::Trim(*line).empty()) continue;
      ++counts.statements;
      auto status = ReadStatement(*line, counts);
      if (!status.ok()) return status.WithContext(internal::Where(path_, lines_.line_number()));
    }
    CARTABLE_RETURN_IF_ERROR(lines_.status());
    if (builder_.answers() == 0) {
      return InvalidArgumentError(path_ + ": no statement with a result.success among " +
                                  std::to_string(counts.statements));
    }
    return std::move(builder_).Build(skills_.size(), items_.size());
  }

 private:
  Status ReadStatement(std::string_view line, XapiCounts& counts) {
    CARTABLE_ASSIGN_OR_RETURN(json statement, ParseStatement(line));
    const json* success = Find(statement, {"result", "success"});
    if (success == nullptr) {
      ++counts.skipped_without_success;
      return Status::Ok();
    }
    if (!success->is_boolean())
      return InvalidArgumentError("field 'result.success': not true or false");

    std::optional<std::string> actor = ActorId(statement);
    if (!actor) {
      return InvalidArgumentError("field 'actor': no account.name, mbox_sha1sum, mbox or openid");
    }
    std::optional<std::string> object = Text(statement, {"object", "id"});
    if (!object)
      return InvalidArgumentError("field 'object.id': missing or not a non-empty string");
    CARTABLE_ASSIGN_OR_RETURN(std::string skill_key, Skill(statement));
    std::optional<std::string> timestamp = Text(statement, {"timestamp"});
    if (!timestamp) return InvalidArgumentError("field 'timestamp': missing or not a string");
    std::optional<int64_t> micros = internal::ParseIso8601Micros(*timestamp);
    if (!micros) {
      return InvalidArgumentError("field 'timestamp': " + Quote(*timestamp) +
                                  " is not an ISO 8601 time such as 2024-03-05T10:15:00Z");
    }
    std::optional<uint32_t> skill = skills_.Id(skill_key);
    if (!skill) return InvalidArgumentError("field 'skill': more than 1048576 distinct skills");
    std::optional<uint32_t> item = items_.Id(*object);
    if (!item) return InvalidArgumentError("field 'object.id': more than 4194304 distinct items");
    builder_.Add(builder_.Pupil(*actor), *skill, success->get<bool>() ? 1 : 0, *item,
                 static_cast<double>(*micros));
    return Status::Ok();
  }

  internal::LineReader lines_;
  std::string path_;
  internal::LogBuilder builder_;
  internal::DenseIds skills_{internal::kMaxSkills};
  internal::DenseIds items_{internal::kMaxItems};
};

}  // namespace

bool IsXapiAttribute(const std::string& column) { return column == "group" || column == "school"; }

StatusOr<std::unordered_map<std::string, std::string>> LoadXapiAttribute(
    const std::filesystem::path& path, const std::string& column,
    const Pseudonymizer* pseudonymizer) {
  if (!IsXapiAttribute(column)) {
    return InvalidArgumentError("'" + column +
                                "' is not a pupil attribute of the xapi format (known: group, "
                                "school)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path.string());
  internal::LineReader lines(in, path.string());
  std::unordered_map<std::string, std::string> values;  // "" until a statement carries one
  while (auto line = lines.Next()) {
    if (internal::Trim(*line).empty()) continue;
    auto read = [&]() -> Status {
      CARTABLE_ASSIGN_OR_RETURN(json statement, ParseStatement(*line));
      std::optional<std::string> actor = ActorId(statement);
      if (!actor) return Status::Ok();  // no pupil to describe
      std::string key = pseudonymizer ? pseudonymizer->Pseudonym(*actor) : *actor;
      CARTABLE_ASSIGN_OR_RETURN(std::optional<std::string> value, AttributeOf(statement, column));
      std::string& held = values[key];
      if (held.empty() && value) held = *value;  // the first statement that carries it counts
      return Status::Ok();
    };
    if (Status status = read(); !status.ok())
      return status.WithContext(internal::Where(path.string(), lines.line_number()));
  }
  CARTABLE_RETURN_IF_ERROR(lines.status());
  for (auto& [pupil, value] : values) {
    if (value.empty()) value = "unknown";
  }
  return values;
}

StatusOr<models::InteractionLog> LoadXapi(const std::filesystem::path& path,
                                          const Pseudonymizer* pseudonymizer, XapiCounts* counts) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path.string());
  XapiCounts local;
  XapiCounts& seen = counts ? *counts : local;
  auto log = XapiReader(in, path.string(), pseudonymizer).Read(seen);
  if (log.ok() && seen.skipped_without_success > 0) {
    spdlog::info("{}: skipped {} of {} statements without result.success", path.string(),
                 seen.skipped_without_success, seen.statements);
  }
  return log;
}

}  // namespace cartable::ingest
