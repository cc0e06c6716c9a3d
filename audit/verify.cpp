#include "audit/verify.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <vector>

#include "audit/internal/chain_checker.h"
#include "audit/internal/entry.h"

namespace cartable::audit {
namespace {

StatusOr<internal::Expectations> MakeExpectations(const std::optional<std::string>& head,
                                                  std::optional<size_t> entries) {
  internal::Expectations expected{head, entries};
  if (expected.head) {
    std::string& hex = *expected.head;
    std::transform(hex.begin(), hex.end(), hex.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!internal::IsHash(hex)) {
      return InvalidArgumentError("the expected head of an audit log is 64 hex digits, not '" +
                                  hex.substr(0, 80) + "'");
    }
  }
  return expected;
}

}  // namespace

StatusOr<VerifyResult> VerifyAuditLog(const std::filesystem::path& path,
                                      const std::optional<std::string>& expected_head,
                                      std::optional<size_t> expected_entries) {
  CARTABLE_ASSIGN_OR_RETURN(internal::Expectations expected,
                            MakeExpectations(expected_head, expected_entries));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status(errno == ENOENT ? StatusCode::kNotFound : StatusCode::kUnavailable,
                  "cannot open the audit log " + path.string() + ": " + std::strerror(errno));
  }
  struct stat info {};
  StatusOr<VerifyResult> result =
      ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode)
          ? internal::VerifyFileDescriptor(fd, path, std::move(expected))
          : StatusOr<VerifyResult>(
                InvalidArgumentError("the audit log " + path.string() + " is not a regular file"));
  ::close(fd);
  return result;
}

StatusOr<VerifyResult> VerifyAuditLog(std::istream& in, std::string_view name,
                                      const std::optional<std::string>& expected_head,
                                      std::optional<size_t> expected_entries) {
  CARTABLE_ASSIGN_OR_RETURN(internal::Expectations expected,
                            MakeExpectations(expected_head, expected_entries));
  internal::ChainChecker checker(std::string(name), std::move(expected));
  std::vector<char> buffer(size_t{1} << 16);
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
    CARTABLE_RETURN_IF_ERROR(checker.Feed({buffer.data(), static_cast<size_t>(in.gcount())}));
  }
  if (in.bad()) return UnavailableError("cannot read the audit log " + std::string(name));
  return checker.Finish();
}

}  // namespace cartable::audit
