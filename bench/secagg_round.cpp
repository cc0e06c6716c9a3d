#include "bench/secagg_round.h"

#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>

#include "aggregation/privacy/distributed_gaussian.h"
#include "aggregation/secagg/client.h"
#include "aggregation/secagg/digest.h"
#include "aggregation/secagg/secret_bytes.h"

namespace cartable::bench {
namespace {

using aggregation::secagg::ClientPolicy;
using aggregation::secagg::KeyAdvert;
using aggregation::secagg::MemberSignature;
using aggregation::secagg::RevealedShares;
using aggregation::secagg::RoundParameters;
using aggregation::secagg::SealedShare;
using aggregation::secagg::SecAggClient;
using aggregation::secagg::SecAggServer;
using aggregation::secagg::Sha256Digest;
using aggregation::secagg::SigningKey;
using aggregation::secagg::UnmaskedSum;

// Adds the CPU time this thread spends in its scope to `total`: the compute of one side on one
// core, unaffected by whatever else the machine runs (wall-clock time would count other processes
// too).
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

// One round, stage by stage. Each stage asks the members the server asks, times each side's
// compute, and closes the stage at the server. A stage returns an error only for a broken
// simulation (a message the server refuses); a round that fails as rounds may is recorded in
// result().status instead.
class RoundSimulation {
 public:
  explicit RoundSimulation(const SimulatedRoundConfig& config)
      : config_(config), rng_(config.seed), word_bytes_(config.modulus_bits <= 32 ? 4 : 8) {}

  Status Prepare();
  Status AdvertiseKeys();
  Status ShareKeys();
  Status MaskInputs();
  Status CheckConsistency();
  Status Unmask();
  void Finish();
  bool failed() const { return !result_.status.ok(); }
  SimulatedRoundResult TakeResult() { return std::move(result_); }

 private:
  // Whether member `m` answers the stage at `point`; it falls silent there for good if it drops
  // there.
  bool Answering(Member& m, DropPoint point) {
    if (m.alive && m.drop == point) m.alive = false;
    return m.alive;
  }
  void Stage(std::string_view name) const {
    if (config_.on_stage) config_.on_stage(name);
  }
  // Closes a stage at the server: its value, or nullopt with the round failed.
  template <typename T>
  std::optional<T> Close(const std::function<StatusOr<T>()>& close) {
    Stopwatch watch(result_.server_seconds);
    StatusOr<T> closed = close();
    if (!closed.ok()) {
      result_.status = closed.status();
      return std::nullopt;
    }
    return std::move(closed).value();
  }

