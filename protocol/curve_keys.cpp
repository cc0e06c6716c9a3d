#include "protocol/curve_keys.h"

#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include <array>
#include <cstdint>
#include <sstream>

#include "core/files.h"
#include "protocol/key_files.h"

namespace cartable::protocol {
namespace {

StatusOr<std::string> ReadKeyLine(const std::filesystem::path& path) {
  CARTABLE_ASSIGN_OR_RETURN(std::string contents, ReadFile(path));
  std::istringstream lines(contents);
  std::string line, key;
  while (std::getline(lines, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (!key.empty()) return InvalidArgumentError(path.string() + ": more than one key line");
    key = line;
  }
  explicit_bzero(contents.data(), contents.size());
  if (!IsZ85Key(key)) {
    const bool identity_key = ParseIdentityKeyHex(key).has_value();
    explicit_bzero(key.data(), key.size());
    if (identity_key) {
      return InvalidArgumentError(path.string() +
                                  ": holds an identity key (64 hex digits, a NAME.sign.pub), " +
                                  "not a CURVE key: use NAME.pub");
    }
    return InvalidArgumentError(path.string() + ": no valid 40-character Z85 key");
  }
  return key;
}

}  // namespace

CurveSecretKey::~CurveSecretKey() { explicit_bzero(z85_.data(), z85_.size()); }
CurveSecretKey::CurveSecretKey(CurveSecretKey&& other) noexcept : z85_(std::move(other.z85_)) {
  explicit_bzero(other.z85_.data(), other.z85_.size());
  other.z85_.clear();
}
CurveSecretKey& CurveSecretKey::operator=(CurveSecretKey&& other) noexcept {
  explicit_bzero(z85_.data(), z85_.size());
  z85_ = std::move(other.z85_);
  explicit_bzero(other.z85_.data(), other.z85_.size());
  other.z85_.clear();
  return *this;
}

bool IsZ85Key(const std::string& key) {
  if (key.size() != 40) return false;
  std::array<uint8_t, 32> decoded{};
  return zmq_z85_decode(decoded.data(), key.c_str()) != nullptr;
}

StatusOr<CurveKeyPair> GenerateCurveKeyPair() {
  char public_key[41] = {};
  char secret_key[41] = {};
  if (zmq_curve_keypair(public_key, secret_key) != 0) {
    return UnavailableError("this ZeroMQ was built without CURVE support");
  }
  CurveKeyPair pair{public_key, CurveSecretKey(secret_key)};
  explicit_bzero(secret_key, sizeof(secret_key));
  return pair;
}

Status WriteCurveKeyPair(const std::filesystem::path& dir, const std::string& name,
                         const CurveKeyPair& pair) {
  return WriteKeySet(dir, name, pair, std::nullopt);
}

StatusOr<std::string> LoadCurvePublicKey(const std::filesystem::path& path) {
  return ReadKeyLine(path);
}

StatusOr<CurveKeyPair> LoadCurveKeyPair(const std::filesystem::path& secret_key_file) {
  struct stat info {};
  if (::stat(secret_key_file.c_str(), &info) != 0) {
    return NotFoundError("cannot read secret key " + secret_key_file.string());
  }
  if (info.st_mode & 077) {
    return PermissionDeniedError(secret_key_file.string() +
                                 " is readable by others; run chmod 600 on it first");
  }
  CARTABLE_ASSIGN_OR_RETURN(std::string secret, ReadKeyLine(secret_key_file));
  char public_key[41] = {};
  if (zmq_curve_public(public_key, secret.c_str()) != 0) {
    explicit_bzero(secret.data(), secret.size());
    return InvalidArgumentError(secret_key_file.string() + ": not a usable CURVE secret key");
  }
  return CurveKeyPair{public_key, CurveSecretKey(std::move(secret))};
}

}  // namespace cartable::protocol
