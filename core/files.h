#pragma once

// Whole-file reads and crash-safe writes. WriteFileAtomically writes a temporary file beside the
// target, fsyncs it, renames it over the target and fsyncs the directory: a reader sees the old
// file or the new one, never half of one, even if the process is killed or the machine loses power
// mid-write.

#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cartable {

StatusOr<std::string> ReadFile(const std::filesystem::path& path);

// `mode` is the permission of the new file (0600 for secrets).
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents,
                           unsigned mode = 0644);

// Creates `dir` and its parents if missing; an error names the directory.
Status EnsureDirectory(const std::filesystem::path& dir);

// errno as a Status: NOT_FOUND for ENOENT, else UNAVAILABLE; "`what` PATH: strerror".
Status OsError(std::string_view what, const std::filesystem::path& path);

// Syncs the directory holding `path`: a new file's name lives there, so without it a crash could
// lose the whole file. Best effort (errors ignored).
void SyncParentDirectory(const std::filesystem::path& path);

}  // namespace cartable
