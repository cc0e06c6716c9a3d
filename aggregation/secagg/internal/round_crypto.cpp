#include "aggregation/secagg/internal/round_crypto.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "aggregation/secagg/graph_plan.h"
#include "aggregation/secagg/hkdf.h"

namespace cartable::aggregation::secagg::internal {
namespace {

constexpr std::string_view kAdvertLabel = "cartable secagg v2 advert";
constexpr std::string_view kSelfSeedLabel = "cartable secagg v2 self-seed";
constexpr std::string_view kShareCommitmentLabel = "cartable secagg v2 share";
constexpr std::string_view kSurvivorsLabel = "cartable secagg v1 survivors";
constexpr std::string_view kShareKeyLabel = "cartable secagg v1 share-key";
constexpr std::string_view kShareDataLabel = "cartable secagg v1 share";
constexpr uint8_t kSharePairVersion = 1;

void Put(std::vector<uint8_t>& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

uint64_t Get(std::span<const uint8_t> in, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i)
    value |= static_cast<uint64_t>(in[at + static_cast<size_t>(i)]) << (8 * i);
  return value;
}

std::vector<uint8_t> Labelled(std::string_view label, uint64_t run_id, uint32_t round) {
  std::vector<uint8_t> out(label.begin(), label.end());
  Put(out, run_id, 8);
  Put(out, round, 4);
  return out;
}

}  // namespace

std::vector<uint8_t> AdvertMessage(uint64_t run_id, uint32_t round, const KeyAdvert& advert,
                                   const Sha256Digest& model_hash) {
  std::vector<uint8_t> out = Labelled(kAdvertLabel, run_id, round);
  Put(out, advert.member, 4);
  out.insert(out.end(), advert.mask_key.begin(), advert.mask_key.end());
  out.insert(out.end(), advert.share_key.begin(), advert.share_key.end());
  out.insert(out.end(), advert.seed_commitment.begin(), advert.seed_commitment.end());
  out.insert(out.end(), model_hash.begin(), model_hash.end());
  return out;
}

Sha256Digest SeedCommitment(uint64_t run_id, uint32_t round, uint32_t member,
                            const SecretBytes& seed) {
  std::vector<uint8_t> prefix = Labelled(kSelfSeedLabel, run_id, round);
  Put(prefix, member, 4);
  return Sha256OfParts({prefix, seed.span()});
}

Sha256Digest ShareCommitment(uint64_t run_id, uint32_t round, ShareKind kind, uint32_t owner,
                             uint32_t holder, std::span<const uint8_t> serialized_share) {
  std::vector<uint8_t> prefix = Labelled(kShareCommitmentLabel, run_id, round);
  Put(prefix, static_cast<uint8_t>(kind), 1);
  Put(prefix, owner, 4);
  Put(prefix, holder, 4);
  return Sha256OfParts({prefix, serialized_share});
}

uint32_t ShareX(uint32_t holder) { return holder + 1; }

StatusOr<Share> CheckShare(uint64_t run_id, uint32_t round, ShareKind kind, uint32_t owner,
                           uint32_t holder, std::span<const uint8_t> serialized,
                           const Sha256Digest& commitment) {
  const char* what = kind == ShareKind::kSelfSeed ? "self-seed share" : "mask-key share";
  if (ShareCommitment(run_id, round, kind, owner, holder, serialized) != commitment) {
    return PermissionDeniedError(std::string("the ") + what + " does not match its commitment");
  }
  auto share = ParseShare(serialized);
  if (!share.ok()) {
    return PermissionDeniedError(std::string("the ") + what +
                                 " is malformed: " + share.status().message());
  }
  constexpr size_t kChunks = (kSharedSecretBytes + kShamirChunkBytes - 1) / kShamirChunkBytes;
  if (share->y.size() != kChunks) {
    return PermissionDeniedError(std::string("the ") + what + " has " +
                                 std::to_string(share->y.size()) + " chunks, not the " +
                                 std::to_string(kChunks) + " of a 32-byte secret");
  }
  if (share->x != ShareX(holder)) {
    return PermissionDeniedError(std::string("the ") + what +
                                 " carries x=" + std::to_string(share->x) +
                                 ", not its holder's x=" + std::to_string(ShareX(holder)));
  }
  return share;
}

std::vector<uint8_t> SurvivorsMessage(uint64_t run_id, uint32_t round,
                                      std::span<const uint32_t> survivors) {
  std::vector<uint8_t> out = Labelled(kSurvivorsLabel, run_id, round);
  Put(out, survivors.size(), 4);
  for (uint32_t member : survivors) Put(out, member, 4);
  return out;
}

StatusOr<SecretBytes> ShareSealingKey(const X25519PrivateKey& mine, const X25519PublicKey& theirs,
                                      uint64_t run_id, uint32_t round) {
  CARTABLE_ASSIGN_OR_RETURN(SecretBytes shared, mine.Agree(theirs));
  const X25519PublicKey& own = mine.PublicKey();
  std::vector<uint8_t> info = Labelled(kShareKeyLabel, run_id, round);
  const bool own_first = own < theirs;
  const X25519PublicKey& low = own_first ? own : theirs;
  const X25519PublicKey& high = own_first ? theirs : own;
  info.insert(info.end(), low.begin(), low.end());
  info.insert(info.end(), high.begin(), high.end());
  return HkdfSha256(shared.span(), {}, info, 32);
}

std::vector<uint8_t> ShareAssociatedData(uint64_t run_id, uint32_t round, uint32_t from,
                                         uint32_t to) {
  std::vector<uint8_t> out = Labelled(kShareDataLabel, run_id, round);
  Put(out, from, 4);
  Put(out, to, 4);
  return out;
}

SecretBytes EncodeSharePair(uint32_t from, uint32_t to, const SecretBytes& self_seed_share,
                            const SecretBytes& mask_key_share) {
  SecretBytes out(1 + 4 + 4 + 2 + self_seed_share.size() + 2 + mask_key_share.size());
  std::span<uint8_t> bytes = out.mutable_span();
  size_t at = 0;
  auto put = [&](uint64_t value, int width) {
    for (int i = 0; i < width; ++i) bytes[at++] = static_cast<uint8_t>(value >> (8 * i));
  };
  auto put_bytes = [&](const SecretBytes& share) {
    put(share.size(), 2);
    std::copy(share.span().begin(), share.span().end(), bytes.begin() + static_cast<ptrdiff_t>(at));
    at += share.size();
  };
  put(kSharePairVersion, 1);
  put(from, 4);
  put(to, 4);
  put_bytes(self_seed_share);
  put_bytes(mask_key_share);
  return out;
}

StatusOr<SharePair> DecodeSharePair(std::span<const uint8_t> plaintext, uint32_t from,
                                    uint32_t to) {
  if (plaintext.size() < 13 || plaintext[0] != kSharePairVersion) {
    return DataLossError("sealed share pair has an unknown layout");
  }
  if (Get(plaintext, 1, 4) != from || Get(plaintext, 5, 4) != to) {
    return PermissionDeniedError("sealed share pair names other members than its envelope");
  }
  size_t at = 9;
  auto take = [&](SecretBytes& out) -> Status {
    if (plaintext.size() - at < 2) return DataLossError("sealed share pair is truncated");
    const size_t length = Get(plaintext, at, 2);
    at += 2;
    if (plaintext.size() - at < length) return DataLossError("sealed share pair is truncated");
    out = SecretBytes::CopyFrom(plaintext.subspan(at, length));
    at += length;
    return Status::Ok();
  };
  SharePair pair;
  CARTABLE_RETURN_IF_ERROR(take(pair.self_seed_share));
  CARTABLE_RETURN_IF_ERROR(take(pair.mask_key_share));
  if (at != plaintext.size()) return DataLossError("sealed share pair has trailing bytes");
  return pair;
}

std::array<uint8_t, 32> GraphSeed(const RoundParameters& params,
                                  std::span<const KeyAdvert* const> key_list) {
  static constexpr std::string_view kDomain = "cartable secagg v3 graph";
  std::vector<uint8_t> message(kDomain.begin(), kDomain.end());
  const auto put = [&message](uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) message.push_back(static_cast<uint8_t>(value >> (8 * i)));
  };
  put(params.run_id, 8);
  put(params.round, 4);
  message.insert(message.end(), params.graph_seed.begin(), params.graph_seed.end());
  message.reserve(message.size() + key_list.size() * (4 + sizeof(Ed25519Signature)));
  for (const KeyAdvert* advert : key_list) {
    put(advert->member, 4);
    message.insert(message.end(), advert->signature.begin(), advert->signature.end());
  }
  return Sha256(message);
}

