#include "ingest/internal/text_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "core/check.h"

namespace cartable::ingest::internal {

bool LineReader::Refill() {
  in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  pos_ = 0;
  end_ = static_cast<size_t>(in_.gcount());
  if (in_.bad()) status_ = UnavailableError("cannot read " + path_);
  return end_ > 0;
}

std::optional<std::string_view> LineReader::Next() {
  if (!status_.ok()) return std::nullopt;
  line_.clear();
  bool started = false;
  while (true) {
    if (pos_ == end_ && !Refill()) {
      if (!status_.ok() || !started) return std::nullopt;
      break;  // a last line without its end
    }
    started = true;
    const char* from = buffer_.data() + pos_;
    const void* newline = std::memchr(from, '\n', end_ - pos_);
    const size_t n =
        newline ? static_cast<size_t>(static_cast<const char*>(newline) - from) : end_ - pos_;
    if (line_.size() + n > kMaxLineBytes) {
      status_ = InvalidArgumentError(Where(path_, line_number_ + 1) + ": line longer than " +
                                     std::to_string(kMaxLineBytes) + " bytes");
      return std::nullopt;
    }
    line_.append(from, n);
    pos_ += n;
    if (newline) {
      ++pos_;
      break;
    }
  }
  ++line_number_;
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  if (line_number_ == 1 && line_.starts_with("\xEF\xBB\xBF")) line_.erase(0, 3);  // a UTF-8 BOM
  return std::string_view(line_);
}

std::string Where(const std::string& path, size_t line) {
  return path + ":" + std::to_string(line);
}

StatusOr<std::vector<std::string>> SplitQuotedRecord(std::string_view line) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (true) {
    std::string field;
    if (i < line.size() && line[i] == '"') {
      for (++i;; ++i) {
        if (i >= line.size()) {
          return InvalidArgumentError(
              "field " + std::to_string(fields.size() + 1) +
              ": unterminated quote (a quoted field must close on its line)");
        }
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            ++i;
            continue;
          }
          ++i;
          break;
        }
        field += line[i];
      }
      if (i < line.size() && line[i] != ',') {
        return InvalidArgumentError("field " + std::to_string(fields.size() + 1) +
                                    ": text after the closing quote");
      }
    } else {
      const size_t comma = std::min(line.find(',', i), line.size());
      field.assign(line.substr(i, comma - i));
      i = comma;
    }
    fields.push_back(std::move(field));
    if (i >= line.size()) return fields;
    ++i;  // the comma
  }
}

StatusOr<CsvTable> CsvTable::Open(const std::filesystem::path& path,
                                  const std::vector<std::string>& required) {
  CsvTable t;
  t.path_ = path.string();
  t.in_ = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*t.in_) return NotFoundError("cannot open " + t.path_);
  t.reader_ = std::make_unique<LineReader>(*t.in_, t.path_);
  CARTABLE_ASSIGN_OR_RETURN(bool any, t.Next());
  if (!any) return InvalidArgumentError(t.path_ + ":1: empty file, no header line");
  t.header_ = t.fields_;
  for (const std::string& name : required) {
    if (t.Column(name) < 0)
      return InvalidArgumentError(t.Where() + ": the header lacks column '" + name + "'");
  }
  return t;
}

StatusOr<bool> CsvTable::Next() {
  std::optional<std::string_view> line;
  do {
    line = reader_->Next();
    if (!line) {
      if (!reader_->status().ok()) return reader_->status();
      return false;
    }
  } while (line->empty());
  auto fields = SplitQuotedRecord(*line);
  if (!fields.ok()) return fields.status().WithContext(Where());
  fields_ = *std::move(fields);
  if (!header_.empty() && fields_.size() != header_.size()) {
    return InvalidArgumentError(Where() + ": " + std::to_string(fields_.size()) +
                                " fields, the header has " + std::to_string(header_.size()));
  }
  return true;
}

const std::string& CsvTable::Get(const std::string& name) const {
  const int column = Column(name);
  CARTABLE_CHECK(column >= 0) << "'" << name << "' is not a column of " << path_;
  return fields_[column];
}

