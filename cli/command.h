#pragma once

// How the `cartable` executable is put together: each subcommand registers its options on the CLI11
// app and returns the function that runs it once the command line has parsed. Subcommands are thin:
// they turn options into library calls and statuses into messages and exit codes.

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace cartable::cli {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;    // the work itself failed (a run that could not finish)
inline constexpr int kExitBadInput = 2;  // bad command line, config or input file
inline constexpr int kExitInterrupted = 130;

using Runner = std::function<int()>;

Runner AddSimulateCommand(CLI::App& app);
Runner AddNodeCommand(CLI::App& app);
Runner AddCoordinatorCommand(CLI::App& app);
Runner AddKeygenCommand(CLI::App& app);
Runner AddBenchCommand(CLI::App& app);
Runner AddDataCommand(CLI::App& app);
Runner AddTrainCommand(CLI::App& app);
Runner AddModelCommand(CLI::App& app);
Runner AddAdminCommand(CLI::App& app);
Runner AddPlanCommand(CLI::App& app);
Runner AddRunCommand(CLI::App& app);
Runner AddAuditCommand(CLI::App& app);
Runner AddPrivacyCommand(CLI::App& app);
// `cartable node pool`, under the node command.
Runner AddNodePoolCommand(CLI::App& node);

// True when the flag was given on the command line: a flag given overrides a configuration file.
using GivenFlag = std::function<bool(const std::string& flag)>;

// Prints "cartable: error: <message>" (or "stopped" when cancelled) to stderr and maps the status
// to an exit code.
int ReportFailure(const Status& status);

// Every connection holds a file descriptor until it closes: raises the process's open-file limit as
// far as it may, and warns naming `who` (what the operator starts) when that is low for `nodes`
// connections plus the handshakes in flight.
void RaiseFileLimit(size_t nodes, const std::string& who);

// The key flags of a socket that speaks CURVE: under --insecure, a warning that nothing is
// encrypted or authenticated; otherwise, unless `keys_given`, an error saying what `needs` (e.g. "a
// node needs --key (…) and --coordinator-key (…)") and that --insecure runs without them.
Status CheckKeyFlags(bool insecure, bool keys_given, const std::string& needs);

// Repeated KEY=VALUE flags into `into`; an error names the flag (`name`, e.g. "--option") and
// shows `example`.
Status ParseKeyValueFlags(const std::vector<std::string>& flags, const std::string& name,
                          const std::string& example, std::map<std::string, std::string>& into);

// --option KEY=VALUE flags (model hyperparameters) into `into`; an error names the bad flag.
Status ParseModelOptions(const std::vector<std::string>& flags,
                         std::map<std::string, std::string>& into);

}  // namespace cartable::cli
