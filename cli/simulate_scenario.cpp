// `cartable simulate --scenario FILE`: a federation described in TOML, every key optional, a flag
// given on the command line winning over its key.

#include <charconv>

#include "cli/simulate_options.h"
#include "core/config_file.h"

namespace cartable::cli {
namespace {

// "MIN..MAX" of two integers in [low, high], MIN <= MAX.
StatusOr<std::pair<int, int>> IntRange(ConfigTable& table, const std::string& key,
                                       const std::string& text, int low, int high) {
  const size_t dots = text.find("..");
  int min = 0;
  int max = 0;
  const auto read = [](std::string_view s, int& into) {
    auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), into);
    return error == std::errc() && end == s.data() + s.size();
  };
  if (dots == std::string::npos || !read(std::string_view(text).substr(0, dots), min) ||
      !read(std::string_view(text).substr(dots + 2), max) || min > max || min < low || max > high) {
    return table.Error(key, "\"" + text + "\" is not a range MIN..MAX of whole numbers, " +
                                std::to_string(low) + " <= MIN <= MAX <= " + std::to_string(high));
  }
  return std::pair{min, max};
}

// Reads the tables of the file; `apply(flag)` says whether the key of that flag is to be taken.
class Reader {
 public:
  Reader(SimulateOptions& o, const GivenFlag& given) : o_(o), given_(given) {}

  Status Read(ConfigTable& root) {
    auto& s = o_.scenario;
    CARTABLE_RETURN_IF_ERROR(Integer(root, "seed", "--seed", s.cohort.seed, 0, INT64_MAX));
    CARTABLE_RETURN_IF_ERROR(Integer(root, "rounds", "--rounds", s.rounds, 1, 100000));
    CARTABLE_RETURN_IF_ERROR(Text(root, "model", "--model", s.model.name));
    CARTABLE_RETURN_IF_ERROR(
        Text(root, "mode", "--mode", o_.mode, {"auto", "inproc", "processes", "pools"}));
    CARTABLE_RETURN_IF_ERROR(Text(root, "strategy", "--strategy", s.strategy));
    CARTABLE_RETURN_IF_ERROR(
        Integer(root, "local_epochs", "--local-epochs", s.local_epochs, 1, 1000));
    CARTABLE_RETURN_IF_ERROR(Integer(root, "batch_size", "--batch-size", s.batch_size, 1, 1 << 20));
    CARTABLE_RETURN_IF_ERROR(
        Real(root, "learning_rate", "--learning-rate", s.learning_rate, 1e-9, 1e3));
    CARTABLE_RETURN_IF_ERROR(
        Real(root, "test_fraction", "--test-fraction", s.test_fraction, 0.01, 0.99));
    CARTABLE_ASSIGN_OR_RETURN(auto options, root.ScalarsAsText("model_options"));
    // Before the flags' --option, which are read after them and so win key by key.
    std::vector<std::string> from_file;
    from_file.reserve(options.size());
    for (const auto& [key, value] : options)
      from_file.push_back(std::string(key).append("=").append(value));
    o_.model_options.insert(o_.model_options.begin(), from_file.begin(), from_file.end());
    CARTABLE_ASSIGN_OR_RETURN(ConfigTable establishments, root.Table("establishments"));
    CARTABLE_RETURN_IF_ERROR(ReadEstablishments(establishments));
    CARTABLE_ASSIGN_OR_RETURN(ConfigTable cohort, root.Table("cohort"));
    CARTABLE_RETURN_IF_ERROR(ReadCohort(cohort));
    CARTABLE_ASSIGN_OR_RETURN(ConfigTable data, root.Table("data"));
    CARTABLE_ASSIGN_OR_RETURN(std::string source, data.String("source", ""));
    if (!source.empty() && Takes("--data")) s.data = FileSpec(data, source);
    CARTABLE_ASSIGN_OR_RETURN(std::string test, data.String("test", ""));
    if (!test.empty() && Takes("--test")) s.test_data = FileSpec(data, test);
    CARTABLE_RETURN_IF_ERROR(Text(data, "partition", "--partition", o_.partition));
    CARTABLE_RETURN_IF_ERROR(data.Finish());
    return root.Finish();
  }

 private:
  // FORMAT:PATH with the path relative to the scenario file.
  static std::string FileSpec(const ConfigTable& table, const std::string& spec) {
    const size_t colon = spec.find(':');
    return colon == std::string::npos
               ? spec
               : spec.substr(0, colon + 1) + table.Path(spec.substr(colon + 1));
  }

