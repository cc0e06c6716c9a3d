#include "ingest/pykt_source.h"

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "ingest/internal/text_reader.h"

namespace cartable::ingest {
namespace {

using internal::Quote;
using internal::Where;

struct Columns {
  int uid = -1, questions = -1, concepts = -1, responses = -1, timestamps = -1, selectmasks = -1,
      is_repeat = -1;
  size_t count = 0;
};

StatusOr<Columns> ParseHeader(std::string_view line) {
  CARTABLE_ASSIGN_OR_RETURN(std::vector<std::string> names, internal::SplitQuotedRecord(line));
  Columns c;
  c.count = names.size();
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string_view name = internal::Trim(names[i]);
    int* slot = name == "uid"           ? &c.uid
                : name == "questions"   ? &c.questions
                : name == "concepts"    ? &c.concepts
                : name == "responses"   ? &c.responses
                : name == "timestamps"  ? &c.timestamps
                : name == "selectmasks" ? &c.selectmasks
                : name == "is_repeat"   ? &c.is_repeat
                                        : nullptr;
    if (slot == nullptr) continue;  // fold, usetimes, ...: not needed
    if (*slot >= 0) return InvalidArgumentError("column " + Quote(name) + " appears twice");
    *slot = static_cast<int>(i);
  }
  for (auto [column, name] :
       {std::pair{c.uid, "uid"}, {c.concepts, "concepts"}, {c.responses, "responses"}}) {
    if (column < 0) {
      return InvalidArgumentError(std::string("the header lacks the required column '") + name +
                                  "' (required: uid, concepts, responses)");
    }
  }
  return c;
}

struct Entry {
  uint32_t skill, question;
  uint8_t response;
  double time;
};

class PyktReader {
 public:
  PyktReader(std::istream& in, std::string path, const Pseudonymizer* pseudonymizer)
      : lines_(in, path), path_(std::move(path)), builder_(pseudonymizer) {}

  StatusOr<models::InteractionLog> Read() {
    auto header = lines_.Next();
    CARTABLE_RETURN_IF_ERROR(lines_.status());
    if (!header) return InvalidArgumentError(path_ + ":1: empty file, no header line");
    auto columns = ParseHeader(*header);
    if (!columns.ok()) return columns.status().WithContext(path_ + ":1");
    columns_ = *columns;
    while (auto line = lines_.Next()) {
      if (internal::Trim(*line).empty()) continue;
      CARTABLE_RETURN_IF_ERROR(ReadRow(*line));
    }
    CARTABLE_RETURN_IF_ERROR(lines_.status());
    if (builder_.answers() == 0)
      return InvalidArgumentError(path_ + ": no answer after the header");
    return std::move(builder_).Build(std::nullopt, columns_.questions >= 0 ? max_question_ + 1 : 0);
  }

 private:
  Status ReadRow(std::string_view line) {
    const std::string where = Where(path_, lines_.line_number());
    auto fields = internal::SplitQuotedRecord(line);
    if (!fields.ok()) return fields.status().WithContext(where);
    if (fields->size() != columns_.count) {
      return InvalidArgumentError(where + ": " + std::to_string(fields->size()) +
                                  " fields, the header has " + std::to_string(columns_.count));
    }
    const std::string_view uid = internal::Trim((*fields)[columns_.uid]);
    if (uid.empty()) return InvalidArgumentError(where + ": field 'uid' is empty");
    const std::vector<std::string_view> concepts = internal::Split((*fields)[columns_.concepts]);
    // Each optional list, empty when its column is absent.
    auto list = [&](int column, const char* name, std::vector<std::string_view>& out) -> Status {
      if (column < 0) return Status::Ok();
      out = internal::Split((*fields)[column]);
      if (out.size() == concepts.size()) return Status::Ok();
      return InvalidArgumentError(where + ": field '" + name + "': " + std::to_string(out.size()) +
                                  " entries, 'concepts' has " + std::to_string(concepts.size()));
    };
    std::vector<std::string_view> responses, questions, timestamps, masks, repeats;
    CARTABLE_RETURN_IF_ERROR(list(columns_.responses, "responses", responses));
    CARTABLE_RETURN_IF_ERROR(list(columns_.questions, "questions", questions));
    CARTABLE_RETURN_IF_ERROR(list(columns_.timestamps, "timestamps", timestamps));
    CARTABLE_RETURN_IF_ERROR(list(columns_.selectmasks, "selectmasks", masks));
    CARTABLE_RETURN_IF_ERROR(list(columns_.is_repeat, "is_repeat", repeats));

    std::vector<Entry> kept;
    for (size_t i = 0; i < concepts.size(); ++i) {
      auto bad = [&](const char* field, std::string_view value, const std::string& expected) {
        std::string message = where;
        message += ": field '";
        message += field;
        message += "': entry " + std::to_string(i + 1) + ": " + Quote(value) + " is not ";
        message += expected;
        return InvalidArgumentError(std::move(message));
      };
      const std::string_view response = responses[i];
      if (response != "-1" && response != "0" && response != "1")
        return bad("responses", response, "-1, 0 or 1");
      if (!masks.empty() && masks[i] != "-1" && masks[i] != "0" && masks[i] != "1") {
        return bad("selectmasks", masks[i], "-1, 0 or 1");
      }
      if (response == "-1" || (!masks.empty() && masks[i] != "1")) continue;
      Entry e{0, 0, static_cast<uint8_t>(response == "1"), 0};
      auto skill = internal::ParseIndex(concepts[i], internal::kMaxSkills);
      if (!skill) return bad("concepts", concepts[i], "an integer in [0, 1048576)");
      e.skill = *skill;
      if (!questions.empty()) {
        auto question = internal::ParseIndex(questions[i], internal::kMaxItems);
        if (!question) return bad("questions", questions[i], "an integer in [0, 4194304)");
        e.question = *question;
      }
      if (!timestamps.empty()) {
        auto time = internal::ParseNumber(timestamps[i]);
        if (!time) return bad("timestamps", timestamps[i], "a number");
        e.time = *time;
      }
      if (!repeats.empty() && repeats[i] != "0" && repeats[i] != "1") {
        return bad("is_repeat", repeats[i], "0 or 1");
      }
      kept.push_back(e);
    }
    if (kept.empty()) return Status::Ok();  // a row of padding only
    const uint32_t pupil = builder_.Pupil(uid);
    for (const Entry& e : kept) {
      builder_.Add(pupil, e.skill, e.response, e.question, e.time);
      max_question_ = std::max(max_question_, e.question);
    }
    return Status::Ok();
  }

  internal::LineReader lines_;
  std::string path_;
  internal::LogBuilder builder_;
  Columns columns_;
  uint32_t max_question_ = 0;
};

}  // namespace

StatusOr<models::InteractionLog> LoadPykt(const std::filesystem::path& path,
                                          const Pseudonymizer* pseudonymizer) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path.string());
  return PyktReader(in, path.string(), pseudonymizer).Read();
}

}  // namespace cartable::ingest