  const SimulatedRoundConfig& config_;
  std::mt19937_64 rng_;
  const size_t word_bytes_;
  SimulatedRoundResult result_;
  RoundParameters params_;
  Sha256Digest model_hash_{};
  std::optional<aggregation::privacy::Variance> noise_;  // σ² of each member's share
  std::vector<Member> members_;
  std::unique_ptr<SecAggServer> server_;
  std::vector<KeyAdvert> key_list_;
  std::map<uint32_t, std::vector<SealedShare>> deliveries_;
  std::vector<uint32_t> survivors_;
  std::vector<MemberSignature> signatures_;
};

Status RoundSimulation::Prepare() {
  params_.run_id = config_.seed;
  params_.round = 1;
  params_.neighbours = config_.neighbours;
  params_.corrupt_allowance = config_.corrupt_allowance;
  params_.modulus_bits = config_.modulus_bits;
  params_.value_range = config_.value_range;
  for (uint8_t& byte : params_.graph_seed) byte = static_cast<uint8_t>(rng_());
  if (config_.noise_multiplier > 0) {
    aggregation::privacy::DistributedGaussianPlan plan;
    plan.noise_multiplier = config_.noise_multiplier;
    plan.l2_sensitivity = 1;
    plan.range = config_.value_range;
    plan.min_contributors = plan.max_contributors = config_.members;
    plan.dimension = config_.dimension;
    plan.modulus_bits = config_.modulus_bits;
    CARTABLE_ASSIGN_OR_RETURN(aggregation::privacy::DistributedGaussian mechanism,
                              aggregation::privacy::PlanDistributedGaussian(plan));
    params_.levels = mechanism.levels;
    params_.noise_bound = mechanism.noise_bound;
    noise_ = mechanism.variance;
  }
  members_.resize(static_cast<size_t>(config_.members));
  std::vector<aggregation::secagg::CohortMember> cohort;
  cohort.reserve(members_.size());
  for (size_t i = 0; i < members_.size(); ++i) {
    CARTABLE_ASSIGN_OR_RETURN(SigningKey key, SigningKey::Generate());
    members_[i].identity = std::make_unique<SigningKey>(std::move(key));
    if (i < config_.drops.size()) members_[i].drop = config_.drops[i];
    char name[24];
    std::snprintf(name, sizeof(name), "m%06zu", i);
    cohort.push_back({name, members_[i].identity->PublicKey()});
  }
  params_.cohort = std::move(cohort);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  result_.inputs.assign(members_.size(), std::vector<float>(config_.dimension));
  for (auto& input : result_.inputs) {
    for (float& x : input) x = value(rng_);
  }
  model_hash_ = aggregation::secagg::Sha256(std::span<const uint8_t>(params_.graph_seed));
  Stopwatch watch(result_.server_seconds);
  CARTABLE_ASSIGN_OR_RETURN(server_, SecAggServer::Create(params_, config_.dimension, model_hash_));
  return Status::Ok();
}

Status RoundSimulation::AdvertiseKeys() {
  Stage("AdvertiseKeys");
  ClientPolicy policy;
  policy.min_cohort = 2;
  std::vector<KeyAdvert> adverts;
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    if (!Answering(m, DropPoint::kBeforeAdvert)) continue;
    Stopwatch watch(m.seconds);
    CARTABLE_ASSIGN_OR_RETURN(m.client, SecAggClient::Create(params_, params_.cohort[i].name,
                                                             *m.identity, model_hash_, policy));
    CARTABLE_ASSIGN_OR_RETURN(KeyAdvert advert,
                              m.client->Advertise());  // cannot refuse: nothing to check yet
    m.bytes_sent += 4 + 32 + 32 + 32 + 64;
    adverts.push_back(advert);
  }
  {
    Stopwatch watch(result_.server_seconds);
    for (const KeyAdvert& advert : adverts) CARTABLE_RETURN_IF_ERROR(server_->OnAdvert(advert));
  }
  auto list = Close<std::vector<KeyAdvert>>([&] { return server_->CloseAdvertising(); });
  if (!list) return Status::Ok();
  key_list_ = std::move(*list);
  result_.degree = server_->degree();
  result_.threshold = server_->threshold();
  return Status::Ok();
}

Status RoundSimulation::ShareKeys() {
  Stage("ShareKeys");
  for (uint32_t i : server_->asked()) {
    Member& m = members_[i];
    if (!Answering(m, DropPoint::kBeforeShares)) continue;
    std::vector<SealedShare> shares;
    {
      Stopwatch watch(m.seconds);
      auto sealed = m.client->OnKeyList(key_list_);
      if (!sealed.ok()) {  // a refusing member leaves the round, as a node sending an error would
        m.alive = false;
        continue;
      }
      shares = std::move(sealed).value();
    }
    for (const SealedShare& s : shares) m.bytes_sent += 8 + 64 + s.ciphertext.size();
    Stopwatch watch(result_.server_seconds);
    CARTABLE_RETURN_IF_ERROR(server_->OnShares(i, std::move(shares)));
  }
  using Deliveries = std::map<uint32_t, std::vector<SealedShare>>;
  auto deliveries = Close<Deliveries>([&] { return server_->CloseSharing(); });
  if (deliveries) deliveries_ = std::move(*deliveries);
  return Status::Ok();
}

Status RoundSimulation::MaskInputs() {
  Stage("MaskedInput");
  for (uint32_t i : server_->asked()) {
    Member& m = members_[i];
    if (!Answering(m, DropPoint::kBeforeMaskedInput)) continue;
    std::vector<uint64_t> masked;
    {
      Stopwatch watch(m.seconds);
      if (Status s = m.client->OnShares(deliveries_[i]); !s.ok()) {
        m.alive = false;  // too few partners: this member sits the round out
        continue;
      }
      std::vector<int64_t> noise;
      if (noise_) {
        const aggregation::secagg::SecretBytes seed = aggregation::secagg::SecretBytes::Random(32);
        auto drawn =
            aggregation::privacy::DiscreteGaussianNoise(config_.dimension, *noise_, seed.span());
        if (!drawn.ok()) return drawn.status();
        noise = std::move(drawn).value();
      }
      auto input = m.client->MaskInput(result_.inputs[i], noise);
      if (!input.ok()) {
        m.alive = false;
        continue;
      }
      masked = std::move(input).value();
    }
    const std::vector<uint32_t> unusable_from = m.client->unusable_from();
    m.bytes_sent += masked.size() * word_bytes_ + 4 * unusable_from.size();
    Stopwatch watch(result_.server_seconds);
    CARTABLE_RETURN_IF_ERROR(server_->OnMaskedInput(i, masked, unusable_from));
  }
  auto survivors = Close<std::vector<uint32_t>>([&] { return server_->CloseMasking(); });
  if (survivors) survivors_ = std::move(*survivors);
  return Status::Ok();
}

Status RoundSimulation::CheckConsistency() {
  Stage("ConsistencyCheck");
  for (uint32_t i : server_->asked()) {
    Member& m = members_[i];
    if (!Answering(m, DropPoint::kBeforeConsistency)) continue;
    MemberSignature signature{i, {}};
    {
      Stopwatch watch(m.seconds);
      auto signed_set = m.client->OnSurvivors(survivors_);
      if (!signed_set.ok()) {
        m.alive = false;
        continue;
      }
      signature.signature = *signed_set;
    }
    m.bytes_sent += 64;
    Stopwatch watch(result_.server_seconds);
    CARTABLE_RETURN_IF_ERROR(server_->OnSurvivorSignature(signature));
  }
  auto signatures =
      Close<std::vector<MemberSignature>>([&] { return server_->CloseConsistency(); });
  if (signatures) signatures_ = std::move(*signatures);
  return Status::Ok();
}

Status RoundSimulation::Unmask() {
  Stage("Unmask");
  double expansion_sum = 0;
  for (uint32_t i : server_->asked()) {
    Member& m = members_[i];
    if (!Answering(m, DropPoint::kBeforeUnmask)) continue;
    RevealedShares revealed;
    {
      Stopwatch watch(m.seconds);
      auto shares = m.client->OnSignatures(signatures_);
      if (!shares.ok()) {
        m.alive = false;
        continue;
      }
      revealed = std::move(shares).value();
    }
    for (const auto& s : revealed.self_seed_shares) m.bytes_sent += 4 + s.share.size();
    for (const auto& s : revealed.mask_key_shares) m.bytes_sent += 4 + s.share.size();
    result_.client_seconds.push_back(m.seconds);
    expansion_sum +=
        static_cast<double>(m.bytes_sent) / static_cast<double>(config_.dimension * word_bytes_);
    Stopwatch watch(result_.server_seconds);
    CARTABLE_RETURN_IF_ERROR(server_->OnRevealedShares(i, revealed));
  }
  if (!result_.client_seconds.empty()) {
    result_.expansion = expansion_sum / static_cast<double>(result_.client_seconds.size());
  }
  return Status::Ok();
}

void RoundSimulation::Finish() {
  Stage("Finish (rebuilding seeds, removing masks)");
  auto sum = Close<UnmaskedSum>([&] { return server_->Finish(); });
  if (sum) result_.sum = std::move(*sum);
}

}  // namespace

StatusOr<SimulatedRoundResult> SimulateRound(const SimulatedRoundConfig& config) {
  if (config.members < 2 || config.dimension == 0) {
    return InvalidArgumentError("a simulated round needs at least 2 members and a non-empty input");
  }
  RoundSimulation round(config);
  CARTABLE_RETURN_IF_ERROR(round.Prepare());
  for (Status (RoundSimulation::*stage)() :
       {&RoundSimulation::AdvertiseKeys, &RoundSimulation::ShareKeys, &RoundSimulation::MaskInputs,
        &RoundSimulation::CheckConsistency, &RoundSimulation::Unmask}) {
    CARTABLE_RETURN_IF_ERROR((round.*stage)());
    if (round.failed()) return round.TakeResult();
  }
  round.Finish();
  return round.TakeResult();
}

}  // namespace cartable::bench
