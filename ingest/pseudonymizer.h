#pragma once

// Pseudonymizer: turns pupil ids into pseudonyms at ingestion, as HMAC-SHA-256 under a key that
// never leaves the node. A pupil keeps one pseudonym at one school across runs (continuity for
// local personalisation); without the key nobody can link a pseudonym to an id, and two schools'
// pseudonyms of the same id are unrelated. The key is created on first use (32 random bytes, mode
// 0600); a key file readable by others is refused. Immutable once loaded, so thread safe.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "aggregation/secagg/secret_bytes.h"
#include "core/status.h"

namespace cartable::ingest {

class Pseudonymizer {
 public:
  static StatusOr<Pseudonymizer> LoadOrCreate(const std::filesystem::path& key_file);

  // "p" followed by 32 hex digits (128 bits of the HMAC).
  std::string Pseudonym(std::string_view pupil_id) const;

 private:
  explicit Pseudonymizer(aggregation::secagg::SecretBytes key) : key_(std::move(key)) {}
  aggregation::secagg::SecretBytes key_;
};

// Where a node keeps its key unless told otherwise: $HOME/.local/state/cartable/pseudonym.key.
std::filesystem::path DefaultPseudonymKeyFile();

// For simulations only: writes to `key_file` (mode 0600, replacing it; its directory must exist) a
// key derived with HKDF-SHA-256 from `seed` and `school`, so that a simulation, whose split by
// pupil depends on the pseudonyms, is reproducible. Whoever knows the seed can derive the key and
// link pseudonyms to ids: a real school's key is the random one LoadOrCreate makes.
[[nodiscard]] Status InsecureWriteSeededPseudonymKey(uint64_t seed, std::string_view school,
                                                     const std::filesystem::path& key_file);

}  // namespace cartable::ingest
