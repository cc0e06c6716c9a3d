#pragma once

// Messages the coordinator's tests feed to a RoundLoop, as honest nodes would send them.

#include <string>
#include <vector>

#include "exchange/contribution.h"
#include "protocol/messages.h"

namespace cartable::coordinator {

// A Hello with an identity key of its own for every name (the loop refuses two nodes with one key).
inline protocol::Envelope HelloFrom(const std::string& name) {
  protocol::PublicKeyBytes key{};
  for (size_t i = 0; i < name.size(); ++i)
    key[i % key.size()] ^= static_cast<uint8_t>(name[i] + 31 * i);
  key[31] ^= 0x80;  // never all zero
  return protocol::Envelope{0, 0, protocol::Hello{name, key}};
}

// The packed contribution of a node whose delta is `value` everywhere, trained on `examples`
// answers.
inline protocol::TrainResult PackedUpdate(size_t dimension, float value, double examples,
                                          double loss, double value_range = 4.0,
                                          double weight_cap = 10000) {
  auto layout = exchange::ContributionLayout::Create(dimension, value_range, weight_cap).value();
  exchange::LocalUpdate update{std::vector<float>(dimension, value), examples, loss};
  return protocol::TrainResult{layout.Pack(update).value()};
}

}  // namespace cartable::coordinator
