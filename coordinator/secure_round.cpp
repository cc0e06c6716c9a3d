#include "coordinator/secure_round.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <string>

#include "aggregation/secagg/digest.h"
#include "aggregation/secagg/graph_plan.h"
#include "aggregation/secagg/neighbour_graph.h"
#include "aggregation/secagg/secret_bytes.h"

namespace cartable::coordinator {
namespace secagg = aggregation::secagg;

namespace {

const char* StageName(protocol::Stage stage) {
  switch (stage) {
    case protocol::Stage::kAdvertiseKeys: return "AdvertiseKeys";
    case protocol::Stage::kShareKeys: return "ShareKeys";
    case protocol::Stage::kMaskedInput: return "MaskedInput";
    case protocol::Stage::kConsistencyCheck: return "ConsistencyCheck";
    case protocol::Stage::kUnmask: return "Unmask";
    default: return "?";
  }
}

secagg::SealedShare FromWire(const protocol::SealedShare& s) {
  return {s.from, s.to, s.self_seed_commitment, s.mask_key_commitment, s.ciphertext};
}
protocol::SealedShare ToWire(secagg::SealedShare s) {
  return {s.from, s.to, s.self_seed_commitment, s.mask_key_commitment, std::move(s.ciphertext)};
}

std::vector<secagg::RevealedShare> FromWire(const std::vector<protocol::RevealedShare>& shares) {
  std::vector<secagg::RevealedShare> out;
  for (const auto& s : shares) out.push_back({s.of, s.share});
  return out;
}

}  // namespace

StatusOr<secagg::GraphPlan> PlanSecureRound(const SecAggConfig& config, int cohort) {
  secagg::SecAggTolerance tolerance;
  tolerance.corrupt_fraction = config.tolerate_corrupt;
  tolerance.dropout_fraction = config.tolerate_dropout;
  std::optional<int> forced;
  if (config.neighbours >= 0) forced = config.neighbours;
  return secagg::PlanGraph(cohort, tolerance, forced);
}

StatusOr<std::unique_ptr<SecureRound>> SecureRound::Start(const RunConfig& config, uint32_t round,
                                                          std::vector<SecureCohortMember> cohort,
                                                          const std::vector<float>& global,
                                                          std::vector<Outgoing>& out) {
  std::sort(cohort.begin(), cohort.end(),
            [](const SecureCohortMember& a, const SecureCohortMember& b) { return a.name < b.name; });
  const int n = static_cast<int>(cohort.size());
  auto graph_plan = PlanSecureRound(config.secagg, n);
  if (!graph_plan.ok()) return graph_plan.status().WithContext("planning secure aggregation for round " + std::to_string(round));
  const int k = graph_plan->neighbours;

  protocol::SecAggPlan plan;
  plan.enabled = 1;
  plan.neighbours = static_cast<uint32_t>(k);
  plan.corrupt_allowance = static_cast<uint32_t>(graph_plan->corrupt_allowance);
  plan.modulus_bits = static_cast<uint32_t>(config.secagg.modulus_bits);
  plan.clip = config.secagg.clip;
  plan.weight_cap = config.secagg.weight_cap;
  const secagg::SecretBytes seed = secagg::SecretBytes::Random(plan.graph_seed.size());
  std::copy(seed.span().begin(), seed.span().end(), plan.graph_seed.begin());
  secagg::RoundParameters params;
  params.run_id = config.run_id;
  params.round = round;
  params.neighbours = k;
  params.corrupt_allowance = graph_plan->corrupt_allowance;
  params.graph_seed = plan.graph_seed;
  params.modulus_bits = config.secagg.modulus_bits;
  params.clip = config.secagg.clip;
  for (const SecureCohortMember& m : cohort) {
    plan.cohort.push_back({m.name, m.signing_key});
    params.cohort.push_back({m.name, m.signing_key});
  }
  const secagg::Sha256Digest hash =
      secagg::Sha256({reinterpret_cast<const uint8_t*>(global.data()), global.size() * sizeof(float)});
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<secagg::SecAggServer> server,
                            secagg::SecAggServer::Create(std::move(params), global.size() + 2, hash));
  auto secure = std::unique_ptr<SecureRound>(
      new SecureRound(config, round, std::move(cohort), std::move(server), global.size()));
  spdlog::info("round {}: secure aggregation among {} nodes, {} neighbours each, threshold {} "
               "(outlasts {} colluding neighbours, survives {} dropped)",
               round, n, graph_plan->degree, graph_plan->threshold, graph_plan->corrupt_allowance,
               graph_plan->tolerated_dropouts);
  protocol::TrainRequest request{{}, config.train, global, std::move(plan)};
  request.model.name = config.model.name;
  request.model.num_skills = config.model.num_skills;
  request.model.num_items = config.model.num_items;
  request.model.num_features = config.model.num_features;
  for (const auto& [key, value] : config.model.options) request.model.options.push_back({key, value});
  auto shared = std::make_shared<const protocol::Envelope>(
      protocol::Envelope{config.run_id, round, std::move(request)});
  for (uint32_t m = 0; m < secure->cohort_.size(); ++m) {
    out.push_back({secure->cohort_[m].peer, shared});
    secure->pending_.insert(m);
  }
  return secure;
}

