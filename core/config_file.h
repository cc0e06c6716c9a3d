#pragma once

// ConfigTable: one table of a TOML file (a plan, a daemon's configuration), read with checks. Each
// getter consumes one key and returns its fallback when the key is absent; Finish() refuses the
// keys nobody consumed, so a misspelt key ("fracton") is an error rather than a silently ignored
// setting. Every error names the file, the line, the key with its table ("[nodes] fraction") and
// what was expected. toml++ stays behind this header. A ConfigTable shares its parsed document with
// the tables taken from it; it is cheap to copy and not thread safe.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cartable {

class ConfigTable {
 public:
  // `source` names the text in errors (its path). Largest accepted text: kMaxConfigBytes.
  static StatusOr<ConfigTable> Parse(std::string_view text, std::string source);
  static StatusOr<ConfigTable> ReadFile(const std::filesystem::path& path);
  static constexpr size_t kMaxConfigBytes = size_t{1} << 20;

  bool Has(const std::string& key) const;
  // An integer in [min, max].
  StatusOr<int64_t> Integer(const std::string& key, int64_t fallback, int64_t min, int64_t max);
  // A finite number (an integer is accepted) in [min, max].
  StatusOr<double> Real(const std::string& key, double fallback, double min, double max);
  StatusOr<bool> Bool(const std::string& key, bool fallback);
  // Any string; with `choices`, one of them.
  StatusOr<std::string> String(const std::string& key, const std::string& fallback,
                               const std::vector<std::string>& choices = {});
  // An array of strings; `fallback` when absent.
  StatusOr<std::vector<std::string>> Strings(const std::string& key,
                                             const std::vector<std::string>& fallback = {});
  // A sub-table ([name] or name = {...}); an empty one when absent.
  StatusOr<ConfigTable> Table(const std::string& key);
  // Every entry of a table of scalars, as text (strings as they are, numbers in their shortest
  // exact form, booleans as true/false); an empty map when absent.
  StatusOr<std::map<std::string, std::string>> ScalarsAsText(const std::string& key);
  // A path as the file writes it, relative to the file's directory (absolute and empty paths are
  // kept as they are): what a configuration's relative paths mean.
  std::string Path(const std::string& written) const;
  // Every key of this table, as read.
  std::vector<std::string> Keys() const;

  // kInvalidArgument naming the first key no getter consumed, and the keys this table knows.
  Status Finish() const;

  // "[nodes] " for a sub-table, "" for the document: the prefix of this table's keys in errors.
  std::string Where() const;
  // An error about `key` in this table, located at its line: for checks the getters cannot make.
  Status Error(const std::string& key, const std::string& what) const;

 private:
  struct Document;
  ConfigTable(std::shared_ptr<const Document> document, const void* table, std::string path);
  const void* Find(const std::string& key);

  std::shared_ptr<const Document> document_;
  const void* table_ = nullptr;  // a toml::table inside document_
  std::string path_;             // dotted, "" for the root
  std::set<std::string> known_;
};

}  // namespace cartable
