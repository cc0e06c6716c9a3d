#include "node/identity.h"

#include <string_view>

#include "aggregation/secagg/hkdf.h"

namespace cartable::node {
namespace secagg = aggregation::secagg;

namespace {

constexpr std::string_view kSigningLabel = "cartable identity v1 ed25519 signing key";

}  // namespace

StatusOr<secagg::SigningKey> SigningKeyFromCurveSecret(const protocol::CurveSecretKey& secret) {
  const std::string& z85 = secret.z85();
  CARTABLE_ASSIGN_OR_RETURN(
      secagg::SecretBytes seed,
      secagg::HkdfSha256(
          {reinterpret_cast<const uint8_t*>(z85.data()), z85.size()}, {},
          {reinterpret_cast<const uint8_t*>(kSigningLabel.data()), kSigningLabel.size()},
          secagg::kEd25519SeedSize));
  return secagg::SigningKey::FromSeed(std::move(seed));
}

StatusOr<std::shared_ptr<const secagg::SigningKey>> LoadIdentity(
    const std::filesystem::path& key_file) {
  CARTABLE_ASSIGN_OR_RETURN(protocol::CurveKeyPair keys, protocol::LoadCurveKeyPair(key_file));
  CARTABLE_ASSIGN_OR_RETURN(secagg::SigningKey key, SigningKeyFromCurveSecret(keys.secret_key));
  return std::make_shared<const secagg::SigningKey>(std::move(key));
}

StatusOr<protocol::CurveKeyPair> CreateKeySet(const std::filesystem::path& dir,
                                              const std::string& name) {
  CARTABLE_ASSIGN_OR_RETURN(protocol::CurveKeyPair pair, protocol::GenerateCurveKeyPair());
  CARTABLE_ASSIGN_OR_RETURN(secagg::SigningKey identity,
                            SigningKeyFromCurveSecret(pair.secret_key));
  CARTABLE_RETURN_IF_ERROR(protocol::WriteKeySet(dir, name, pair, ToWire(identity.PublicKey())));
  return pair;
}

Status WriteSigningPublicKey(const std::filesystem::path& dir, const std::string& name,
                             const secagg::Ed25519PublicKey& key) {
  return protocol::WriteIdentityKey(dir, name, ToWire(key));
}

StatusOr<std::map<std::string, secagg::Ed25519PublicKey>> LoadRoster(
    const std::filesystem::path& dir) {
  auto keys = protocol::LoadIdentityKeys(dir);
  if (!keys.ok()) return keys.status().WithContext("roster");
  if (keys->empty()) {
    return NotFoundError("roster " + dir.string() + " holds no *" +
                         std::string(protocol::kIdentityKeySuffix) + " file");
  }
  std::map<std::string, secagg::Ed25519PublicKey> roster;
  for (const auto& [name, key] : *keys) roster.emplace(name, FromWire(key));
  return roster;
}

}  // namespace cartable::node