SecureRound::SecureRound(const RunConfig& config, uint32_t round, std::vector<SecureCohortMember> cohort,
                         std::unique_ptr<secagg::SecAggServer> server, size_t dimension)
    : config_(config), round_(round), cohort_(std::move(cohort)), server_(std::move(server)),
      dimension_(dimension) {
  for (uint32_t m = 0; m < cohort_.size(); ++m) member_of_[cohort_[m].peer] = m;
}

void SecureRound::Send(uint32_t member, protocol::Body body, std::vector<Outgoing>& out) {
  out.push_back({cohort_[member].peer, std::make_shared<const protocol::Envelope>(
                                           protocol::Envelope{config_.run_id, round_, std::move(body)})});
}

void SecureRound::Drop(uint32_t member, const std::string& why) {
  if (!gone_.insert(member).second) return;
  pending_.erase(member);
  dropped_.emplace_back(cohort_[member].name, why);
}

void SecureRound::Finish(Status failure) {
  outcome_.emplace(std::move(failure));
  pending_.clear();
}

Status SecureRound::Handle(uint32_t member, const protocol::Body& body) {
  if (const auto* a = std::get_if<protocol::KeyAdvert>(&body)) {
    if (a->member != member) return PermissionDeniedError("its key advert names another member");
    return server_->OnAdvert({a->member, a->mask_key, a->share_key, a->seed_commitment, a->signature});
  }
  if (const auto* shares = std::get_if<protocol::ShareKeys>(&body)) {
    std::vector<secagg::SealedShare> sealed;
    for (const protocol::SealedShare& s : shares->shares) sealed.push_back(FromWire(s));
    return server_->OnShares(member, std::move(sealed));
  }
  if (const auto* input = std::get_if<protocol::MaskedInput>(&body)) {
    if (!input->words32.empty() && !input->words64.empty()) {
      return InvalidArgumentError("its masked input comes in two widths");
    }
    if (config_.secagg.modulus_bits <= 32) {
      std::vector<uint64_t> words(input->words32.begin(), input->words32.end());
      return server_->OnMaskedInput(member, words, input->unusable_from);
    }
    return server_->OnMaskedInput(member, input->words64, input->unusable_from);
  }
  if (const auto* s = std::get_if<protocol::SurvivorSignature>(&body)) {
    return server_->OnSurvivorSignature({member, s->signature});
  }
  if (const auto* r = std::get_if<protocol::UnmaskResponse>(&body)) {
    return server_->OnRevealedShares(member, {FromWire(r->self_seed_shares), FromWire(r->mask_key_shares)});
  }
  return InvalidArgumentError("unexpected message");
}

void SecureRound::OnMessage(const protocol::PeerId& peer, const protocol::Envelope& envelope,
                            std::vector<Outgoing>& out) {
  auto it = member_of_.find(peer);
  if (finished() || it == member_of_.end() || envelope.run_id != config_.run_id || envelope.round != round_) {
    return;
  }
  const uint32_t member = it->second;
  if (const auto* error = std::get_if<protocol::ErrorReply>(&envelope.body)) {
    Drop(member, "failed: " + error->message);
  } else {
    const protocol::Stage stage = protocol::StageOf(protocol::TypeOf(envelope.body));
    if (stage != stage_ || !pending_.contains(member)) return;  // stale or repeated
    if (Status handled = Handle(member, envelope.body); !handled.ok()) {
      Drop(member, std::string("sent an unusable ") + StageName(stage_) + " message: " + handled.message());
    } else {
      pending_.erase(member);
    }
  }
  if (pending_.empty() && !finished()) CloseStage(out);
}

