#include "core/config_file.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/files.h"
#include "core/number_text.h"

namespace cartable {

struct ConfigTable::Document {
  std::string source;
  toml::table root;
};

namespace {

const toml::table& AsTable(const void* table) { return *static_cast<const toml::table*>(table); }

std::optional<std::string> ScalarText(const toml::node& value) {
  if (auto s = value.value_exact<std::string>()) return *s;
  if (auto b = value.value_exact<bool>()) return *b ? "true" : "false";
  if (auto i = value.value_exact<int64_t>()) return std::to_string(*i);
  if (auto d = value.value_exact<double>()) return NumberText(*d);
  return std::nullopt;
}

std::string Range(double min, double max) {
  return "[" + NumberText(min) + ", " + NumberText(max) + "]";
}

}  // namespace

StatusOr<ConfigTable> ConfigTable::Parse(std::string_view text, std::string source) {
  if (text.size() > kMaxConfigBytes) {
    return InvalidArgumentError(source + ": larger than " + std::to_string(kMaxConfigBytes >> 10) +
                                " KiB; is it the right file?");
  }
  auto document = std::make_shared<Document>();
  document->source = std::move(source);
  try {
    document->root = toml::parse(text, document->source);
  } catch (const toml::parse_error& e) {
    return InvalidArgumentError(document->source + ":" + std::to_string(e.source().begin.line) +
                                ": " + std::string(e.description()));
  }
  const void* root = &document->root;
  return ConfigTable(std::move(document), root, "");
}

StatusOr<ConfigTable> ConfigTable::ReadFile(const std::filesystem::path& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (!error && size > kMaxConfigBytes) {
    return InvalidArgumentError(path.string() + ": larger than " +
                                std::to_string(kMaxConfigBytes >> 10) +
                                " KiB; is it the right file?");
  }
  CARTABLE_ASSIGN_OR_RETURN(std::string text, cartable::ReadFile(path));
  return Parse(text, path.string());
}

ConfigTable::ConfigTable(std::shared_ptr<const Document> document, const void* table,
                         std::string path)
    : document_(std::move(document)), table_(table), path_(std::move(path)) {}

bool ConfigTable::Has(const std::string& key) const { return AsTable(table_).contains(key); }

const void* ConfigTable::Find(const std::string& key) {
  known_.insert(key);
  return AsTable(table_).get(key);
}

std::string ConfigTable::Where() const { return path_.empty() ? "" : "[" + path_ + "] "; }

Status ConfigTable::Error(const std::string& key, const std::string& what) const {
  const toml::node* node = AsTable(table_).get(key);
  const auto line =
      node != nullptr ? node->source().begin.line : AsTable(table_).source().begin.line;
  // A table absent from the file has no line to name.
  const std::string at = line > 0 ? ":" + std::to_string(line) : std::string();
  return InvalidArgumentError(document_->source + at + ": " + Where() + key + ": " + what);
}

StatusOr<int64_t> ConfigTable::Integer(const std::string& key, int64_t fallback, int64_t min,
                                       int64_t max) {
  const auto* node = static_cast<const toml::node*>(Find(key));
  if (node == nullptr) return fallback;
  const std::optional<int64_t> value = node->value_exact<int64_t>();
  if (!value || *value < min || *value > max) {
    return Error(key, "expected an integer in [" + std::to_string(min) + ", " +
                          std::to_string(max) + "]" +
                          (value ? ", got " + std::to_string(*value) : ""));
  }
  return *value;
}

StatusOr<double> ConfigTable::Real(const std::string& key, double fallback, double min,
                                   double max) {
  const auto* node = static_cast<const toml::node*>(Find(key));
  if (node == nullptr) return fallback;
  std::optional<double> value = node->value_exact<double>();
  if (!value) {
    if (auto integer = node->value_exact<int64_t>()) value = static_cast<double>(*integer);
  }
  if (!value || !std::isfinite(*value) || *value < min || *value > max) {
    return Error(key, "expected a number in " + Range(min, max) +
                          (value ? ", got " + NumberText(*value) : ""));
  }
  return *value;
}

StatusOr<bool> ConfigTable::Bool(const std::string& key, bool fallback) {
  const auto* node = static_cast<const toml::node*>(Find(key));
  if (node == nullptr) return fallback;
  const std::optional<bool> value = node->value_exact<bool>();
  if (!value) return Error(key, "expected true or false");
  return *value;
}

StatusOr<std::string> ConfigTable::String(const std::string& key, const std::string& fallback,
                                          const std::vector<std::string>& choices) {
  const auto* node = static_cast<const toml::node*>(Find(key));
  if (node == nullptr) return fallback;
  const std::optional<std::string> value = node->value_exact<std::string>();
  std::string listed;
  for (const std::string& choice : choices) listed += (listed.empty() ? "" : ", ") + choice;
  if (!value)
    return Error(key, choices.empty() ? "expected a string" : "expected one of " + listed);
  if (!choices.empty() && std::find(choices.begin(), choices.end(), *value) == choices.end()) {
    return Error(key, "'" + *value + "' is not one of " + listed);
  }
  return *value;
}

StatusOr<std::vector<std::string>> ConfigTable::Strings(const std::string& key,
                                                        const std::vector<std::string>& fallback) {
  const auto* node = static_cast<const toml::node*>(Find(key));
  if (node == nullptr) return fallback;
  const toml::array* array = node->as_array();
  std::vector<std::string> values;
  if (array != nullptr) {
    for (const toml::node& element : *array) {
      auto text = element.value_exact<std::string>();
      if (!text) return Error(key, "expected an array of strings, e.g. [\"a\", \"b\"]");
      values.push_back(*text);
    }
    return values;
  }
  return Error(key, "expected an array of strings, e.g. [\"a\", \"b\"]");
}

StatusOr<ConfigTable> ConfigTable::Table(const std::string& key) {
  const auto* node = static_cast<const toml::node*>(Find(key));
  const std::string path = path_.empty() ? key : path_ + "." + key;
  if (node == nullptr) {
    static const toml::table kEmpty;
    return ConfigTable(document_, &kEmpty, path);
  }
  if (!node->is_table()) return Error(key, "expected a table ([" + path + "])");
  return ConfigTable(document_, node->as_table(), path);
}

StatusOr<std::map<std::string, std::string>> ConfigTable::ScalarsAsText(const std::string& key) {
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable table, Table(key));
  std::map<std::string, std::string> texts;
  for (const auto& [name, value] : AsTable(table.table_)) {
    auto text = ScalarText(value);
    if (!text) return table.Error(std::string(name.str()), "expected a string, number or boolean");
    texts[std::string(name.str())] = *text;
  }
  return texts;
}

std::string ConfigTable::Path(const std::string& written) const {
  if (written.empty() || std::filesystem::path(written).is_absolute()) return written;
  return (std::filesystem::path(document_->source).parent_path() / written)
      .lexically_normal()
      .string();
}

std::vector<std::string> ConfigTable::Keys() const {
  std::vector<std::string> keys;
  for (const auto& [name, value] : AsTable(table_)) keys.emplace_back(name.str());
  return keys;
}

Status ConfigTable::Finish() const {
  for (const auto& [name, value] : AsTable(table_)) {
    if (known_.count(std::string(name.str())) != 0) continue;
    std::string listed;
    for (const std::string& known : known_) listed += (listed.empty() ? "" : ", ") + known;
    return Error(std::string(name.str()), "unknown key (known here: " + listed + ")");
  }
  return Status::Ok();
}

}  // namespace cartable