StatusOr<double> CsvTable::Number(const std::string& name, int64_t min, int64_t max,
                                  bool integral) const {
  const std::string& text = Get(name);
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !(value >= min) ||
      !(value <= max) || (integral && value != std::floor(value))) {
    return Bad(name, std::string(integral ? "an integer" : "a number") + " in [" +
                         std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return value;
}

Status CsvTable::Bad(const std::string& name, const std::string& expected) const {
  return InvalidArgumentError(Where() + ": field '" + name + "': " + Quote(Get(name)) + " is not " +
                              expected);
}

std::string CsvTable::Where() const { return internal::Where(path_, reader_->line_number()); }

int CsvTable::Column(const std::string& name) const {
  for (size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::string Quote(std::string_view text) {
  constexpr size_t kShown = 40;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
    }
  }
  if (text.size() > kShown) out += "...";
  return out + "'";
}

std::string_view Trim(std::string_view text) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    const size_t at = text.find(separator);
    parts.push_back(Trim(text.substr(0, at)));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

std::optional<uint32_t> ParseIndex(std::string_view text, uint32_t limit) {
  uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value >= limit) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> ParseNumber(std::string_view text) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

namespace {

// Exactly `digits` decimal digits at text[at...]; advances `at`.
std::optional<int> Digits(std::string_view text, size_t& at, size_t digits) {
  if (text.size() < at + digits) return std::nullopt;
  int value = 0;
  for (size_t i = 0; i < digits; ++i) {
    const char c = text[at + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  at += digits;
  return value;
}

bool Expect(std::string_view text, size_t& at, char c) {
  if (at >= text.size() || text[at] != c) return false;
  ++at;
  return true;
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (eras of 400 years).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;
  const int64_t day_of_year = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

std::optional<int64_t> ParseIso8601Micros(std::string_view text) {
  size_t at = 0;
  auto year = Digits(text, at, 4);
  if (!year || !Expect(text, at, '-')) return std::nullopt;
  auto month = Digits(text, at, 2);
  if (!month || !Expect(text, at, '-')) return std::nullopt;
  auto day = Digits(text, at, 2);
  if (!day || at >= text.size() || (text[at] != 'T' && text[at] != 't' && text[at] != ' '))
    return std::nullopt;
  ++at;
  auto hour = Digits(text, at, 2);
  if (!hour || !Expect(text, at, ':')) return std::nullopt;
  auto minute = Digits(text, at, 2);
  if (!minute || !Expect(text, at, ':')) return std::nullopt;
  auto second = Digits(text, at, 2);
  if (!second) return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > DaysInMonth(*year, *month) || *hour > 23 ||
      *minute > 59 || *second > 60) {  // 60: a leap second
    return std::nullopt;
  }
  int64_t micros = 0;
  if (at < text.size() && (text[at] == '.' || text[at] == ',')) {
    ++at;
    size_t digits = 0;
    for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++digits) {
      if (digits < 6) micros = micros * 10 + (text[at] - '0');
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 6; ++digits) micros *= 10;
  }
  int64_t offset_minutes = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const int sign = text[at] == '-' ? -1 : 1;
    ++at;
    auto zone_hours = Digits(text, at, 2);
    if (!zone_hours || *zone_hours > 23) return std::nullopt;
    int zone_minutes = 0;
    if (at < text.size()) {
      Expect(text, at, ':');
      auto m = Digits(text, at, 2);
      if (!m || *m > 59) return std::nullopt;
      zone_minutes = *m;
    }
    offset_minutes = sign * (int64_t{*zone_hours} * 60 + zone_minutes);
  }
  if (at != text.size()) return std::nullopt;
  const int64_t seconds = DaysFromCivil(*year, *month, *day) * 86400 + int64_t{*hour} * 3600 +
                          int64_t{*minute} * 60 + *second - int64_t{offset_minutes} * 60;
  return seconds * 1000000 + micros;
}

std::optional<uint32_t> DenseIds::Id(std::string_view key) {
  auto it = ids_.find(std::string(key));
  if (it != ids_.end()) return it->second;
  if (ids_.size() >= limit_) return std::nullopt;
  const uint32_t id = size();
  ids_.emplace(std::string(key), id);
  return id;
}

uint32_t LogBuilder::Pupil(std::string_view raw_id) {
  std::string key = pseudonymizer_ ? pseudonymizer_->Pseudonym(raw_id) : std::string(raw_id);
  auto [it, inserted] = index_of_.try_emplace(key, static_cast<uint32_t>(keys_.size()));
  if (inserted) {
    keys_.push_back(std::move(key));
    answers_of_.emplace_back();
  }
  return it->second;
}

void LogBuilder::Add(uint32_t pupil, uint32_t skill, uint8_t correct, uint32_t item, double time) {
  answers_of_[pupil].push_back({skill, item, correct, time});
  max_skill_ = std::max(max_skill_, skill);
  ++answers_;
}

models::InteractionLog LogBuilder::Build(std::optional<uint32_t> num_skills,
                                         uint32_t num_items) && {
  models::InteractionLog log;
  log.num_skills = num_skills ? *num_skills : (answers_ > 0 ? max_skill_ + 1 : 0);
  log.num_items = num_items;
  log.interactions.reserve(answers_);
  for (uint32_t p = 0; p < answers_of_.size(); ++p) {
    std::vector<Answer>& answers = answers_of_[p];
    std::stable_sort(answers.begin(), answers.end(),
                     [](const Answer& a, const Answer& b) { return a.time < b.time; });
    for (const Answer& a : answers) log.interactions.push_back({p, a.skill, a.correct, a.item});
    answers = {};
  }
  log.pupil_keys = std::move(keys_);
  return log;
}

}  // namespace cartable::ingest::internal
