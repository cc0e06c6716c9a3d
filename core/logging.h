#pragma once

// Logging goes through spdlog to stderr (stdout is for a command's results). SetupLogging is called
// once by each executable; libraries just call spdlog::info(...) and friends. The process name tags
// every line so that interleaved logs of a coordinator and its nodes stay readable.

#include <string_view>

#include "core/status.h"

namespace cartable {

// `level` is one of trace, debug, info, warn, error, off.
Status SetupLogging(std::string_view level, std::string_view process_name);

}  // namespace cartable
