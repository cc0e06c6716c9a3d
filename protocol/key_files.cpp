#include "protocol/key_files.h"

#include <string.h>

#include <algorithm>
#include <sstream>
#include <vector>

#include "core/files.h"
#include "protocol/internal/new_files.h"

namespace cartable::protocol {
namespace {

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The one line of a key file that is neither blank nor a comment; "" when there is none, nullopt
// when there are several.
std::optional<std::string> KeyLine(const std::string& contents) {
  std::istringstream lines(contents);
  std::string line, key;
  while (std::getline(lines, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (!key.empty()) return std::nullopt;
    key = line;
  }
  return key;
}

}  // namespace

KeyFileName ClassifyKeyFile(const std::filesystem::path& file) {
  const std::string base = file.filename().string();
  if (base.empty() || base[0] == '.') return {};
  for (auto [suffix, kind] : {std::pair{kIdentityKeySuffix, KeyFileKind::kIdentity},
                              std::pair{kCurvePublicKeySuffix, KeyFileKind::kCurvePublic},
                              std::pair{kCurveSecretKeySuffix, KeyFileKind::kCurveSecret}}) {
    if (EndsWith(base, suffix)) return {kind, base.substr(0, base.size() - suffix.size())};
  }
  return {};
}

Status CheckKeyName(const std::string& name) {
  const bool control = std::any_of(name.begin(), name.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (name.empty() || name[0] == '.' || name.find('/') != std::string::npos || control) {
    return InvalidArgumentError(
        "key name '" + name +
        "' must be non-empty, without '/', control characters or a leading dot");
  }
  if (EndsWith(name, ".sign")) {
    return InvalidArgumentError("key name '" + name + "' must not end in '.sign': " + name +
                                ".pub would be taken for the identity key of '" +
                                name.substr(0, name.size() - 5) + "'");
  }
  return Status::Ok();
}

std::string IdentityKeyHex(const PublicKeyBytes& key) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : key) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::optional<PublicKeyBytes> ParseIdentityKeyHex(std::string_view hex) {
  PublicKeyBytes key{};
  if (hex.size() != 2 * key.size()) return std::nullopt;
  for (size_t i = 0; i < key.size(); ++i) {
    const int high = HexDigit(hex[2 * i]), low = HexDigit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    key[i] = static_cast<uint8_t>(high * 16 + low);
  }
  return key;
}

StatusOr<PublicKeyBytes> LoadIdentityKey(const std::filesystem::path& path) {
  CARTABLE_ASSIGN_OR_RETURN(std::string contents, ReadFile(path));
  const std::optional<std::string> line = KeyLine(contents);
  if (!line) return InvalidArgumentError(path.string() + ": more than one key line");
  if (auto key = ParseIdentityKeyHex(*line)) return *key;
  if (IsZ85Key(*line)) {
    return InvalidArgumentError(path.string() +
                                ": holds a CURVE public key (Z85), not an identity key: " +
                                "copy NAME.sign.pub from cartable keygen's output instead");
  }
  return InvalidArgumentError(path.string() +
                              ": expected 64 hexadecimal digits (an Ed25519 identity key)");
}

Status WriteIdentityKey(const std::filesystem::path& dir, const std::string& name,
                        const PublicKeyBytes& key) {
  CARTABLE_RETURN_IF_ERROR(CheckKeyName(name));
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(dir));
  internal::NewFiles files(dir);
  CARTABLE_RETURN_IF_ERROR(
      files.Stage(name + std::string(kIdentityKeySuffix), IdentityKeyHex(key) + "\n", 0644));
  Status published = files.Publish();
  if (published.code() == StatusCode::kAlreadyExists) {
    return AlreadyExistsError(published.message() + "; cartable never overwrites key files");
  }
  return published;
}

StatusOr<std::map<std::string, PublicKeyBytes>> LoadIdentityKeys(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::directory_iterator it(dir, error);
  if (error)
    return NotFoundError("cannot read key directory " + dir.string() + ": " + error.message());
  std::map<std::string, PublicKeyBytes> keys;
  for (const auto& entry : it) {
    const KeyFileName file = ClassifyKeyFile(entry.path());
    if (file.kind != KeyFileKind::kIdentity) continue;
    CARTABLE_ASSIGN_OR_RETURN(keys[file.name], LoadIdentityKey(entry.path()));
  }
  return keys;
}

Status WriteKeySet(const std::filesystem::path& dir, const std::string& name,
                   const CurveKeyPair& pair, const std::optional<PublicKeyBytes>& identity_key) {
  CARTABLE_RETURN_IF_ERROR(CheckKeyName(name));
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(dir));
  internal::NewFiles files(dir);
  std::string secret = "# cartable CURVE secret key of " + name + ". Keep it on this machine.\n" +
                       pair.secret_key.z85() + "\n";
  Status staged = files.Stage(name + std::string(kCurveSecretKeySuffix), secret, 0600);
  explicit_bzero(secret.data(), secret.size());
  CARTABLE_RETURN_IF_ERROR(staged);
  CARTABLE_RETURN_IF_ERROR(
      files.Stage(name + std::string(kCurvePublicKeySuffix),
                  "# cartable CURVE public key of " + name + "\n" + pair.public_key + "\n", 0644));
  if (identity_key) {
    CARTABLE_RETURN_IF_ERROR(files.Stage(name + std::string(kIdentityKeySuffix),
                                         IdentityKeyHex(*identity_key) + "\n", 0644));
  }
  Status published = files.Publish();
  if (published.code() == StatusCode::kAlreadyExists) {
    return AlreadyExistsError("a key named '" + name + "' already exists in " + dir.string() +
                              " (" + published.message() + "); refusing to overwrite it");
  }
  return published;
}

}  // namespace cartable::protocol
