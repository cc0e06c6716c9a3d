#include "ingest/pseudonymizer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "aggregation/secagg/hkdf.h"
#include "aggregation/secagg/hmac.h"
#include "core/files.h"

namespace cartable::ingest {
namespace {

constexpr size_t kKeyBytes = 32;

Status CreateKeyFile(const std::filesystem::path& path) {
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(path.parent_path().empty() ? "." : path.parent_path()));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return UnavailableError("cannot create " + path.string() + ": " + std::strerror(errno));
  aggregation::secagg::SecretBytes key = aggregation::secagg::SecretBytes::Random(kKeyBytes);
  const bool written =
      ::write(fd, key.span().data(), kKeyBytes) == static_cast<ssize_t>(kKeyBytes) &&
      ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return UnavailableError("cannot write " + path.string());
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Pseudonymizer> Pseudonymizer::LoadOrCreate(const std::filesystem::path& key_file) {
  if (!std::filesystem::exists(key_file)) CARTABLE_RETURN_IF_ERROR(CreateKeyFile(key_file));
  struct stat info {};
  if (::stat(key_file.c_str(), &info) != 0)
    return NotFoundError("cannot read " + key_file.string());
  if (info.st_mode & 077) {
    return PermissionDeniedError(
        key_file.string() + " (pseudonymisation key) is readable by others; run chmod 600 on it");
  }
  CARTABLE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(key_file));
  if (bytes.size() != kKeyBytes) {
    explicit_bzero(bytes.data(), bytes.size());
    return InvalidArgumentError(key_file.string() + " is not a 32-byte pseudonymisation key");
  }
  auto key = aggregation::secagg::SecretBytes::CopyFrom(
      {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  explicit_bzero(bytes.data(), bytes.size());
  return Pseudonymizer(std::move(key));
}

std::string Pseudonymizer::Pseudonym(std::string_view pupil_id) const {
  auto tag = aggregation::secagg::HmacSha256(
      key_, {reinterpret_cast<const uint8_t*>(pupil_id.data()), pupil_id.size()});
  CARTABLE_CHECK(tag.ok()) << "HMAC-SHA-256 with a valid key failed: " << tag.status();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "p";
  for (size_t i = 0; i < 16; ++i) {
    out.push_back(kHex[(*tag)[i] >> 4]);
    out.push_back(kHex[(*tag)[i] & 0xf]);
  }
  return out;
}

std::filesystem::path DefaultPseudonymKeyFile() {
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr ? home : ".") /
         ".local/state/cartable/pseudonym.key";
}

Status InsecureWriteSeededPseudonymKey(uint64_t seed, std::string_view school,
                                       const std::filesystem::path& key_file) {
  const std::string info = "cartable simulation pseudonym key " + std::string(school);
  CARTABLE_ASSIGN_OR_RETURN(aggregation::secagg::SecretBytes key,
                            aggregation::secagg::InsecureHkdfSha256FromSeed(seed, info, kKeyBytes));
  return WriteFileAtomically(
      key_file, {reinterpret_cast<const char*>(key.span().data()), key.span().size()}, 0600);
}

}  // namespace cartable::ingest
