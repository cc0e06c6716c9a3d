#pragma once

// A node's identity for secure aggregation: the Ed25519 key that signs its SecAgg+ messages, and
// the roster of the other nodes' keys it checks cohorts against. The signing key is derived from
// the node's CURVE secret key (HKDF-SHA-256 with its own label), so an establishment enrolled with
// one key pair from `cartable keygen` has one identity, and keygen can publish the signing key
// beside the .pub file. A roster is a directory of NAME.sign.pub files (64 hex digits), one per
// enrolled node, which the academy distributes; with it, a coordinator cannot invent cohort members
// or swap their keys. The files themselves are read and written by protocol/key_files.h, so the
// coordinator reads them too.

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "aggregation/secagg/signing.h"
#include "core/status.h"
#include "protocol/curve_keys.h"
#include "protocol/key_files.h"

namespace cartable::node {

StatusOr<aggregation::secagg::SigningKey> SigningKeyFromCurveSecret(
    const protocol::CurveSecretKey& secret);

// The identity key of the establishment whose secret CURVE key file (NAME.key) is `key_file`.
StatusOr<std::shared_ptr<const aggregation::secagg::SigningKey>> LoadIdentity(
    const std::filesystem::path& key_file);

// The two spellings of a public key: on the wire and in files, and for the signature checks.
inline protocol::PublicKeyBytes ToWire(const aggregation::secagg::Ed25519PublicKey& key) {
  protocol::PublicKeyBytes out;
  std::copy(key.begin(), key.end(), out.begin());
  return out;
}
inline aggregation::secagg::Ed25519PublicKey FromWire(const protocol::PublicKeyBytes& key) {
  aggregation::secagg::Ed25519PublicKey out;
  std::copy(key.begin(), key.end(), out.begin());
  return out;
}

// A fresh establishment's keys, as `cartable keygen` writes them in DIR: NAME.key (secret CURVE
// key, mode 0600), NAME.pub, and NAME.sign.pub (its identity key, derived from the secret key). All
// or none: an existing file of that NAME is kAlreadyExists and nothing is written. Returns the
// CURVE pair.
StatusOr<protocol::CurveKeyPair> CreateKeySet(const std::filesystem::path& dir,
                                              const std::string& name);

// DIR/NAME.sign.pub (DIR created if missing), refusing to overwrite an existing file.
Status WriteSigningPublicKey(const std::filesystem::path& dir, const std::string& name,
                             const aggregation::secagg::Ed25519PublicKey& key);

// Every DIR/*.sign.pub, by NAME. Errors name the file; an empty directory is an error.
StatusOr<std::map<std::string, aggregation::secagg::Ed25519PublicKey>> LoadRoster(
    const std::filesystem::path& dir);

}  // namespace cartable::node