void SecureRound::OnUnreachable(const protocol::PeerId& peer, const std::string& why,
                                std::vector<Outgoing>& out) {
  auto it = member_of_.find(peer);
  if (finished() || it == member_of_.end() || gone_.contains(it->second)) return;
  Drop(it->second, why);
  if (pending_.empty()) CloseStage(out);
}

void SecureRound::OnDeadline(std::vector<Outgoing>& out) {
  if (finished()) return;
  const std::set<uint32_t> late = pending_;
  for (uint32_t member : late) {
    Drop(member, std::string("missed the deadline of ") + StageName(stage_));
  }
  CloseStage(out);
}

void SecureRound::CloseStage(std::vector<Outgoing>& out) {
  stage_changed_ = true;
  auto ask = [&](protocol::Stage next) {
    stage_ = next;
    pending_.clear();
    for (uint32_t member : server_->asked()) {
      if (!gone_.contains(member)) pending_.insert(member);
    }
  };
  switch (stage_) {
    case protocol::Stage::kAdvertiseKeys: {
      auto adverts = server_->CloseAdvertising();
      if (!adverts.ok()) return Finish(adverts.status());
      protocol::KeyList list;
      for (const auto& a : *adverts) {
        list.adverts.push_back({a.member, a.mask_key, a.share_key, a.seed_commitment, a.signature});
      }
      ask(protocol::Stage::kShareKeys);
      auto shared = std::make_shared<const protocol::Envelope>(protocol::Envelope{config_.run_id, round_, list});
      for (uint32_t member : pending_) out.push_back({cohort_[member].peer, shared});
      return;
    }
    case protocol::Stage::kShareKeys: {
      auto deliveries = server_->CloseSharing();
      if (!deliveries.ok()) return Finish(deliveries.status());
      ask(protocol::Stage::kMaskedInput);
      for (auto& [member, shares] : *deliveries) {
        protocol::ShareDelivery delivery;
        for (auto& s : shares) delivery.shares.push_back(ToWire(std::move(s)));
        Send(member, std::move(delivery), out);
      }
      return;
    }
    case protocol::Stage::kMaskedInput: {
      auto survivors = server_->CloseMasking();
      if (!survivors.ok()) return Finish(survivors.status());
      ask(protocol::Stage::kConsistencyCheck);
      for (uint32_t member : pending_) Send(member, protocol::SurvivorList{*survivors}, out);
      return;
    }
    case protocol::Stage::kConsistencyCheck: {
      auto signatures = server_->CloseConsistency();
      if (!signatures.ok()) return Finish(signatures.status());
      protocol::UnmaskRequest request;
      for (const auto& s : *signatures) request.signatures.push_back({s.member, s.signature});
      ask(protocol::Stage::kUnmask);
      for (uint32_t member : pending_) Send(member, request, out);
      return;
    }
    case protocol::Stage::kUnmask: {
      auto sum = server_->Finish();
      for (const secagg::Blame& blame : server_->blamed()) {
        spdlog::warn("round {}: {} broke the secure-aggregation protocol: {}", round_,
                     cohort_[blame.member].name, blame.reason);
      }
      if (!sum.ok()) return Finish(sum.status());
      aggregation::UpdateSum update;
      update.weighted_delta = Eigen::Map<const Eigen::VectorXd>(sum->sum.data(), static_cast<Eigen::Index>(dimension_));
      update.total_weight = sum->sum[dimension_];
      update.contributors = static_cast<int>(sum->survivors.size());
      loss_sum_ = sum->sum[dimension_ + 1];
      if (!(update.total_weight > 0)) return Finish(FailedPreconditionError("the unmasked total weight is not positive"));
      outcome_.emplace(std::move(update));
      return;
    }
    default: return;
  }
}

}  // namespace cartable::coordinator
