#pragma once

// The key files of one party, told apart by their names. `cartable keygen --name NAME` writes three
// files into one directory:
//   NAME.key       CURVE secret key (Z85, mode 0600): stays on the machine it was made for
//   NAME.pub       CURVE public key (Z85): the coordinator's allow-list is a directory of these,
//   and a
//                  node pins the coordinator's
//   NAME.sign.pub  Ed25519 identity key (64 hex digits) derived from NAME.key, which signs the
//   party's
//                  secure-aggregation messages: the roster is a directory of these
// A file's kind follows from its name alone (".sign.pub" is tested before ".pub"), and no key name
// may end in ".sign", so NAME.sign.pub is never mistaken for the CURVE key of "NAME.sign". Files
// whose name starts with a dot (temporaries, editors' backups) are no key files. Key files are
// created, never overwritten, and a set of them is created so that concurrent writers cannot both
// succeed.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "protocol/curve_keys.h"
#include "protocol/messages.h"

namespace cartable::protocol {

inline constexpr std::string_view kCurveSecretKeySuffix = ".key";
inline constexpr std::string_view kCurvePublicKeySuffix = ".pub";
inline constexpr std::string_view kIdentityKeySuffix = ".sign.pub";

enum class KeyFileKind { kCurveSecret, kCurvePublic, kIdentity, kOther };

struct KeyFileName {
  KeyFileKind kind = KeyFileKind::kOther;
  std::string name;  // the key's name: the file name without its suffix ("" for kOther)
};

// What a file is, by its name (the directory part is ignored).
KeyFileName ClassifyKeyFile(const std::filesystem::path& file);

// A name keygen may write: non-empty, no '/', no leading dot, not ending in ".sign".
Status CheckKeyName(const std::string& name);

// Reads NAME.sign.pub: 64 hexadecimal digits, comment lines (#) and blank lines allowed. Errors
// name the file; one that holds a CURVE key instead says so.
StatusOr<PublicKeyBytes> LoadIdentityKey(const std::filesystem::path& path);

// Writes DIR/NAME.sign.pub (DIR created if missing); kAlreadyExists if the file exists.
Status WriteIdentityKey(const std::filesystem::path& dir, const std::string& name,
                        const PublicKeyBytes& key);

// Every DIR/NAME.sign.pub, by NAME (possibly none). The first malformed file is an error naming it.
StatusOr<std::map<std::string, PublicKeyBytes>> LoadIdentityKeys(const std::filesystem::path& dir);

// keygen's files for NAME in DIR (created if missing): NAME.key, NAME.pub, and NAME.sign.pub when
// `identity_key` is given, secret key first. Either all of them are created or none is:
// kAlreadyExists, naming the key, when one of them exists or another writer takes one of the names
// first.
Status WriteKeySet(const std::filesystem::path& dir, const std::string& name,
                   const CurveKeyPair& pair, const std::optional<PublicKeyBytes>& identity_key);

// The text forms: 64 lowercase hex digits, and its parse (nullopt unless exactly 64 hex digits).
std::string IdentityKeyHex(const PublicKeyBytes& key);
std::optional<PublicKeyBytes> ParseIdentityKeyHex(std::string_view hex);

}  // namespace cartable::protocol
