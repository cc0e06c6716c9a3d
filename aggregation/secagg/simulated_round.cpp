#include "aggregation/secagg/simulated_round.h"

#include <ctime>
#include <cstdio>
#include <map>
#include <memory>
#include <random>

#include "aggregation/secagg/client.h"
#include "aggregation/secagg/digest.h"
#include "aggregation/secagg/internal/round_crypto.h"

namespace cartable::aggregation::secagg {
namespace {

// Adds the CPU time this thread spends in its scope to `total`: the compute of one side on one core,
// unaffected by whatever else the machine runs (wall-clock time would count other processes too).
class Stopwatch {
 public:
  explicit Stopwatch(double& total) : total_(total), start_(ThreadSeconds()) {}
  ~Stopwatch() { total_ += ThreadSeconds() - start_; }

 private:
  static double ThreadSeconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
  }

  double& total_;
  double start_;
};

struct Member {
  std::unique_ptr<SigningKey> identity;
  std::unique_ptr<SecAggClient> client;
  DropPoint drop = DropPoint::kNever;
  double seconds = 0;
  size_t bytes_sent = 0;
  bool alive = true;
};

}  // namespace

StatusOr<SimulatedRoundResult> SimulateRound(const SimulatedRoundConfig& config) {
  if (config.members < 2 || config.dimension == 0) {
    return InvalidArgumentError("a simulated round needs at least 2 members and a non-empty input");
  }
  std::mt19937_64 rng(config.seed);
  SimulatedRoundResult result;
  RoundParameters params;
  params.run_id = config.seed;
  params.round = 1;
  params.neighbours = config.neighbours;
  params.corrupt_allowance = config.corrupt_allowance;
  params.modulus_bits = config.modulus_bits;
  params.value_range = config.value_range;
  for (uint8_t& byte : params.graph_seed) byte = static_cast<uint8_t>(rng());
  std::vector<Member> members(static_cast<size_t>(config.members));
  for (size_t i = 0; i < members.size(); ++i) {
    CARTABLE_ASSIGN_OR_RETURN(SigningKey key, SigningKey::Generate());
    members[i].identity = std::make_unique<SigningKey>(std::move(key));
    if (i < config.drops.size()) members[i].drop = config.drops[i];
    char name[16];
    std::snprintf(name, sizeof(name), "m%06zu", i);
    params.cohort.push_back({name, members[i].identity->PublicKey()});
  }
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  result.inputs.assign(members.size(), std::vector<float>(config.dimension));
  for (auto& input : result.inputs) {
    for (float& x : input) x = value(rng);
  }
  const Sha256Digest model_hash = Sha256(std::span<const uint8_t>(params.graph_seed));
  const size_t word_bytes = config.modulus_bits <= 32 ? 4 : 8;

  std::unique_ptr<SecAggServer> server;
  {
    Stopwatch watch(result.server_seconds);
    CARTABLE_ASSIGN_OR_RETURN(server, SecAggServer::Create(params, config.dimension, model_hash));
  }
  ClientPolicy policy;
  policy.min_cohort = 2;
  // A member answers a stage unless it drops there; its failures end its round like a drop would.
  auto answering = [&](Member& m, DropPoint point) {
    if (m.alive && m.drop == point) m.alive = false;
    return m.alive;
  };
  auto stage = [&](std::string_view name) {
    if (config.on_stage) config.on_stage(name);
  };
  auto fail = [&](Status why) {
    result.status = std::move(why);
    return result;
  };

  stage("AdvertiseKeys");
  std::vector<KeyAdvert> adverts;
  for (size_t i = 0; i < members.size(); ++i) {
    Member& m = members[i];
    if (!answering(m, DropPoint::kBeforeAdvert)) continue;
    Stopwatch watch(m.seconds);
    CARTABLE_ASSIGN_OR_RETURN(m.client,
                              SecAggClient::Create(params, params.cohort[i].name, *m.identity, model_hash, policy));
    CARTABLE_ASSIGN_OR_RETURN(KeyAdvert advert, m.client->Advertise());  // cannot refuse: nothing to check yet
    m.bytes_sent += 4 + 32 + 32 + 32 + 64;
    adverts.push_back(advert);
  }
  std::vector<KeyAdvert> key_list;
  {
    Stopwatch watch(result.server_seconds);
    for (const KeyAdvert& advert : adverts) CARTABLE_RETURN_IF_ERROR(server->OnAdvert(advert));
    auto closed = server->CloseAdvertising();
    if (!closed.ok()) return fail(closed.status());
    key_list = std::move(closed).value();
  }
  {
    auto graph = internal::GraphOver(params, server->asked());
    if (graph.ok()) {
      result.degree = graph->degree();
      auto threshold = internal::RoundThreshold(params, *graph);
      result.threshold = threshold.ok() ? *threshold : 0;
    }
  }
  stage("ShareKeys");
  for (uint32_t i : server->asked()) {
    Member& m = members[i];
    if (!answering(m, DropPoint::kBeforeShares)) continue;
    std::vector<SealedShare> shares;
    {
      Stopwatch watch(m.seconds);
      auto sealed = m.client->OnKeyList(key_list);
      if (!sealed.ok()) {  // a refusing member leaves the round, as a node sending an error would
        m.alive = false;
        continue;
      }
      shares = std::move(sealed).value();
    }
    for (const SealedShare& s : shares) m.bytes_sent += 8 + 64 + s.ciphertext.size();
    Stopwatch watch(result.server_seconds);
    CARTABLE_RETURN_IF_ERROR(server->OnShares(i, std::move(shares)));
  }
  std::map<uint32_t, std::vector<SealedShare>> deliveries;
  {
    Stopwatch watch(result.server_seconds);
    auto closed = server->CloseSharing();
    if (!closed.ok()) return fail(closed.status());
    deliveries = std::move(closed).value();
  }
  stage("MaskedInput");
  for (uint32_t i : server->asked()) {
    Member& m = members[i];
    if (!answering(m, DropPoint::kBeforeMaskedInput)) continue;
    std::vector<uint64_t> masked;
    {
      Stopwatch watch(m.seconds);
      if (Status s = m.client->OnShares(deliveries[i]); !s.ok()) {
        m.alive = false;  // too few partners: this member sits the round out
        continue;
      }
      auto input = m.client->MaskInput(result.inputs[i]);
      if (!input.ok()) {
        m.alive = false;
        continue;
      }
      masked = std::move(input).value();
    }
    const std::vector<uint32_t> unusable_from = m.client->unusable_from();
    m.bytes_sent += masked.size() * word_bytes + 4 * unusable_from.size();
    Stopwatch watch(result.server_seconds);
    CARTABLE_RETURN_IF_ERROR(server->OnMaskedInput(i, masked, unusable_from));
  }
  std::vector<uint32_t> survivors;
  {
    Stopwatch watch(result.server_seconds);
    auto closed = server->CloseMasking();
    if (!closed.ok()) return fail(closed.status());
    survivors = std::move(closed).value();
  }
  stage("ConsistencyCheck");
  for (uint32_t i : server->asked()) {
    Member& m = members[i];
    if (!answering(m, DropPoint::kBeforeConsistency)) continue;
    MemberSignature signature{i, {}};
    {
      Stopwatch watch(m.seconds);
      auto signed_set = m.client->OnSurvivors(survivors);
      if (!signed_set.ok()) {
        m.alive = false;
        continue;
      }
      signature.signature = *signed_set;
    }
    m.bytes_sent += 64;
    Stopwatch watch(result.server_seconds);
    CARTABLE_RETURN_IF_ERROR(server->OnSurvivorSignature(signature));
  }
  std::vector<MemberSignature> signatures;
  {
    Stopwatch watch(result.server_seconds);
    auto closed = server->CloseConsistency();
    if (!closed.ok()) return fail(closed.status());
    signatures = std::move(closed).value();
  }
  stage("Unmask");
  double expansion_sum = 0;
  for (uint32_t i : server->asked()) {
    Member& m = members[i];
    if (!answering(m, DropPoint::kBeforeUnmask)) continue;
    RevealedShares revealed;
    {
      Stopwatch watch(m.seconds);
      auto shares = m.client->OnSignatures(signatures);
      if (!shares.ok()) {
        m.alive = false;
        continue;
      }
      revealed = std::move(shares).value();
    }
    for (const auto& s : revealed.self_seed_shares) m.bytes_sent += 4 + s.share.size();
    for (const auto& s : revealed.mask_key_shares) m.bytes_sent += 4 + s.share.size();
    result.client_seconds.push_back(m.seconds);
    expansion_sum += static_cast<double>(m.bytes_sent) / static_cast<double>(config.dimension * word_bytes);
    Stopwatch watch(result.server_seconds);
    CARTABLE_RETURN_IF_ERROR(server->OnRevealedShares(i, revealed));
  }
  if (!result.client_seconds.empty()) {
    result.expansion = expansion_sum / static_cast<double>(result.client_seconds.size());
  }
  stage("Finish (rebuilding seeds, removing masks)");
  StatusOr<UnmaskedSum> sum = InternalError("not finished");
  {
    Stopwatch watch(result.server_seconds);
    sum = server->Finish();
  }
  if (!sum.ok()) return fail(sum.status());
  result.sum = std::move(sum).value();
  result.status = Status::Ok();
  return result;
}

}  // namespace cartable::aggregation::secagg
