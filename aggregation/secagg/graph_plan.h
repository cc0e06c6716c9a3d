#pragma once

// GraphPlan: how many neighbours each member masks with, and how many colluding members a Shamir
// threshold must outlast, chosen from the cohort size and the faults a run declares it tolerates.
// The coordinator plans; both sides then derive the threshold with ShamirThreshold from the
// graph's degree and the plan's corrupt allowance, so they cannot disagree.
//
// The threshold. Member v's two secrets (self seed, mask key) are Shamir-shared among its d
// neighbours, and the coordinator must get one kind or the other for v, never both. Honest holders
// each reveal one kind, decided by the survivor set they signed; colluders reveal both. Take
//     t = ⌊(d + 1 + c)/2⌋ + 1,   so 2t > (d + 1) + c,
// with c the colluders tolerated. Two groups of holders shown two different survivor sets cannot
// both reach t shares unless more than c colluders help, and colluders alone stay below t. The
// "+ 1" is for the full graph (d + 1 = n): there every client checks t signatures over its set,
// two sets signed by t members each share more than c signers, and one of those is honest and
// signed only one set, so a coordinator cannot show the cohort two survivor sets at all. That is
// what stops the subtler attack on a single member: telling one half of the cohort that v's
// neighbours dropped (to rebuild their mask keys, hence every pairwise seed of v) and the other
// half that v survived (to rebuild v's self seed). With t = ⌊d/2⌋ + 1 and n even, two halves of
// n/2 would each reach t. The price: at most d − t holders may drop, else v cannot be unmasked
// and the round is retried.
//
// The full graph (classic SecAgg, d = n − 1): c = ⌊γ·n⌋ colluders, counted exactly.
//
// A sparse graph (SecAgg+, Bell et al. CCS 2020): the neighbourhood of v is a uniformly random
// k-subset of the other n − 1 members (the labels are a random permutation), so the colluders and
// the dropped among v's neighbours follow hypergeometric laws. The plan takes the smallest even k
// and then the smallest c such that, over all n members (a union bound),
//     P[more than c colluding neighbours] ≤ 2^−security_bits        (privacy)
//     P[more than k − t dropped neighbours] ≤ 2^−correctness_bits   (the round unmasks)
// with exact hypergeometric tails, and such that the honest survivors stay connected (else the
// coordinator learns the sums of the parts; Bell et al.'s other condition), again within
// 2^−security_bits. If no k below n − 1 qualifies, the graph is full. Cohorts of up to 64 members
// always get the full graph: it costs them little and gives the stronger guarantee above. What the
// sparse graph does not give: the survivor-set signatures no longer overlap (t ≪ n/2), so a
// coordinator that deviates from the protocol can show different parts of the cohort different
// survivor sets; the guarantee of a sparse graph is against a coordinator that follows the
// protocol, even one colluding with members. A run that must withstand an actively malicious
// coordinator uses the full graph. docs/secure-aggregation.md discusses both.

#include <optional>

#include "core/status.h"

namespace cartable::aggregation::secagg {

struct SecAggTolerance {
  double corrupt_fraction = 0.05;  // γ: members that may collude with the coordinator
  double dropout_fraction = 0.1;   // δ: members that may drop after sharing their keys
  int security_bits = 40;          // privacy failure ≤ 2^−40 per round
  int correctness_bits = 20;       // an unmaskable round ≤ 2^−20; such a round is retried
};

struct GraphPlan {
  int neighbours = 0;          // k, or kFullNeighbourGraph
  int corrupt_allowance = 0;   // c: colluders among a member's neighbours the threshold outlasts
  int degree = 0;              // k, or n − 1
  int threshold = 0;           // ShamirThreshold(degree, corrupt_allowance)
  int tolerated_dropouts = 0;  // degree − threshold: dropped neighbours a member survives
};

// Plans for a cohort of `num_nodes` (2..65535). `neighbours`, when given, fixes k (even, 2 ≤ k <
// n − 1) or the full graph (kFullNeighbourGraph) and only the allowance is computed. Refuses
// fractions outside [0, 1), and a full graph whose threshold leaves fewer dropouts than δ·n.
StatusOr<GraphPlan> PlanGraph(int num_nodes, const SecAggTolerance& tolerance,
                              std::optional<int> neighbours = std::nullopt);

// t = ⌊(degree + 1 + corrupt_allowance)/2⌋ + 1 (see above). May exceed `degree`, in which case
// no member's secrets can be rebuilt: callers refuse such a round.
int ShamirThreshold(int degree, int corrupt_allowance);

}  // namespace cartable::aggregation::secagg
