#include "node/identity.h"

#include <fcntl.h>
#include <unistd.h>

#include <string_view>

#include "aggregation/secagg/hkdf.h"
#include "core/files.h"

namespace cartable::node {
namespace secagg = aggregation::secagg;

namespace {

constexpr std::string_view kSigningLabel = "cartable identity v1 ed25519 signing key";

std::string Hex(std::span<const uint8_t> bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

StatusOr<secagg::SigningKey> SigningKeyFromCurveSecret(const protocol::CurveSecretKey& secret) {
  const std::string& z85 = secret.z85();
  CARTABLE_ASSIGN_OR_RETURN(
      secagg::SecretBytes seed,
      secagg::HkdfSha256({reinterpret_cast<const uint8_t*>(z85.data()), z85.size()}, {},
                         {reinterpret_cast<const uint8_t*>(kSigningLabel.data()), kSigningLabel.size()},
                         secagg::kEd25519SeedSize));
  return secagg::SigningKey::FromSeed(std::move(seed));
}

Status WriteSigningPublicKey(const std::filesystem::path& dir, const std::string& name,
                             const secagg::Ed25519PublicKey& key) {
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(dir));
  const std::filesystem::path path = dir / (name + kSigningKeySuffix);
  std::error_code error;
  if (std::filesystem::exists(path, error)) {
    return AlreadyExistsError(path.string() + " exists; cartable never overwrites key files");
  }
  return WriteFileAtomically(path, Hex(key) + "\n");
}

StatusOr<std::map<std::string, secagg::Ed25519PublicKey>> LoadRoster(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::directory_iterator it(dir, error);
  if (error) return NotFoundError("roster " + dir.string() + ": " + error.message());
  std::map<std::string, secagg::Ed25519PublicKey> roster;
  const std::string suffix = kSigningKeySuffix;
  for (const auto& entry : it) {
    const std::string file = entry.path().filename().string();
    if (file.size() <= suffix.size() || file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    CARTABLE_ASSIGN_OR_RETURN(std::string text, ReadFile(entry.path()));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
    secagg::Ed25519PublicKey key{};
    bool valid = text.size() == 2 * key.size();
    for (size_t i = 0; valid && i < key.size(); ++i) {
      const int high = HexDigit(text[2 * i]), low = HexDigit(text[2 * i + 1]);
      valid = high >= 0 && low >= 0;
      key[i] = static_cast<uint8_t>(high * 16 + low);
    }
    if (!valid) {
      return InvalidArgumentError(entry.path().string() + ": expected 64 hexadecimal digits (an Ed25519 public key)");
    }
    roster.emplace(file.substr(0, file.size() - suffix.size()), key);
  }
  if (roster.empty()) return NotFoundError("roster " + dir.string() + " holds no *" + suffix + " file");
  return roster;
}

}  // namespace cartable::node
