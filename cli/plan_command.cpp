// `cartable plan check PLAN.toml`: validates a training plan as a coordinator would at submission,
// says what it asks for in plain words, and prints its hash. `cartable plan strategies` lists the
// strategies and their options.

#include <cstdio>
#include <iostream>
#include <memory>

#include "aggregation/strategies/strategy.h"
#include "cli/command.h"
#include "coordinator/plan.h"

namespace cartable::cli {
namespace {

int RunCheck(const std::string& path, bool canonical) {
  auto plan = coordinator::ReadPlanFile(path);
  if (!plan.ok()) return ReportFailure(plan.status());
  if (canonical) {
    std::cout << coordinator::CanonicalPlan(*plan) << "\n";
    return kExitOk;
  }
  std::cout << path << ": a valid plan.\n" << coordinator::ExplainPlan(*plan);
  return kExitOk;
}

int RunStrategies() {
  for (const auto& [name, description] : aggregation::KnownStrategies()) {
    std::printf("%-11s %s\n", name.c_str(), description.c_str());
    auto options = aggregation::StrategyOptionsOf(name);
    if (!options.ok()) continue;
    for (const auto& option : *options) {
      std::printf("  %-22s default %-8g %-10s %s\n", option.name.c_str(), option.default_value,
                  option.range.c_str(), option.meaning.c_str());
    }
  }
  return kExitOk;
}

}  // namespace

Runner AddPlanCommand(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto canonical = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "plan", "Check training plans (TOML files that say what a run is) before submitting them");
  cmd->require_subcommand(1);
  CLI::App* check = cmd->add_subcommand(
      "check",
      "Validate a plan completely, as the coordinator does when it is submitted: every error\n"
      "names the key and the reason. A valid plan is explained in plain words, with its hash\n"
      "(SHA-256 of its canonical form), which the model card, the audit log and the nodes see.\n"
      "The format, with every key and default: docs/plans.md; examples: docs/examples/plans/");
  check->add_option("plan", *path, "The plan file (TOML)")->required();
  check->add_flag("--canonical", *canonical,
                  "Print the canonical form (JSON, sorted keys, defaults filled in) that the hash "
                  "covers");
  CLI::App* strategies = cmd->add_subcommand(
      "strategies", "List the strategies a plan's [strategy] name may be, with their options");
  return [path, canonical, strategies] {
    if (strategies->parsed()) return RunStrategies();
    return RunCheck(*path, *canonical);
  };
}

}  // namespace cartable::cli
