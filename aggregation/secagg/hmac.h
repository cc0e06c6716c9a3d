#pragma once

// HMAC-SHA-256 (RFC 2104): a keyed hash. cartable uses it to turn pupil ids into pseudonyms under a
// key that never leaves the node (ingest/pseudonymizer.h), so the same pupil keeps one pseudonym at
// one school and nobody without the key can link a pseudonym back to an id. A pure function, thread
// safe.

#include <array>
#include <cstdint>
#include <span>

#include "aggregation/secagg/secret_bytes.h"
#include "core/status.h"

namespace cartable::aggregation::secagg {

using HmacSha256Tag = std::array<uint8_t, 32>;

// Refuses an empty key.
StatusOr<HmacSha256Tag> HmacSha256(const SecretBytes& key, std::span<const uint8_t> message);

}  // namespace cartable::aggregation::secagg
