#include "ingest/oulad_source.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <unordered_map>

#include "ingest/internal/text_reader.h"

namespace cartable::ingest {
namespace {

namespace fs = std::filesystem;

constexpr const char* kModules[] = {"AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG"};

using internal::CsvTable;

struct Assessment {
  size_t index = 0;          // dense, in file order
  std::string presentation;  // "MODULE/PRESENTATION"
  int64_t date = 0;          // due day; a missing date (final exams) is the presentation's last day
  double weight = 0;
  bool due = false;  // due on or before the cut-off
};

struct Submission {
  size_t assessment = 0;
  std::optional<double> score;  // 0..100; absent when the file leaves it empty
  bool late = false;
};

struct Registration {
  std::string presentation;
  std::vector<float> features;  // the registration columns
  uint8_t outcome = 0;
  std::vector<Submission> submissions;  // made by the cut-off, for assessments due by then
};

StatusOr<std::map<std::string, double>> ReadCourses(const fs::path& dir) {
  const std::string kLength = "module_presentation_length";
  CARTABLE_ASSIGN_OR_RETURN(
      CsvTable t,
      CsvTable::Open(dir / "courses.csv", {"code_module", "code_presentation", kLength}));
  std::map<std::string, double> length;
  while (true) {
    CARTABLE_ASSIGN_OR_RETURN(bool more, t.Next());
    if (!more) return length;
    CARTABLE_ASSIGN_OR_RETURN(length[t.Get("code_module") + "/" + t.Get("code_presentation")],
                              t.Number(kLength, 1, 1000));
  }
}

StatusOr<std::unordered_map<std::string, Assessment>> ReadAssessments(
    const fs::path& dir, const std::map<std::string, double>& length, int cutoff) {
  CARTABLE_ASSIGN_OR_RETURN(
      CsvTable t, CsvTable::Open(dir / "assessments.csv", {"code_module", "code_presentation",
                                                           "id_assessment", "date", "weight"}));
  std::unordered_map<std::string, Assessment> out;
  while (true) {
    CARTABLE_ASSIGN_OR_RETURN(bool more, t.Next());
    if (!more) return out;
    Assessment a{out.size(), t.Get("code_module") + "/" + t.Get("code_presentation")};
    auto days = length.find(a.presentation);
    if (days == length.end()) return t.Bad("code_presentation", "a presentation of courses.csv");
    if (t.Get("date").empty()) {
      a.date = static_cast<int64_t>(days->second);
    } else {
      CARTABLE_ASSIGN_OR_RETURN(double date, t.Number("date", -1000, 1000));
      a.date = static_cast<int64_t>(date);
    }
    CARTABLE_ASSIGN_OR_RETURN(a.weight, t.Number("weight", 0, 100, /*integral=*/false));
    a.due = a.date <= cutoff;
    if (!out.emplace(t.Get("id_assessment"), a).second) return t.Bad("id_assessment", "unique");
  }
}

// The position of `text` in `choices`, or the error naming the field.
StatusOr<int> Category(const CsvTable& t, const std::string& name,
                       const std::vector<std::string>& choices) {
  for (size_t i = 0; i < choices.size(); ++i) {
    if (t.Get(name) == choices[i]) return static_cast<int>(i);
  }
  std::string expected = "one of";
  for (const std::string& c : choices) expected += " '" + c + "'";
  return t.Bad(name, expected);
}

StatusOr<Registration> ReadRegistration(const CsvTable& t) {
  Registration r;
  std::vector<float>& f = r.features;
  CARTABLE_ASSIGN_OR_RETURN(int gender, Category(t, "gender", {"F", "M"}));
  CARTABLE_ASSIGN_OR_RETURN(int age, Category(t, "age_band", {"0-35", "35-55", "55<="}));
  CARTABLE_ASSIGN_OR_RETURN(
      int education, Category(t, "highest_education",
                              {"No Formal quals", "Lower Than A Level", "A Level or Equivalent",
                               "HE Qualification", "Post Graduate Qualification"}));
  // "20-Oct" is how a spreadsheet once rewrote "10-20" in the published files.
  CARTABLE_ASSIGN_OR_RETURN(
      int imd, Category(t, "imd_band",
                        {"", "0-10%", "10-20%", "20-Oct", "20-30%", "30-40%", "40-50%", "50-60%",
                         "60-70%", "70-80%", "80-90%", "90-100%"}));
  CARTABLE_ASSIGN_OR_RETURN(int disability, Category(t, "disability", {"N", "Y"}));
  CARTABLE_ASSIGN_OR_RETURN(double attempts, t.Number("num_of_prev_attempts", 0, 100));
  CARTABLE_ASSIGN_OR_RETURN(double credits, t.Number("studied_credits", 0, 10000));
  CARTABLE_ASSIGN_OR_RETURN(
      int result, Category(t, "final_result", {"Pass", "Distinction", "Fail", "Withdrawn"}));
  const std::string& presentation = t.Get("code_presentation");
  if (presentation.empty() || (presentation.back() != 'B' && presentation.back() != 'J')) {
    return t.Bad("code_presentation", "a year and B (February) or J (October), e.g. 2014J");
  }
  const int decile = imd == 0 ? -1 : imd <= 2 ? imd - 1 : imd - 2;  // 0..9
  f = {static_cast<float>(gender),
       age == 1 ? 1.0f : 0.0f,
       age == 2 ? 1.0f : 0.0f,
       static_cast<float>(education) / 4.0f,
       decile < 0 ? 0.5f : (static_cast<float>(decile) + 0.5f) / 10.0f,
       decile < 0 ? 1.0f : 0.0f,
       static_cast<float>(disability),
       static_cast<float>(std::log1p(attempts)),
       static_cast<float>(std::log1p(credits / 60.0))};
  for (const char* module : kModules) f.push_back(t.Get("code_module") == module ? 1.0f : 0.0f);
  f.push_back(presentation.back() == 'B' ? 1.0f : 0.0f);
  r.presentation = t.Get("code_module") + "/" + presentation;
  r.outcome = result >= 2;
  return r;
}

// Appends the assessment columns of `r`: every assessment of its presentation due by the cut-off.
void AppendAssessmentFeatures(const Registration& r, const std::vector<const Assessment*>& due,
                              std::vector<float>& out) {
  double scored = 0, score_sum = 0, weight_sum = 0, weighted_sum = 0, plain_sum = 0,
         plain_count = 0;
  size_t submitted = 0, late = 0;
  std::map<size_t, const Submission*> made;
  for (const Submission& s : r.submissions) made[s.assessment] = &s;
  for (size_t i = 0; i < due.size(); ++i) {
    auto it = made.find(due[i]->index);
    const Submission* s = it == made.end() ? nullptr : it->second;
    if (s != nullptr) {
      ++submitted;
      late += s->late;
      if (!s->score) continue;  // submitted, score unknown: left out of the means
      scored += 1;
      score_sum += *s->score;
    }
    const double value = s != nullptr ? *s->score / 100.0 : 0.0;  // a missed assessment scores 0
    weight_sum += due[i]->weight;
    weighted_sum += due[i]->weight * value;
    plain_sum += value;
    plain_count += 1;
  }
  const double n = static_cast<double>(due.size());
  out.push_back(static_cast<float>(std::log1p(n)));
  out.push_back(n > 0 ? static_cast<float>(static_cast<double>(submitted) / n) : 0.0f);
  out.push_back(n > 0 ? static_cast<float>(static_cast<double>(late) / n) : 0.0f);
  out.push_back(scored > 0 ? static_cast<float>(score_sum / scored / 100.0) : 0.0f);
  out.push_back(weight_sum > 0    ? static_cast<float>(weighted_sum / weight_sum)
                : plain_count > 0 ? static_cast<float>(plain_sum / plain_count)
                                  : 0.0f);
}

// Adds to each registration its results known on the cut-off day, for assessments due by then.
Status ReadSubmissions(const fs::path& dir,
                       const std::unordered_map<std::string, Assessment>& assessments,
                       const std::unordered_map<std::string, size_t>& registration_of, int cutoff,
                       std::vector<Registration>& registrations) {
  CARTABLE_ASSIGN_OR_RETURN(CsvTable sa, CsvTable::Open(dir / "studentAssessment.csv",
                                                        {"id_assessment", "id_student",
                                                         "date_submitted", "is_banked", "score"}));
  while (true) {
    CARTABLE_ASSIGN_OR_RETURN(bool more, sa.Next());
    if (!more) return Status::Ok();
    auto a = assessments.find(sa.Get("id_assessment"));
    if (a == assessments.end()) return sa.Bad("id_assessment", "an assessment of assessments.csv");
    CARTABLE_ASSIGN_OR_RETURN(double submitted, sa.Number("date_submitted", -1000, 1000));
    CARTABLE_ASSIGN_OR_RETURN(double banked_flag, sa.Number("is_banked", 0, 1));
    const bool banked = banked_flag == 1;
    Submission s{a->second.index, std::nullopt, false};
    if (!sa.Get("score").empty()) {
      CARTABLE_ASSIGN_OR_RETURN(s.score, sa.Number("score", 0, 100, /*integral=*/false));
    }
    auto r = registration_of.find(sa.Get("id_student") + "/" + a->second.presentation);
    // Results after the cut-off are unknown on the cut-off day; banked ones come from an earlier
    // year.
    if (r == registration_of.end() || !a->second.due || (!banked && submitted > cutoff)) continue;
    s.late = !banked && submitted > a->second.date;
    registrations[r->second].submissions.push_back(s);
  }
}

}  // namespace

const std::vector<std::string>& OuladFeatureNames() {
  static const std::vector<std::string> names = {
      "gender_male", "age_35_55",      "age_55_plus",       "education_level", "imd_band",
      "imd_missing", "disability",     "previous_attempts", "studied_credits", "module_aaa",
      "module_bbb",  "module_ccc",     "module_ddd",        "module_eee",      "module_fff",
      "module_ggg",  "february_start", "assessments_due",   "submitted_share", "late_share",
      "mean_score",  "weighted_score"};
  return names;
}

StatusOr<models::InteractionLog> LoadOulad(const fs::path& dir, const OuladOptions& options,
                                           const Pseudonymizer* pseudonymizer) {
  if (options.cutoff_day < 0 || options.cutoff_day > 1000) {
    return InvalidArgumentError("the OULAD cut-off day must be in [0, 1000]");
  }
  CARTABLE_ASSIGN_OR_RETURN(auto courses, ReadCourses(dir));
  CARTABLE_ASSIGN_OR_RETURN(auto assessments, ReadAssessments(dir, courses, options.cutoff_day));
  std::map<std::string, std::vector<const Assessment*>> due_by;  // presentation → due by cut-off
  for (const auto& [id, a] : assessments) {
    if (a.due) due_by[a.presentation].push_back(&a);
  }
  for (auto& [presentation, due] : due_by) {  // file order, so sums add up in the same order
    std::sort(due.begin(), due.end(), [](auto* a, auto* b) { return a->index < b->index; });
  }

  CARTABLE_ASSIGN_OR_RETURN(
      CsvTable info,
      CsvTable::Open(dir / "studentInfo.csv",
                     {"code_module", "code_presentation", "id_student", "gender",
                      "highest_education", "imd_band", "age_band", "num_of_prev_attempts",
                      "studied_credits", "disability", "final_result"}));
  std::vector<Registration> registrations;
  std::unordered_map<std::string, size_t>
      registration_of;  // id_student/module/presentation; stays here
  std::unordered_map<std::string, uint32_t> pupil_of;
  std::vector<std::vector<size_t>> rows_of_pupil;
  models::InteractionLog log;
  while (true) {
    CARTABLE_ASSIGN_OR_RETURN(bool more, info.Next());
    if (!more) break;
    const std::string& student = info.Get("id_student");
    if (student.empty()) return info.Bad("id_student", "a student id");
    CARTABLE_ASSIGN_OR_RETURN(Registration r, ReadRegistration(info));
    if (!courses.contains(r.presentation))
      return info.Bad("code_presentation", "a presentation of courses.csv");
    if (!registration_of.emplace(student + "/" + r.presentation, registrations.size()).second) {
      return InvalidArgumentError(info.Where() +
                                  ": field 'id_student': the student is registered twice");
    }
    auto [it, inserted] =
        pupil_of.try_emplace(student, static_cast<uint32_t>(log.pupil_keys.size()));
    if (inserted) {
      log.pupil_keys.push_back(pseudonymizer ? pseudonymizer->Pseudonym(student)
                                             : "s" + std::to_string(log.pupil_keys.size() + 1));
      rows_of_pupil.emplace_back();
    }
    rows_of_pupil[it->second].push_back(registrations.size());
    registrations.push_back(std::move(r));
  }
  if (registrations.empty())
    return InvalidArgumentError(info.Where() + ": no registration after the header");

  CARTABLE_RETURN_IF_ERROR(
      ReadSubmissions(dir, assessments, registration_of, options.cutoff_day, registrations));

  models::PupilRecords& records = log.records;
  records.feature_names = OuladFeatureNames();
  for (uint32_t p = 0; p < rows_of_pupil.size(); ++p) {
    for (size_t row : rows_of_pupil[p]) {
      const Registration& r = registrations[row];
      records.features.insert(records.features.end(), r.features.begin(), r.features.end());
      AppendAssessmentFeatures(r, due_by[r.presentation], records.features);
      records.pupil.push_back(p);
      records.outcome.push_back(r.outcome);
    }
  }
  return log;
}

StatusOr<models::InteractionLog> LoadOuladLocation(const std::string& location,
                                                   const Pseudonymizer* pseudonymizer) {
  const size_t question = location.find('?');
  OuladOptions options;
  if (question != std::string::npos) {
    const std::string query = location.substr(question + 1);
    const std::string kKey = "cutoff=";
    int day = -1;
    auto [end, error] = std::from_chars(query.data() + std::min(query.size(), kKey.size()),
                                        query.data() + query.size(), day);
    if (query.rfind(kKey, 0) != 0 || error != std::errc() || end != query.data() + query.size() ||
        day < 0 || day > 1000) {
      return InvalidArgumentError("oulad:" + location +
                                  ": expected DIR or DIR?cutoff=DAYS with DAYS in [0, 1000]");
    }
    options.cutoff_day = day;
  }
  auto log = LoadOulad(location.substr(0, question), options, pseudonymizer);
  if (!log.ok()) return log.status().WithContext("oulad:" + location);
  return log;
}

}  // namespace cartable::ingest
