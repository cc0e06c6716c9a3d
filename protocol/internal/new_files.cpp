#include "protocol/internal/new_files.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cartable::protocol::internal {
namespace {

Status ErrnoError(std::string_view what, const std::filesystem::path& path) {
  return UnavailableError(std::string(what) + " " + path.string() + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

NewFiles::~NewFiles() {
  for (const Staged& file : staged_) ::unlink(file.temporary.c_str());
}

Status NewFiles::Stage(const std::string& file_name, std::string_view contents, unsigned mode) {
  // mkstemp picks a name nobody holds and creates it 0600, so a secret is never readable, even
  // briefly.
  std::string name = (dir_ / ("." + file_name + ".XXXXXX")).string();
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot create a temporary file in", dir_);
  staged_.push_back({name, dir_ / file_name});
  Status written = WriteAll(fd, contents, name);
  if (written.ok() && ::fchmod(fd, mode) != 0) written = ErrnoError("cannot set the mode of", name);
  if (written.ok() && ::fsync(fd) != 0) written = ErrnoError("cannot sync", name);
  if (::close(fd) != 0 && written.ok()) written = ErrnoError("cannot close", name);
  return written;
}

Status NewFiles::Publish() {
  size_t linked = 0;
  Status outcome = Status::Ok();
  for (; linked < staged_.size(); ++linked) {
    const Staged& file = staged_[linked];
    if (::link(file.temporary.c_str(), file.final_path.c_str()) == 0) continue;
    outcome = errno == EEXIST ? AlreadyExistsError(file.final_path.string() + " exists")
                              : ErrnoError("cannot create", file.final_path);
    break;
  }
  if (!outcome.ok()) {
    // Only names this writer linked are removed: link() gave them to no one else.
    for (size_t i = 0; i < linked; ++i) ::unlink(staged_[i].final_path.c_str());
  }
  for (const Staged& file : staged_) ::unlink(file.temporary.c_str());
  staged_.clear();
  const int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    if (::fsync(dir_fd) != 0 && outcome.ok()) outcome = ErrnoError("cannot sync directory", dir_);
    ::close(dir_fd);
  }
  return outcome;
}

}  // namespace cartable::protocol::internal
