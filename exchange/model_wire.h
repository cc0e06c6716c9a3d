#pragma once

// The model as node and coordinator name it on the wire: models::ModelSpec ↔
// protocol::WireModelSpec, and the SHA-256 of a model's flat parameter vector, which SecAgg+
// members sign so that a coordinator sending different models to different nodes is caught. Pure
// functions, thread safe.

#include <span>
#include <string>

#include "aggregation/secagg/digest.h"
#include "models/model.h"
#include "protocol/messages.h"

namespace cartable::exchange {

protocol::WireModelSpec ToWire(const models::ModelSpec& spec);
models::ModelSpec FromWire(const protocol::WireModelSpec& wire);

// The hash of the parameters' bytes as they travel (IEEE floats, little-endian).
aggregation::secagg::Sha256Digest ModelHash(std::span<const float> parameters);
// The same, as 64 lower-case hex digits: how audit logs name a model.
std::string ModelHashHex(std::span<const float> parameters);

}  // namespace cartable::exchange
