#pragma once

// NewFiles: a few files created together under names that must not already exist, so two processes
// writing the same names at once cannot both succeed or mix their files (a .key from one run beside
// the .pub of another). Each file is first written in full to a temporary file of the target
// directory and fsynced; Publish then link()s them to their final names in the order they were
// staged. link() fails with EEXIST when a name is taken, atomically: the first to link a name owns
// it, and a writer that finds a name taken unlinks the names it had already linked and reports
// which one was taken. Temporaries are always removed. A crash between two links can leave the
// first files without the later ones; never a half-written file. Not thread safe; used by one
// writer.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cartable::protocol::internal {

class NewFiles {
 public:
  // `dir` must exist.
  explicit NewFiles(std::filesystem::path dir) : dir_(std::move(dir)) {}
  ~NewFiles();  // removes any temporary file left
  NewFiles(const NewFiles&) = delete;
  NewFiles& operator=(const NewFiles&) = delete;

  // Writes `contents` to a temporary file of the directory, with permissions `mode`, and fsyncs it.
  Status Stage(const std::string& file_name, std::string_view contents, unsigned mode);

  // Links the staged files to their names in staging order and fsyncs the directory. kAlreadyExists
  // names the first file that was taken; no file of this set is left behind then.
  Status Publish();

 private:
  struct Staged {
    std::filesystem::path temporary;
    std::filesystem::path final_path;
  };
  std::filesystem::path dir_;
  std::vector<Staged> staged_;
};

}  // namespace cartable::protocol::internal
