#include "ingest/kt3_source.h"

#include <fstream>
#include <string>
#include <vector>

#include "ingest/internal/text_reader.h"

namespace cartable::ingest {
namespace {

using internal::LineReader;
using internal::Quote;
using internal::Where;

// The entries of a list line; one trailing comma is allowed ("1,0,1,").
std::vector<std::string_view> Entries(std::string_view line) {
  line = internal::Trim(line);
  if (line.empty()) return {};
  std::vector<std::string_view> entries = internal::Split(line);
  if (entries.size() > 1 && entries.back().empty()) entries.pop_back();
  return entries;
}

class Kt3Reader {
 public:
  Kt3Reader(std::istream& in, std::string path, const Pseudonymizer* pseudonymizer)
      : lines_(in, path), path_(std::move(path)), builder_(pseudonymizer) {}

  StatusOr<models::InteractionLog> Read() {
    while (auto line = lines_.Next()) {
      if (internal::Trim(*line).empty()) continue;
      CARTABLE_RETURN_IF_ERROR(ReadSequence(*line));
    }
    CARTABLE_RETURN_IF_ERROR(lines_.status());
    if (builder_.answers() == 0)
      return InvalidArgumentError(path_ + ": no answer sequence in the file");
    return std::move(builder_).Build(std::nullopt, 0);
  }

 private:
  // `count_line` is line 1 of a sequence; reads lines 2 and 3.
  Status ReadSequence(std::string_view count_line) {
    const std::string count_where = Where(path_, lines_.line_number());
    std::vector<std::string_view> head = Entries(count_line);
    if (head.size() > 2) {
      return InvalidArgumentError(count_where +
                                  ": field 'count': expected 'count' or 'count,pupil_id', found " +
                                  std::to_string(head.size()) + " fields");
    }
    auto count = internal::ParseIndex(head[0], static_cast<uint32_t>(internal::kMaxLineBytes));
    if (!count || *count == 0) {
      return InvalidArgumentError(count_where + ": field 'count': " + Quote(head[0]) +
                                  " is not a number of answers in [1, 1048576)");
    }
    const bool has_id = head.size() == 2;
    if (has_id && head[1].empty())
      return InvalidArgumentError(count_where + ": field 'pupil_id' is empty");
    ++sequences_;
    if (sequences_ == 1) ids_given_ = has_id;
    if (has_id != ids_given_) {
      return InvalidArgumentError(count_where + ": field 'pupil_id': " +
                                  (has_id ? "given here but not for the first sequence"
                                          : "missing here but given for the first sequence") +
                                  "; name the pupil of every sequence or of none");
    }
    const std::string pupil_id =
        has_id ? std::string(head[1]) : "seq-" + std::to_string(sequences_);

    std::vector<uint32_t> skills;
    CARTABLE_RETURN_IF_ERROR(ReadList("skills", *count, internal::kMaxSkills, count_where, skills));
    std::vector<uint32_t> answers;
    CARTABLE_RETURN_IF_ERROR(ReadList("answers", *count, 2, count_where, answers));
    const uint32_t pupil = builder_.Pupil(pupil_id);
    for (size_t i = 0; i < skills.size(); ++i) {
      builder_.Add(pupil, skills[i], static_cast<uint8_t>(answers[i]));
    }
    return Status::Ok();
  }

  // Reads the next line as `count` integers below `limit`.
  Status ReadList(const char* field, uint32_t count, uint32_t limit, const std::string& count_where,
                  std::vector<uint32_t>& out) {
    auto line = lines_.Next();
    CARTABLE_RETURN_IF_ERROR(lines_.status());
    const std::string where = Where(path_, lines_.line_number() + (line ? 0 : 1));
    if (!line) {
      return InvalidArgumentError(where + ": field '" + field +
                                  "': the file ends within the sequence of " + count_where);
    }
    std::vector<std::string_view> entries = Entries(*line);
    if (entries.size() != count) {
      return InvalidArgumentError(where + ": field '" + field +
                                  "': " + std::to_string(entries.size()) + " entries, but " +
                                  count_where + " announces " + std::to_string(count));
    }
    out.reserve(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      auto value = internal::ParseIndex(entries[i], limit);
      if (!value) {
        return InvalidArgumentError(
            where + ": field '" + field + "': entry " + std::to_string(i + 1) + ": " +
            Quote(entries[i]) +
            (limit == 2 ? " is neither 0 nor 1"
                        : " is not an integer in [0, " + std::to_string(limit) + ")"));
      }
      out.push_back(*value);
    }
    return Status::Ok();
  }

  LineReader lines_;
  std::string path_;
  internal::LogBuilder builder_;
  size_t sequences_ = 0;
  bool ids_given_ = false;
};

}  // namespace

StatusOr<models::InteractionLog> LoadKt3(const std::filesystem::path& path,
                                         const Pseudonymizer* pseudonymizer) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path.string());
  return Kt3Reader(in, path.string(), pseudonymizer).Read();
}

}  // namespace cartable::ingest
