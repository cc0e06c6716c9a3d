#include <iostream>
#include <map>

#include "cli/command.h"
#include "core/version.h"

namespace cartable::cli {

int ReportFailure(const Status& status) {
  const char* what = status.code() == StatusCode::kCancelled ? "stopped" : "error";
  std::cerr << "cartable: " << what << ": " << status.message() << "\n";
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
    case StatusCode::kOutOfRange:
    case StatusCode::kDataLoss: return kExitBadInput;  // a corrupt input file
    case StatusCode::kCancelled: return kExitInterrupted;
    default: return kExitFailed;
  }
}

}  // namespace cartable::cli

int main(int argc, char** argv) {
  using namespace cartable::cli;
  CLI::App app(
      "cartable — federated learning for schools.\n"
      "Each establishment runs a node agent beside its own pupil data; only aggregated model updates\n"
      "leave it. Start with `cartable simulate` to watch a whole federation of synthetic schools train\n"
      "together, each school in its own process.",
      "cartable");
  app.set_version_flag("--version", std::string("cartable ") + cartable::kVersion);
  app.require_subcommand(1);
  std::map<CLI::App*, Runner> runners;
  Runner simulate = AddSimulateCommand(app);
  runners[app.get_subcommand("simulate")] = simulate;
  Runner node = AddNodeCommand(app);
  runners[app.get_subcommand("node")] = node;
  Runner coordinator = AddCoordinatorCommand(app);
  runners[app.get_subcommand("coordinator")] = coordinator;
  Runner keygen = AddKeygenCommand(app);
  runners[app.get_subcommand("keygen")] = keygen;
  Runner bench = AddBenchCommand(app);
  runners[app.get_subcommand("bench")] = bench;
  Runner data = AddDataCommand(app);
  runners[app.get_subcommand("data")] = data;
  Runner train = AddTrainCommand(app);
  runners[app.get_subcommand("train")] = train;
  Runner model = AddModelCommand(app);
  runners[app.get_subcommand("model")] = model;
  app.footer("Run `cartable COMMAND --help` for a command's options. Docs: docs/ in the source tree.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message
    return kExitBadInput;
  }
  for (auto& [sub, runner] : runners) {
    if (sub->parsed()) return runner();
  }
  return kExitBadInput;
}
