#include <spdlog/spdlog.h>

#include <iostream>
#include <map>
#include <utility>

#include "cli/command.h"
#include "core/memory_policy.h"
#include "core/open_file_limit.h"
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
    case StatusCode::kDataLoss:
      return kExitBadInput;  // a corrupt input file
    case StatusCode::kCancelled:
      return kExitInterrupted;
    default:
      return kExitFailed;
  }
}

void RaiseFileLimit(size_t nodes, const std::string& who) {
  auto limit = RaiseOpenFileLimit();
  if (!limit.ok()) {
    spdlog::warn("{}", limit.status().message());
    return;
  }
  spdlog::info("open-file limit: {} (hard limit {})", limit->soft, limit->hard);
  // One descriptor per node, up to 128 connections still in their handshake, and the process's own.
  const uint64_t wanted = static_cast<uint64_t>(nodes) + 256;
  if (limit->soft < wanted) {
    spdlog::warn(
        "the open-file limit {} is low for {} node(s): each connection holds a file descriptor; "
        "raise it to {} or more (systemd LimitNOFILE=, or ulimit -n in the shell that starts {})",
        limit->soft, nodes, wanted, who);
  }
}

Status ParseKeyValueFlags(const std::vector<std::string>& flags, const std::string& name,
                          const std::string& example, std::map<std::string, std::string>& into) {
  for (const std::string& flag : flags) {
    const size_t equals = flag.find('=');
    if (equals == std::string::npos || equals == 0) {
      std::string message = name;
      message.append(" '").append(flag).append("': expected KEY=VALUE, e.g. ").append(example);
      return InvalidArgumentError(message);
    }
    into[flag.substr(0, equals)] = flag.substr(equals + 1);
  }
  return Status::Ok();
}

Status ParseModelOptions(const std::vector<std::string>& flags,
                         std::map<std::string, std::string>& into) {
  return ParseKeyValueFlags(flags, "--option", "hidden_size=64", into);
}

Status CheckKeyFlags(bool insecure, bool keys_given, const std::string& needs) {
  if (insecure) {
    spdlog::warn("--insecure: no encryption and no authentication; for tests on loopback only");
    return Status::Ok();
  }
  if (keys_given) return Status::Ok();
  return InvalidArgumentError(needs + "; --insecure runs without them, for tests on loopback only");
}

}  // namespace cartable::cli

int main(int argc, char** argv) {
  using namespace cartable::cli;
  cartable::KeepLargeAllocationsMapped();
  CLI::App app(
      "cartable — federated learning for schools.\n"
      "Each establishment runs a node agent beside its own pupil data; only model updates and\n"
      "summed statistics leave it. Start with `cartable simulate` to watch a federation of\n"
      "synthetic schools train together, each school in its own process.",
      "cartable");
  app.set_version_flag("--version", std::string("cartable ") + cartable::kVersion);
  app.require_subcommand(1);
  // In the order --help lists them: first what most people run.
  const std::pair<const char*, Runner (*)(CLI::App&)> commands[] = {
      {"simulate", AddSimulateCommand}, {"coordinator", AddCoordinatorCommand},
      {"node", AddNodeCommand},         {"keygen", AddKeygenCommand},
      {"train", AddTrainCommand},       {"model", AddModelCommand},
      {"data", AddDataCommand},         {"plan", AddPlanCommand},
      {"run", AddRunCommand},           {"admin", AddAdminCommand},
      {"audit", AddAuditCommand},       {"privacy", AddPrivacyCommand},
      {"bench", AddBenchCommand}};
  std::map<CLI::App*, Runner> runners;
  for (const auto& [name, add] : commands) {
    Runner runner = add(app);
    runners[app.get_subcommand(name)] = std::move(runner);
  }
  app.footer(
      "Run `cartable COMMAND --help` for a command's options. Docs: docs/ in the source tree.");
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
