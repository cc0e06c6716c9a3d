#include "exchange/secagg_wire.h"

#include <string>

#include "exchange/cohort_cache.h"

namespace cartable::exchange {
namespace secagg = aggregation::secagg;

StatusOr<secagg::RoundParameters> RoundParametersOf(const protocol::SecAggPlan& plan,
                                                    double value_range, uint64_t run_id,
                                                    uint32_t round) {
  if (plan.corrupt_allowance > plan.cohort.size()) {
    return InvalidArgumentError("the round tolerates " + std::to_string(plan.corrupt_allowance) +
                                " colluders in a cohort of " + std::to_string(plan.cohort.size()));
  }
  if (plan.modulus_bits < 8 || plan.modulus_bits > 62) {
    return InvalidArgumentError("the round's modulus of " + std::to_string(plan.modulus_bits) +
                                " bits is outside [8, 62]");
  }
  secagg::RoundParameters params;
  params.run_id = run_id;
  params.round = round;
  params.neighbours = static_cast<int>(plan.neighbours);
  params.corrupt_allowance = static_cast<int>(plan.corrupt_allowance);
  params.graph_seed = plan.graph_seed;
  params.modulus_bits = static_cast<int>(plan.modulus_bits);
  params.value_range = value_range;
  params.cohort = InternCohort(plan.cohort);
  return params;
}

protocol::SecAggPlan PlanOf(const secagg::RoundParameters& params) {
  protocol::SecAggPlan plan;
  plan.enabled = 1;
  plan.neighbours = static_cast<uint32_t>(params.neighbours);
  plan.corrupt_allowance = static_cast<uint32_t>(params.corrupt_allowance);
  plan.modulus_bits = static_cast<uint32_t>(params.modulus_bits);
  plan.graph_seed = params.graph_seed;
  for (const secagg::CohortMember& m : params.cohort)
    plan.cohort.push_back({m.name, m.signing_key});
  return plan;
}

secagg::KeyAdvert FromWire(const protocol::KeyAdvert& a) {
  return {a.member, a.mask_key, a.share_key, a.seed_commitment, a.signature};
}

protocol::KeyAdvert ToWire(const secagg::KeyAdvert& a) {
  return {a.member, a.mask_key, a.share_key, a.seed_commitment, a.signature};
}

std::vector<secagg::KeyAdvert> AdvertsOf(const protocol::KeyList& list) {
  std::vector<secagg::KeyAdvert> out;
  out.reserve(list.adverts.size());
  for (const protocol::KeyAdvert& a : list.adverts) out.push_back(FromWire(a));
  return out;
}

protocol::KeyList KeyListOf(const std::vector<secagg::KeyAdvert>& adverts) {
  protocol::KeyList list;
  list.adverts.reserve(adverts.size());
  for (const secagg::KeyAdvert& a : adverts) list.adverts.push_back(ToWire(a));
  return list;
}

std::vector<secagg::SealedShare> SharesOf(const std::vector<protocol::SealedShare>& shares) {
  std::vector<secagg::SealedShare> out;
  out.reserve(shares.size());
  for (const protocol::SealedShare& s : shares)
    out.push_back({s.from, s.to, s.self_seed_commitment, s.mask_key_commitment, s.ciphertext});
  return out;
}

std::vector<protocol::SealedShare> ToWire(std::vector<secagg::SealedShare> shares) {
  std::vector<protocol::SealedShare> out;
  out.reserve(shares.size());
  for (secagg::SealedShare& s : shares)
    out.push_back(
        {s.from, s.to, s.self_seed_commitment, s.mask_key_commitment, std::move(s.ciphertext)});
  return out;
}

std::vector<secagg::MemberSignature> SignaturesOf(const protocol::UnmaskRequest& request) {
  std::vector<secagg::MemberSignature> out;
  out.reserve(request.signatures.size());
  for (const protocol::MemberSignature& s : request.signatures)
    out.push_back({s.member, s.signature});
  return out;
}

protocol::UnmaskRequest UnmaskRequestOf(const std::vector<secagg::MemberSignature>& signatures) {
  protocol::UnmaskRequest request;
  request.signatures.reserve(signatures.size());
  for (const secagg::MemberSignature& s : signatures)
    request.signatures.push_back({s.member, s.signature});
  return request;
}

namespace {

std::vector<secagg::RevealedShare> RevealedSharesOf(
    const std::vector<protocol::RevealedShare>& shares) {
  std::vector<secagg::RevealedShare> out;
  out.reserve(shares.size());
  for (const protocol::RevealedShare& s : shares) out.push_back({s.of, s.share});
  return out;
}

std::vector<protocol::RevealedShare> ToWire(std::vector<secagg::RevealedShare> shares) {
  std::vector<protocol::RevealedShare> out;
  out.reserve(shares.size());
  for (secagg::RevealedShare& s : shares) out.push_back({s.of, std::move(s.share)});
  return out;
}

}  // namespace

secagg::RevealedShares RevealedOf(const protocol::UnmaskResponse& response) {
  return {RevealedSharesOf(response.self_seed_shares), RevealedSharesOf(response.mask_key_shares)};
}

protocol::UnmaskResponse ToWire(secagg::RevealedShares revealed) {
  return {ToWire(std::move(revealed.self_seed_shares)),
          ToWire(std::move(revealed.mask_key_shares))};
}

protocol::MaskedInput MaskedInputOf(std::vector<uint64_t> words, int modulus_bits) {
  protocol::MaskedInput input;
  if (modulus_bits <= 32) {
    input.words32.assign(words.begin(), words.end());
  } else {
    input.words64 = std::move(words);
  }
  return input;
}

StatusOr<std::vector<uint64_t>> WordsOf(const protocol::MaskedInput& input, int modulus_bits) {
  if (!input.words32.empty() && !input.words64.empty()) {
    return InvalidArgumentError("the masked input comes in two widths");
  }
  if (modulus_bits <= 32) {
    if (!input.words64.empty())
      return InvalidArgumentError("the masked input comes in 64-bit words for a " +
                                  std::to_string(modulus_bits) + "-bit modulus");
    return std::vector<uint64_t>(input.words32.begin(), input.words32.end());
  }
  if (!input.words32.empty())
    return InvalidArgumentError("the masked input comes in 32-bit words for a " +
                                std::to_string(modulus_bits) + "-bit modulus");
  return input.words64;
}

}  // namespace cartable::exchange
