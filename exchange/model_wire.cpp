#include "exchange/model_wire.h"

namespace cartable::exchange {

protocol::WireModelSpec ToWire(const models::ModelSpec& spec) {
  protocol::WireModelSpec wire{spec.name, spec.num_skills, spec.num_items, spec.num_features, {}};
  for (const auto& [key, value] : spec.options) wire.options.push_back({key, value});
  return wire;
}

models::ModelSpec FromWire(const protocol::WireModelSpec& wire) {
  models::ModelSpec spec;
  spec.name = wire.name;
  spec.num_skills = wire.num_skills;
  spec.num_items = wire.num_items;
  spec.num_features = wire.num_features;
  for (const protocol::ModelOption& option : wire.options) spec.options[option.key] = option.value;
  return spec;
}

aggregation::secagg::Sha256Digest ModelHash(std::span<const float> parameters) {
  return aggregation::secagg::Sha256(
      {reinterpret_cast<const uint8_t*>(parameters.data()), parameters.size_bytes()});
}

std::string ModelHashHex(std::span<const float> parameters) {
  return aggregation::secagg::Sha256Hex(
      {reinterpret_cast<const uint8_t*>(parameters.data()), parameters.size_bytes()});
}

}  // namespace cartable::exchange