  Status ReadEstablishments(ConfigTable& table) {
    auto& c = o_.scenario.cohort;
    if (table.Has("count") && !given_("--schools")) o_.schools_given = true;
    CARTABLE_RETURN_IF_ERROR(Integer(table, "count", "--schools", c.schools, 1, 10000));
    if (table.Has("pupils") && table.Has("kinds")) {
      return table.Error("pupils", "goes with no kinds: each kind has its own pupils");
    }
    if (table.Has("pupils")) {
      CARTABLE_ASSIGN_OR_RETURN(std::string text, table.String("pupils", ""));
      CARTABLE_ASSIGN_OR_RETURN(auto range, IntRange(table, "pupils", text, 2, 1000000));
      std::tie(c.min_pupils, c.max_pupils) = range;
    }
    CARTABLE_ASSIGN_OR_RETURN(ConfigTable kinds, table.Table("kinds"));
    for (const std::string& name : kinds.Keys()) {
      CARTABLE_ASSIGN_OR_RETURN(ConfigTable kind, kinds.Table(name));
      if (!simulations::IsKindName(name)) {
        return kinds.Error(name, "a kind is named with 1 to 32 letters, digits, '_' or '-'");
      }
      simulations::SchoolKind k;
      k.name = name;
      CARTABLE_ASSIGN_OR_RETURN(k.share, kind.Real("share", 1, 0, 1e9));
      CARTABLE_ASSIGN_OR_RETURN(std::string text, kind.String("pupils", ""));
      if (text.empty()) return kind.Error("pupils", "is needed: \"MIN..MAX\" pupils a school");
      CARTABLE_ASSIGN_OR_RETURN(auto range, IntRange(kind, "pupils", text, 2, 1000000));
      std::tie(k.min_pupils, k.max_pupils) = range;
      CARTABLE_RETURN_IF_ERROR(kind.Finish());
      c.kinds.push_back(k);
    }
    double shares = 0;
    for (const simulations::SchoolKind& k : c.kinds) shares += k.share;
    if (!c.kinds.empty() && !(shares > 0)) {
      return kinds.Error(c.kinds.front().name, "every kind has share 0: no school to place");
    }
    CARTABLE_RETURN_IF_ERROR(kinds.Finish());
    return table.Finish();
  }

  Status ReadCohort(ConfigTable& table) {
    auto& c = o_.scenario.cohort;
    CARTABLE_ASSIGN_OR_RETURN(std::string generator,
                              table.String("generator", o_.generator, {"irt", "bkt"}));
    if (Takes("--generator")) o_.generator = generator;
    CARTABLE_RETURN_IF_ERROR(Integer(table, "skills", "--skills", c.skills, 1, 100000));
    CARTABLE_RETURN_IF_ERROR(Integer(table, "items_per_skill", "", c.items_per_skill, 1, 10000));
    if (table.Has("answers")) {
      CARTABLE_ASSIGN_OR_RETURN(std::string text, table.String("answers", ""));
      CARTABLE_ASSIGN_OR_RETURN(auto range, IntRange(table, "answers", text, 1, 1000000));
      std::tie(c.min_answers, c.max_answers) = range;
    }
    CARTABLE_RETURN_IF_ERROR(Real(table, "ability_shift", "", c.school_ability_spread, 0, 10));
    CARTABLE_RETURN_IF_ERROR(Real(table, "ability_spread", "", c.pupil_ability_spread, 0, 10));
    CARTABLE_RETURN_IF_ERROR(Real(table, "practice_gain", "", c.learning_rate, 0, 10));
    CARTABLE_RETURN_IF_ERROR(
        Real(table, "skill_coverage", "--skill-coverage", c.skill_coverage, 1e-9, 1));
    CARTABLE_ASSIGN_OR_RETURN(ConfigTable bkt, table.Table("bkt"));
    for (const auto& [key, field] :
         std::vector<std::pair<const char*, double*>>{{"learn", &c.bkt.learn},
                                                      {"forget", &c.bkt.forget},
                                                      {"guess", &c.bkt.guess},
                                                      {"slip", &c.bkt.slip},
                                                      {"prerequisites", &c.bkt.prerequisites},
                                                      {"blocked", &c.bkt.blocked}}) {
      CARTABLE_RETURN_IF_ERROR(Real(bkt, key, "", *field, 0, 1));
    }
    if (c.bkt.guess + c.bkt.slip >= 1) {
      return bkt.Error(bkt.Has("slip") ? "slip" : "guess",
                       "guess + slip must be below 1: mastery must help");
    }
    CARTABLE_RETURN_IF_ERROR(bkt.Finish());
    return table.Finish();
  }

  // A key whose flag (empty: none) was not given.
  bool Takes(const char* flag) const { return *flag == '\0' || !given_(flag); }

  template <typename Field>
  Status Integer(ConfigTable& t, const char* key, const char* flag, Field& field, int64_t min,
                 int64_t max) {
    CARTABLE_ASSIGN_OR_RETURN(int64_t value, t.Integer(key, static_cast<int64_t>(field), min, max));
    if (Takes(flag)) field = static_cast<Field>(value);
    return Status::Ok();
  }

  template <typename Field>
  Status Real(ConfigTable& t, const char* key, const char* flag, Field& field, double min,
              double max) {
    CARTABLE_ASSIGN_OR_RETURN(double value, t.Real(key, static_cast<double>(field), min, max));
    if (Takes(flag)) field = static_cast<Field>(value);
    return Status::Ok();
  }

  Status Text(ConfigTable& t, const char* key, const char* flag, std::string& field,
              const std::vector<std::string>& choices = {}) {
    CARTABLE_ASSIGN_OR_RETURN(std::string value, t.String(key, field, choices));
    if (Takes(flag)) field = value;
    return Status::Ok();
  }

  SimulateOptions& o_;
  const GivenFlag& given_;
};

}  // namespace

Status ApplyScenarioFile(SimulateOptions& o, const GivenFlag& given) {
  if (o.scenario_file.empty()) return Status::Ok();
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable root, ConfigTable::ReadFile(o.scenario_file));
  return Reader(o, given).Read(root);
}

}  // namespace cartable::cli
