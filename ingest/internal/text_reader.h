#pragma once

// Pieces shared by the text adapters (csv, kt3, pykt, xapi, oulad, records): a line reader that
// refuses over-long lines, quoted CSV records and tables with named columns, strict number parsing,
// quoting of hostile bytes for error messages, ISO 8601 times, dense ids, and the builder that
// groups answers by pupil and orders them in time. Only the adapters of ingest/ use it. Plain
// values, not thread safe.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "ingest/pseudonymizer.h"
#include "models/dataset.h"

namespace cartable::ingest::internal {

// Bounds every allocation driven by a file: a line, hence a list in it, never exceeds
// kMaxLineBytes; skill and item spaces (which size model tables downstream) never exceed these.
inline constexpr size_t kMaxLineBytes = size_t{1} << 20;
inline constexpr uint32_t kMaxSkills = uint32_t{1} << 20;
inline constexpr uint32_t kMaxItems = uint32_t{1} << 22;

// Reads lines ending in "\n" or "\r\n" (the last one may lack it) from a stream it borrows, without
// a UTF-8 byte-order mark at the start. A line longer than kMaxLineBytes or a read error ends the
// reading with a non-OK status() naming "path:line".
class LineReader {
 public:
  LineReader(std::istream& in, std::string path) : in_(in), path_(std::move(path)) {}

  // The next line, without its end; nullopt at the end of the input or on error (then see
  // status()). The view stays valid until the next call.
  std::optional<std::string_view> Next();
  size_t line_number() const { return line_number_; }
  const Status& status() const { return status_; }

 private:
  bool Refill();

  std::istream& in_;
  std::string path_;
  std::vector<char> buffer_ = std::vector<char>(size_t{1} << 16);
  size_t pos_ = 0, end_ = 0;
  std::string line_;
  size_t line_number_ = 0;
  Status status_;
};

// "path:line", the prefix of every error about a line.
std::string Where(const std::string& path, size_t line);

// One CSV record on one line, with RFC 4180 quotes ("a ""b""" is a "b"); fields are not trimmed. A
// quoted field cannot hold a line break. Errors name the field ("field 3: ...").
StatusOr<std::vector<std::string>> SplitQuotedRecord(std::string_view line);

// A CSV file with a header line, read one record per line (SplitQuotedRecord), skipping empty
// lines. Fields are found by their column's name, so columns may come in any order and other
// columns are ignored. Owns its file; movable, not copyable. Every error names "path:line" and the
// field.
class CsvTable {
 public:
  // Opens `path` and reads its header, which must name every column of `required`.
  static StatusOr<CsvTable> Open(const std::filesystem::path& path,
                                 const std::vector<std::string>& required);

  // Reads the next record; false at the end of the file. A record with another number of fields
  // than the header is an error.
  StatusOr<bool> Next();

  // The current record's field in column `name`, which must be a column of the header.
  const std::string& Get(const std::string& name) const;
  // The field as a number in [min, max], and an integer unless `integral` is false.
  StatusOr<double> Number(const std::string& name, int64_t min, int64_t max,
                          bool integral = true) const;
  // "path:line: field 'name': 'value' is not <expected>".
  Status Bad(const std::string& name, const std::string& expected) const;
  // "path:line" of the current record.
  std::string Where() const;

 private:
  CsvTable() = default;
  int Column(const std::string& name) const;  // -1 when the header lacks it

  std::string path_;
  std::unique_ptr<std::ifstream> in_;  // read by reader_; both on the heap, so a table can move
  std::unique_ptr<LineReader> reader_;
  std::vector<std::string> header_, fields_;
};

// `text` in single quotes for an error message: printable ASCII as is, other bytes as \xNN, cut
// after 40.
std::string Quote(std::string_view text);

// Without leading and trailing spaces, tabs and carriage returns.
std::string_view Trim(std::string_view text);

// Splits on `separator` and trims each part; "" gives one empty part.
std::vector<std::string_view> Split(std::string_view text, char separator = ',');

// A decimal integer in [0, limit) with nothing around it (no sign, no spaces).
std::optional<uint32_t> ParseIndex(std::string_view text, uint32_t limit);

// A finite decimal number such as 12, -3 or 1.5e9.
std::optional<double> ParseNumber(std::string_view text);

// "YYYY-MM-DDThh:mm:ss[.fraction][Z|±hh:mm|±hhmm|±hh]" (T may be t or a space; no zone means UTC) →
// microseconds since 1970-01-01T00:00:00Z. Checks the calendar (months, days, leap years).
std::optional<int64_t> ParseIso8601Micros(std::string_view text);

// Numbers strings densely, in order of first appearance, up to `limit` distinct strings.
class DenseIds {
 public:
  explicit DenseIds(uint32_t limit) : limit_(limit) {}
  // The id of `key`, or nullopt when it is new and `limit` ids are already given.
  std::optional<uint32_t> Id(std::string_view key);
  uint32_t size() const { return static_cast<uint32_t>(ids_.size()); }

 private:
  uint32_t limit_;
  std::unordered_map<std::string, uint32_t> ids_;
};

// Collects answers as an adapter reads them and builds the log: pupils in order of first
// appearance, each pupil's answers contiguous and stably sorted by time (file order when times are
// equal or absent). Raw pupil ids go through the pseudonymizer at once, so no raw id is stored when
// one is given.
class LogBuilder {
 public:
  explicit LogBuilder(const Pseudonymizer* pseudonymizer) : pseudonymizer_(pseudonymizer) {}

  uint32_t Pupil(std::string_view raw_id);
  void Add(uint32_t pupil, uint32_t skill, uint8_t correct, uint32_t item = 0, double time = 0);
  size_t answers() const { return answers_; }

  // num_skills is max skill + 1 unless `num_skills` is given (dense ids); likewise items.
  models::InteractionLog Build(std::optional<uint32_t> num_skills, uint32_t num_items) &&;

 private:
  struct Answer {
    uint32_t skill, item;
    uint8_t correct;
    double time;
  };
  const Pseudonymizer* pseudonymizer_;
  std::unordered_map<std::string, uint32_t> index_of_;
  std::vector<std::string> keys_;
  std::vector<std::vector<Answer>> answers_of_;
  size_t answers_ = 0;
  uint32_t max_skill_ = 0;
};

}  // namespace cartable::ingest::internal
