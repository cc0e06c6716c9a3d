#pragma once

// CURVE key pairs (Curve25519, as ZeroMQ's CurveZMQ uses them) and the files that hold them. Keys
// are 40-character Z85 strings. A pair NAME lives in two files of one directory:
//   NAME.pub  the public key (shareable; the coordinator's allow-list is a directory of these)
//   NAME.key  the secret key, mode 0600
// Each file holds comment lines starting with '#' and one key line. Secret keys are wiped from
// memory when their holder is destroyed and are never logged. key_files.h tells these files from
// the identity keys (NAME.sign.pub) beside them; allow_list.h reads a directory of them.

#include <filesystem>
#include <string>

#include "core/status.h"

namespace cartable::protocol {

class CurveSecretKey {
 public:
  explicit CurveSecretKey(std::string z85) : z85_(std::move(z85)) {}
  ~CurveSecretKey();
  CurveSecretKey(CurveSecretKey&& other) noexcept;
  CurveSecretKey& operator=(CurveSecretKey&& other) noexcept;
  CurveSecretKey(const CurveSecretKey&) = delete;
  CurveSecretKey& operator=(const CurveSecretKey&) = delete;

  // For handing to ZeroMQ only.
  const std::string& z85() const { return z85_; }

 private:
  std::string z85_;
};

struct CurveKeyPair {
  std::string public_key;  // Z85
  CurveSecretKey secret_key;
};

StatusOr<CurveKeyPair> GenerateCurveKeyPair();

// Writes DIR/NAME.key (0600) then DIR/NAME.pub, creating DIR; kAlreadyExists if either exists or
// another writer creates one of them first (never one file of each writer).
Status WriteCurveKeyPair(const std::filesystem::path& dir, const std::string& name,
                         const CurveKeyPair& pair);

// Reads a public key file (NAME.pub) or a bare Z85 key; errors name the file and the problem.
StatusOr<std::string> LoadCurvePublicKey(const std::filesystem::path& path);

// Reads a secret key file (NAME.key) and derives its public key. Warns nothing: refuses a secret
// file readable by group or others.
StatusOr<CurveKeyPair> LoadCurveKeyPair(const std::filesystem::path& secret_key_file);

// True for a syntactically valid 40-character Z85 key.
bool IsZ85Key(const std::string& key);

}  // namespace cartable::protocol
