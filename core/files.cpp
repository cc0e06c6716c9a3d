#include "core/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace cartable {
namespace {

Status ErrnoError(std::string_view what, const std::filesystem::path& path) {
  return Status(errno == ENOENT ? StatusCode::kNotFound : StatusCode::kUnavailable,
                std::string(what) + " " + path.string() + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path);
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return InvalidArgumentError(path.string() + " is not a regular file");
  }
  std::string contents;
  char buffer[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status error = ErrnoError("cannot read", path);
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    contents.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return contents;
}

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents,
                           unsigned mode) {
  const std::filesystem::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  // A stale temporary file (a crash, a recycled pid) or a planted link must not lend us its mode.
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("cannot create", tmp);
  Status written = WriteAll(fd, contents, tmp);
  if (written.ok() && ::fchmod(fd, mode) != 0) written = ErrnoError("cannot set the mode of", tmp);
  if (written.ok() && ::fsync(fd) != 0) written = ErrnoError("cannot sync", tmp);
  if (::close(fd) != 0 && written.ok()) written = ErrnoError("cannot close", tmp);
  if (written.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    written = ErrnoError("cannot rename into", path);
  }
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return Status::Ok();
}

Status EnsureDirectory(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return UnavailableError("cannot create directory " + dir.string() + ": " + error.message());
  }
  return Status::Ok();
}

Status OsError(std::string_view what, const std::filesystem::path& path) {
  return Status(errno == ENOENT ? StatusCode::kNotFound : StatusCode::kUnavailable,
                std::string(what) + " " + path.string() + ": " + std::strerror(errno));
}

void SyncParentDirectory(const std::filesystem::path& path) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace cartable
