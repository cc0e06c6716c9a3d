#pragma once

// The coordinator's allow-list: a directory of the CURVE public keys (NAME.pub) of the clients it
// admits, each under NAME, the identity the coordinator knows it by. Beside NAME.pub, NAME.sign.pub
// (when present) is that client's identity key, the Ed25519 key its secure-aggregation messages
// must be signed with; the coordinator checks each Hello against it. The directory may hold
// keygen's whole output: NAME.sign.pub is never read as a CURVE key, and secret keys (NAME.key) are
// not read at all.
//
// Bad files are handled as the caller asks. At start-up (kFail) the first bad file is an error
// naming it: better than silently locking a school out. On a reload (kSkip) the list must still
// change, so that removing a revoked key takes effect even while another file is broken: a file
// whose contents cannot be parsed, or that vanished while being read, is left out and reported in
// `skipped`; a NAME whose NAME.sign.pub is bad is left out altogether (admitting it without its
// identity key would switch off the check the key is there for); a key found under two names is
// admitted under neither. A file that exists but cannot be read (permissions, no file descriptor
// left) fails the load in both modes, so a transient failure never empties the list.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "protocol/messages.h"

namespace cartable::protocol {

struct AllowedClient {
  std::string name;                            // NAME, the stem of NAME.pub
  std::optional<PublicKeyBytes> identity_key;  // from NAME.sign.pub, when that file exists
};

struct AllowList {
  std::map<std::string, AllowedClient> clients;  // by CURVE public key (Z85)
  std::vector<Status> skipped;                   // what kSkip left out, each naming its file
  std::vector<std::string>
      secret_key_files;  // NAME.key files seen (a warning: they belong elsewhere)
};

enum class BadKeyFiles { kFail, kSkip };

StatusOr<AllowList> LoadAllowList(const std::filesystem::path& dir, BadKeyFiles bad_files);

}  // namespace cartable::protocol
