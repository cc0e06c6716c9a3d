// `cartable data check FORMAT:PATH`: what a data file holds and what looks wrong, without writing
// anything.

#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "ingest/data_summary.h"
#include "ingest/formats.h"

namespace cartable::cli {
namespace {

int RunCheck(const std::string& spec, bool json) {
  auto log = ingest::LoadData(spec);
  if (!log.ok()) return ReportFailure(log.status());
  const ingest::DataSummary s = ingest::Summarize(*log);
  if (json) {
    std::cout << nlohmann::json{{"data", spec},
                                {"pupils", s.pupils},
                                {"answers", s.answers},
                                {"skills_seen", s.skills_seen},
                                {"skill_space", s.skill_space},
                                {"items_seen", s.items_seen},
                                {"item_space", s.item_space},
                                {"correct_rate", s.correct_rate},
                                {"answers_per_pupil",
                                 {{"min", s.min_answers_per_pupil},
                                  {"median", s.median_answers_per_pupil},
                                  {"max", s.max_answers_per_pupil}}},
                                {"records",
                                 {{"count", s.records},
                                  {"columns", s.record_columns},
                                  {"outcome_rate", s.outcome_rate}}},
                                {"problems", s.problems}}
                     .dump(2)
              << std::endl;
    return kExitOk;
  }
  std::printf("%s\n", spec.c_str());
  std::printf("  pupils            %zu\n", s.pupils);
  if (s.answers > 0 || s.records == 0) {  // a records-only log (e.g. oulad) has no answer lines
    std::printf("  answers           %zu (per pupil: min %zu, median %zu, max %zu)\n", s.answers,
                s.min_answers_per_pupil, s.median_answers_per_pupil, s.max_answers_per_pupil);
    std::printf("  skills            %zu seen, ids 0..%u\n", s.skills_seen, s.skill_space - 1);
    if (s.item_space > 0) {
      std::printf("  items             %zu seen, ids 0..%u\n", s.items_seen, s.item_space - 1);
    }
    std::printf("  right answers     %.1f %%\n", 100 * s.correct_rate);
  }
  if (s.records > 0) {
    std::string columns;
    for (const std::string& c : s.record_columns) columns += (columns.empty() ? "" : ", ") + c;
    std::printf("  records           %zu (outcome 1: %.1f %%)\n", s.records, 100 * s.outcome_rate);
    std::printf("  record columns    %zu: %s\n", s.record_columns.size(), columns.c_str());
  }
  if (s.problems.empty()) {
    std::printf("  problems          none found\n");
  } else {
    for (const std::string& p : s.problems) std::printf("  problem           %s\n", p.c_str());
  }
  return kExitOk;
}

}  // namespace

Runner AddDataCommand(CLI::App& app) {
  auto spec = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("data", "Look at data files before using them");
  cmd->require_subcommand(1);
  CLI::App* check = cmd->add_subcommand(
      "check",
      "Load FORMAT:PATH as a node would, print what it holds and what looks wrong; write nothing.\n"
      "A file that cannot be read is reported with its line and field, and exit code 2.");
  check->add_option("data", *spec, "FORMAT:PATH, e.g. csv:answers.csv or oulad:data/oulad")
      ->required();
  check->add_flag("--json", *json, "Print the summary as JSON");
  return [spec, json] { return RunCheck(*spec, *json); };
}

}  // namespace cartable::cli
