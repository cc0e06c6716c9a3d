#pragma once

// The SecAgg+ round as it travels: the mapping between the protocol's messages
// (protocol/messages.h) and the values the SecAgg+ state machines exchange
// (aggregation/secagg/round_messages.h). The node and the coordinator both use these, so the two
// sides cannot map a field differently. Pure functions, thread safe.

#include <cstdint>
#include <vector>

#include "aggregation/secagg/round_messages.h"
#include "core/status.h"
#include "protocol/messages.h"

namespace cartable::exchange {

// The round parameters a plan announces, for run `run_id`, round `round`, quantising values in
// ±`value_range`. Refuses a plan no coordinator should send (an allowance larger than the cohort,
// a modulus outside [8, 62] bits).
StatusOr<aggregation::secagg::RoundParameters> RoundParametersOf(const protocol::SecAggPlan& plan,
                                                                 double value_range,
                                                                 uint64_t run_id, uint32_t round);
// The plan that announces `params` (enabled).
protocol::SecAggPlan PlanOf(const aggregation::secagg::RoundParameters& params);

aggregation::secagg::KeyAdvert FromWire(const protocol::KeyAdvert& advert);
protocol::KeyAdvert ToWire(const aggregation::secagg::KeyAdvert& advert);
std::vector<aggregation::secagg::KeyAdvert> AdvertsOf(const protocol::KeyList& list);
protocol::KeyList KeyListOf(const std::vector<aggregation::secagg::KeyAdvert>& adverts);

std::vector<aggregation::secagg::SealedShare> SharesOf(
    const std::vector<protocol::SealedShare>& shares);
std::vector<protocol::SealedShare> ToWire(std::vector<aggregation::secagg::SealedShare> shares);

std::vector<aggregation::secagg::MemberSignature> SignaturesOf(
    const protocol::UnmaskRequest& request);
protocol::UnmaskRequest UnmaskRequestOf(
    const std::vector<aggregation::secagg::MemberSignature>& signatures);

aggregation::secagg::RevealedShares RevealedOf(const protocol::UnmaskResponse& response);
protocol::UnmaskResponse ToWire(aggregation::secagg::RevealedShares revealed);

// Masked words travel as 32-bit words when the modulus has at most 32 bits, else as 64-bit words.
protocol::MaskedInput MaskedInputOf(std::vector<uint64_t> words, int modulus_bits);
// Refuses an input in the other width than the modulus asks for, or in both.
StatusOr<std::vector<uint64_t>> WordsOf(const protocol::MaskedInput& input, int modulus_bits);

}  // namespace cartable::exchange