StatusOr<NeighbourGraph> GraphOver(const RoundParameters& params,
                                   std::span<const uint32_t> advertised,
                                   const std::array<uint8_t, 32>& seed) {
  const int n = static_cast<int>(advertised.size());
  // A sparse degree the shrunken cohort cannot hold becomes the full graph, as PlanGraph
  // would choose for so few members.
  const int k = params.neighbours == kFullNeighbourGraph || params.neighbours >= n - 1
                    ? kFullNeighbourGraph
                    : params.neighbours;
  return NeighbourGraph::Create(n, k, seed);
}

StatusOr<int> RoundThreshold(const RoundParameters& params, const NeighbourGraph& graph) {
  if (params.corrupt_allowance < 0 || params.corrupt_allowance > graph.num_nodes()) {
    return InvalidArgumentError("corrupt allowance " + std::to_string(params.corrupt_allowance) +
                                " is outside [0, " + std::to_string(graph.num_nodes()) + "]");
  }
  const int t = ShamirThreshold(graph.degree(), params.corrupt_allowance);
  if (t > graph.degree()) {
    return FailedPreconditionError("a threshold of " + std::to_string(t) + " shares (tolerating " +
                                   std::to_string(params.corrupt_allowance) +
                                   " colluder(s)) is more than the " +
                                   std::to_string(graph.degree()) +
                                   " neighbours each member has: too few members advertised keys");
  }
  return t;
}

int MaxContributors(const RoundParameters& params) {
  return static_cast<int>(params.cohort.size());
}

int IndexIn(std::span<const uint32_t> members, uint32_t member) {
  auto it = std::lower_bound(members.begin(), members.end(), member);
  return it != members.end() && *it == member ? static_cast<int>(it - members.begin()) : -1;
}

}  // namespace cartable::aggregation::secagg::internal
