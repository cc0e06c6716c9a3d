#pragma once

// The plan's DP-SGD parameters as they travel (protocol::WirePupilDp) and what each side makes of
// them: the node checks what a peer sent and trains with them (models::PupilDp); both sides
// compute what the run costs each pupil with the RDP accountant, from the plan alone, so the
// coordinator can say it and every node can check it against its own policy and ledger.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

#include "aggregation/privacy/rdp_accountant.h"
#include "core/status.h"
#include "models/model.h"
#include "protocol/messages.h"

namespace cartable::exchange {

// OK for a WirePupilDp a plan could give (enabled 0 or 1; σ in [0.1, 1000], clip in [1e-6, 1e6],
// rate in [1e-6, 1], δ in [1e-12, 0.1], at least one round); otherwise what is wrong, for a value
// from a peer.
Status CheckPupilDp(const protocol::WirePupilDp& dp);

// The training options of one node's round; `secret_seed` 0 (drawn from the OS).
models::PupilDp PupilDpOf(const protocol::WirePupilDp& dp);

// The DP-SGD steps of a node that trains `trainings` times in the run (0: once a round, the plan's
// rounds): trainings × ceil(local_epochs / rate).
uint64_t RunSteps(const protocol::WirePupilDp& dp, uint32_t local_epochs, uint32_t trainings = 0);

// (ε, δ = dp.delta) per pupil after the whole run (or after `trainings` trainings), by the RDP
// accountant; InvalidArgument for a dp CheckPupilDp refuses or one without DP-SGD.
StatusOr<aggregation::privacy::Epsilon> RunEpsilon(const protocol::WirePupilDp& dp,
                                                   uint32_t local_epochs, uint32_t trainings = 0);

// What a training with `dp` costs, as run status and model cards show it: the mechanism, its
// parameters, `steps`, and ε with its Rényi order when `cost` is known.
nlohmann::json PupilDpReport(const protocol::WirePupilDp& dp, uint64_t steps,
                             const std::optional<aggregation::privacy::Epsilon>& cost);

}  // namespace cartable::exchange
