#pragma once

// The plan's establishment-level DP (protocol::WireEstablishmentDp, the distributed discrete
// Gaussian of aggregation/privacy/distributed_gaussian.h) and what each side makes of it. The
// coordinator and every node derive the mechanism's integers (quantiser levels, σ² of each share,
// the bound of the summed noise) from the same values, the round's contribution layout and its
// cohort, so a node adds the noise it computed itself rather than a figure it was sent.
//
// The unit is the establishment: its packed contribution (exchange/contribution.h) is
// [ω·Δ, ω, ω·loss] with ‖Δ‖ ≤ b, ω ≤ 1 and the weighted loss within [0, r], so its L2 norm is at
// most √(b² + 1 + r²), the sensitivity. A plan with it needs a norm bound b and weighs every
// establishment the same (weight cap 1), so that the coordinator divides the noisy sum by the
// number of contributors it knows rather than by a noisy sum of weights.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

#include "aggregation/privacy/distributed_gaussian.h"
#include "aggregation/secagg/round_messages.h"
#include "core/status.h"
#include "exchange/contribution.h"
#include "protocol/messages.h"

namespace cartable::exchange {

// OK for a WireEstablishmentDp a plan could give (enabled 0 or 1; z in [0.1, 1000], at least 2
// contributors, δ in [1e-12, 0.1], at least one round); otherwise what is wrong.
Status CheckEstablishmentDp(const protocol::WireEstablishmentDp& dp);

// √(b² + 1 + r²) for a layout with a norm bound b and weight cap 1; InvalidArgument otherwise.
StatusOr<double> EstablishmentSensitivity(const ContributionLayout& layout);

// The mechanism's plan for a round of `cohort` establishments with a `modulus_bits` modulus.
StatusOr<aggregation::privacy::DistributedGaussianPlan> DistributedGaussianPlanOf(
    const protocol::WireEstablishmentDp& dp, const ContributionLayout& layout, size_t cohort,
    int modulus_bits);

// The fewest modulus bits a round of `cohort` establishments needs, at least `configured`.
StatusOr<int> EstablishmentModulusBits(const protocol::WireEstablishmentDp& dp,
                                       const ContributionLayout& layout, size_t cohort,
                                       int configured);

// The mechanism for the round `params` describes (its cohort and modulus), written into params'
// levels and noise bound; the node samples its share of noise with the returned variance.
StatusOr<aggregation::privacy::DistributedGaussian> ApplyEstablishmentDp(
    const protocol::WireEstablishmentDp& dp, const ContributionLayout& layout,
    aggregation::secagg::RoundParameters& params);

// (ε, δ = dp.delta) per establishment after `rounds` rounds (0: the plan's), for cohorts of up
// to `cohort` establishments.
StatusOr<aggregation::privacy::Epsilon> EstablishmentEpsilon(
    const protocol::WireEstablishmentDp& dp, const ContributionLayout& layout, size_t cohort,
    uint32_t rounds = 0);

// What the run's establishment-level DP costs, as run status and model cards show it.
nlohmann::json EstablishmentDpReport(const protocol::WireEstablishmentDp& dp, double sensitivity,
                                     const std::optional<aggregation::privacy::Epsilon>& cost);

}  // namespace cartable::exchange
