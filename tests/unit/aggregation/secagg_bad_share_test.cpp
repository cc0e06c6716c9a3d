// One member against a secure round: wrong shares, at every point where a member or a relay can
// slip one in, are caught and their sender named; an honest round goes on when enough shares
// remain, and fails retryably otherwise. Never a wrong sum. Whole rounds of real clients and a real
// server, driven by hand so that each lie is told exactly where it matters.

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "aggregation/secagg/client.h"
#include "aggregation/secagg/internal/round_crypto.h"
#include "aggregation/secagg/masking.h"
#include "aggregation/secagg/server.h"
#include "aggregation/secagg/shamir.h"
#include "aggregation/secagg/share_cipher.h"

namespace cartable::aggregation::secagg {
namespace {

using internal::ShareKind;

// How an InconsistentDealer deals: shares of another self seed than its advert commits to (it masks
// with the committed one), of another mask key than the one advertised, or each holder the share
// (and commitments) computed for the next holder's x.
enum class DealerLie { kOtherSelfSeed, kOtherMaskKey, kNextHoldersShare };

// A member that follows the protocol but deals its shares as `lie` says.
class InconsistentDealer {
 public:
  InconsistentDealer(const RoundParameters& params, uint32_t member, const SigningKey& identity,
                     const Sha256Digest& model, DealerLie lie)
      : params_(params), member_(member), identity_(identity), model_(model), lie_(lie) {}

  KeyAdvert Advertise() const {
    KeyAdvert advert{member_,
                     mask_.PublicKey(),
                     share_.PublicKey(),
                     internal::SeedCommitment(params_.run_id, params_.round, member_, seed_),
                     {}};
    advert.signature =
        identity_.Sign(internal::AdvertMessage(params_.run_id, params_.round, advert, model_))
            .value();
    return advert;
  }

  std::vector<SealedShare> OnKeyList(const std::vector<KeyAdvert>& adverts) {
    for (const KeyAdvert& a : adverts) {
      advertised_.push_back(a.member);
      adverts_.emplace(a.member, a);
    }
    std::sort(advertised_.begin(), advertised_.end());
    std::vector<const KeyAdvert*> key_list;
    for (uint32_t member : advertised_) key_list.push_back(&adverts_.at(member));
    graph_.emplace(
        internal::GraphOver(params_, advertised_, internal::GraphSeed(params_, key_list)).value());
    const int threshold = internal::RoundThreshold(params_, *graph_).value();
    std::vector<uint32_t> points;
    for (int j : graph_->neighbours(Me()))
      points.push_back(internal::ShareX(advertised_[static_cast<size_t>(j)]));
    const SecretBytes other_seed = SecretBytes::Random(32);
    const SecretBytes other_key = X25519PrivateKey::Generate().value().ExportPrivateBytes();
    const SecretBytes own_key = mask_.ExportPrivateBytes();
    const auto self_shares =
        Split((lie_ == DealerLie::kOtherSelfSeed ? other_seed : seed_).span(), threshold, points)
            .value();
    const auto key_shares =
        Split((lie_ == DealerLie::kOtherMaskKey ? other_key : own_key).span(), threshold, points)
            .value();
    std::vector<SealedShare> out;
    for (size_t i = 0; i < points.size(); ++i) {
      const uint32_t to = points[i] - 1;
      const size_t dealt = lie_ == DealerLie::kNextHoldersShare ? (i + 1) % points.size() : i;
      const SecretBytes self_share = SerializeShare(self_shares[dealt]);
      const SecretBytes key_share = SerializeShare(key_shares[dealt]);
      const SecretBytes key = internal::ShareSealingKey(share_, adverts_.at(to).share_key,
                                                        params_.run_id, params_.round)
                                  .value();
      out.push_back({member_, to,
                     internal::ShareCommitment(params_.run_id, params_.round, ShareKind::kSelfSeed,
                                               member_, to, self_share.span()),
                     internal::ShareCommitment(params_.run_id, params_.round, ShareKind::kMaskKey,
                                               member_, to, key_share.span()),
                     Seal(key, internal::EncodeSharePair(member_, to, self_share, key_share).span(),
                          internal::ShareAssociatedData(params_.run_id, params_.round, member_, to))
                         .value()});
    }
    return out;
  }

  // Masks with every neighbour: in these rounds every member shares.
  std::vector<uint64_t> MaskInput(std::span<const float> values) const {
    const Quantizer quantizer =
        Quantizer::Create(params_.value_range, static_cast<int>(params_.cohort.size()),
                          params_.modulus_bits)
            .value();
    const auto quantised = quantizer.Quantize(values, SecretBytes::Random(32).span()).value();
    std::vector<NeighbourSeed> seeds;
    for (int j : graph_->neighbours(Me())) {
      const KeyAdvert& partner = adverts_.at(advertised_[static_cast<size_t>(j)]);
      seeds.push_back(
          {j, PairwiseSeed(mask_, partner.mask_key, params_.run_id, params_.round).value()});
    }
    return secagg::MaskInput(quantised, seed_, seeds, Me(), params_.modulus_bits).value();
  }

  Ed25519Signature OnSurvivors(std::span<const uint32_t> survivors) const {
    return identity_.Sign(internal::SurvivorsMessage(params_.run_id, params_.round, survivors))
        .value();
  }

 private:
  int Me() const { return internal::IndexIn(advertised_, member_); }

  RoundParameters params_;
  uint32_t member_;
  const SigningKey& identity_;
  Sha256Digest model_;
  DealerLie lie_;
  X25519PrivateKey mask_ = X25519PrivateKey::Generate().value();
  X25519PrivateKey share_ = X25519PrivateKey::Generate().value();
  SecretBytes seed_ = SecretBytes::Random(32);
  std::vector<uint32_t> advertised_;
  std::map<uint32_t, KeyAdvert> adverts_;
  std::optional<NeighbourGraph> graph_;
};

// An InconsistentDealer in the cohort; when it drops after ShareKeys its mask key must be rebuilt.
struct Dealer {
  uint32_t member = 0;
  DealerLie lie = DealerLie::kOtherSelfSeed;
  bool drops_after_sharing = false;
};

// Where a test changes what travels: the shares the coordinator relays to a holder, and the shares
// a holder reveals; and who deals.
struct Lies {
  std::function<void(uint32_t holder, std::vector<SealedShare>&)> delivery;
  std::function<void(uint32_t holder, RevealedShares&)> reveal;
  std::optional<Dealer> dealer;
};

// A full-graph round among `size` members, every one of which answers every stage.
class HandRound {
 public:
  explicit HandRound(int size) {
    params_.run_id = 31;
    params_.round = 4;
    params_.neighbours = kFullNeighbourGraph;
    params_.graph_seed.fill(5);
    std::mt19937 rng(static_cast<unsigned>(size));
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    for (int i = 0; i < size; ++i) {
      keys_.push_back(std::make_unique<SigningKey>(SigningKey::Generate().value()));
      params_.cohort.push_back({"m" + std::to_string(i), keys_.back()->PublicKey()});
      inputs_.emplace_back(kDimension);
      for (float& x : inputs_.back()) x = value(rng);
    }
    model_.fill(8);
  }

  // Runs the round with `lies`; the result of Finish.
  StatusOr<UnmaskedSum> Run(const Lies& lies) {
    server_ = SecAggServer::Create(params_, kDimension, model_).value();
    std::unique_ptr<InconsistentDealer> dealer;
    const uint32_t dealt_by = lies.dealer ? lies.dealer->member : UINT32_MAX;
    const bool dealer_drops = lies.dealer && lies.dealer->drops_after_sharing;
    for (uint32_t i = 0; i < params_.cohort.size(); ++i) {
      if (i == dealt_by) {
        dealer =
            std::make_unique<InconsistentDealer>(params_, i, *keys_[i], model_, lies.dealer->lie);
        clients_.emplace_back();
        EXPECT_TRUE(server_->OnAdvert(dealer->Advertise()).ok());
        continue;
      }
      ClientPolicy policy;
      clients_.push_back(
          SecAggClient::Create(params_, params_.cohort[i].name, *keys_[i], model_, policy).value());
      EXPECT_TRUE(server_->OnAdvert(clients_[i]->Advertise().value()).ok());
    }
    const std::vector<KeyAdvert> list = server_->CloseAdvertising().value();
    for (uint32_t i = 0; i < clients_.size(); ++i) {
      auto sealed = i == dealt_by ? dealer->OnKeyList(list) : clients_[i]->OnKeyList(list).value();
      EXPECT_TRUE(server_->OnShares(i, std::move(sealed)).ok());
    }
    auto deliveries = server_->CloseSharing().value();
    for (uint32_t i = 0; i < clients_.size(); ++i) {
      if (i == dealt_by) {
        if (!dealer_drops) {
          EXPECT_TRUE(server_->OnMaskedInput(i, dealer->MaskInput(inputs_[i])).ok());
        }
        continue;
      }
      if (lies.delivery) lies.delivery(i, deliveries[i]);
      EXPECT_TRUE(clients_[i]->OnShares(deliveries[i]).ok()) << "member " << i;
      const std::vector<uint64_t> masked = clients_[i]->MaskInput(inputs_[i]).value();
      EXPECT_TRUE(server_->OnMaskedInput(i, masked, clients_[i]->unusable_from()).ok());
    }
    const std::vector<uint32_t> survivors = server_->CloseMasking().value();
    for (uint32_t i = 0; i < clients_.size(); ++i) {
      if (i == dealt_by && dealer_drops) continue;
      const Ed25519Signature signature = i == dealt_by
                                             ? dealer->OnSurvivors(survivors)
                                             : clients_[i]->OnSurvivors(survivors).value();
      EXPECT_TRUE(server_->OnSurvivorSignature({i, signature}).ok());
    }
    const std::vector<MemberSignature> signatures = server_->CloseConsistency().value();
    reveal_status_.assign(clients_.size(), Status::Ok());
    for (uint32_t i = 0; i < clients_.size(); ++i) {
      if (i == dealt_by)
        continue;  // it holds shares like anyone else; whether it reveals them is moot
      RevealedShares revealed = clients_[i]->OnSignatures(signatures).value();
      if (lies.reveal) lies.reveal(i, revealed);
      reveal_status_[i] = server_->OnRevealedShares(i, revealed);
    }
    return server_->Finish();
  }

  // The dequantised sum is within one quantisation level per contributor of the exact sum.
  void ExpectExactSum(const StatusOr<UnmaskedSum>& sum) const {
    ASSERT_TRUE(sum.ok()) << sum.status();
    ASSERT_EQ(sum->survivors.size(), params_.cohort.size());
    const double n = static_cast<double>(params_.cohort.size());
    const double level =
        2 * params_.value_range /
        static_cast<double>((uint64_t{1} << params_.modulus_bits) / params_.cohort.size());
    for (size_t d = 0; d < kDimension; ++d) {
      double exact = 0;
      for (const auto& input : inputs_) exact += input[d];
      ASSERT_NEAR(sum->sum[d], exact, level * n + 1e-9) << "coordinate " << d;
    }
  }

  const SecAggServer& server() const { return *server_; }
  const SecAggClient& client(uint32_t i) const { return *clients_[i]; }
  const Status& reveal_status(uint32_t i) const { return reveal_status_[i]; }
  const RoundParameters& params() const { return params_; }

 private:
  static constexpr size_t kDimension = 24;
  RoundParameters params_;
  std::vector<std::unique_ptr<SigningKey>> keys_;
  std::vector<std::vector<float>> inputs_;
  Sha256Digest model_{};
  std::unique_ptr<SecAggServer> server_;
  std::vector<std::unique_ptr<SecAggClient>> clients_;
  std::vector<Status> reveal_status_;
};

// Changes one value of the self-seed share `holder` reveals of `owner` (the last byte of the first
// y, kept below the field's prime so the share still parses).
void AlterSelfSeedShare(RevealedShares& revealed, uint32_t owner) {
  for (RevealedShare& s : revealed.self_seed_shares) {
    if (s.of == owner) s.share[kShamirShareHeaderSize] ^= 0x01;
  }
}

// Rewrites the x of every share `revealed` holds (each share's bytes 1..4, little-endian).
void SetX(RevealedShares& revealed, uint32_t x) {
  for (RevealedShare& s : revealed.self_seed_shares) {
    for (int b = 0; b < 4; ++b)
      s.share[1 + static_cast<size_t>(b)] = static_cast<uint8_t>(x >> (8 * b));
  }
}

bool Blamed(const SecAggServer& server, uint32_t member, const std::string& why) {
  for (const Blame& b : server.blamed()) {
    if (b.member == member && b.reason.find(why) != std::string::npos) return true;
  }
  return false;
}

// Before: the altered share went into Combine unchecked and the round ended OK with a ruined sum.
TEST(SecAggBadShareTest, AnAlteredSelfSeedShareIsCaughtItsHolderBlamedAndTheSumStaysExact) {
  HandRound round(8);  // full graph: 7 holders per secret, t = 5
  auto sum = round.Run({.reveal = [](uint32_t holder, RevealedShares& r) {
    if (holder == 2) AlterSelfSeedShare(r, 0);
  }});
  round.ExpectExactSum(sum);
  ASSERT_EQ(round.server().blamed().size(), 1u);
  EXPECT_TRUE(Blamed(round.server(), 2, "does not match its commitment"))
      << round.server().blamed()[0].reason;
  EXPECT_EQ(round.reveal_status(2).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(round.server().disputes().empty());
}

TEST(SecAggBadShareTest, AnAlteredShareWithNoSurplusFailsRetryablyNamingTheHolder) {
  HandRound round(4);  // 3 holders per secret, t = 3: every share is needed
  auto sum = round.Run({.reveal = [](uint32_t holder, RevealedShares& r) {
    if (holder == 1) AlterSelfSeedShare(r, 3);
  }});
  ASSERT_FALSE(sum.ok()) << "a sum came out of a round that lost a needed share";
  EXPECT_EQ(sum.status().code(), StatusCode::kFailedPrecondition) << sum.status();
  EXPECT_NE(sum.status().message().find("revealed by member(s) 1 were discarded"),
            std::string::npos)
      << sum.status();
  EXPECT_TRUE(Blamed(round.server(), 1, "does not match its commitment"));
  EXPECT_EQ(round.server().blamed().size(), 1u);
}

// Before: a duplicate x made Combine refuse and failed the whole round; a wrong x was never
// checked. The x is inside what the commitment covers, so changing it is caught like any other
// change.
TEST(SecAggBadShareTest, ADuplicateOrWrongXFromAHolderIsBlamedAndDoesNotFailTheRound) {
  for (const uint32_t x : {internal::ShareX(4), uint32_t{999}}) {  // member 4's x, and nobody's
    HandRound round(8);
    auto sum = round.Run({.reveal = [&](uint32_t holder, RevealedShares& r) {
      if (holder == 5) SetX(r, x);
    }});
    round.ExpectExactSum(sum);
    EXPECT_TRUE(Blamed(round.server(), 5, "does not match its commitment")) << "x=" << x;
    EXPECT_EQ(round.server().blamed().size(), 1u) << "x=" << x;
  }
}

// A share dealt at another holder's x (with commitments over exactly those bytes) is refused by
// every holder: the dealer's secrets cannot be rebuilt, and each holder's report becomes a dispute
// with it.
TEST(SecAggBadShareTest, SharesDealtAtAnotherHoldersXAreReportedAndDisputed) {
  HandRound round(5);
  auto sum = round.Run({.dealer = Dealer{3, DealerLie::kNextHoldersShare}});
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.status().code(), StatusCode::kFailedPrecondition) << sum.status();
  EXPECT_NE(sum.status().message().find("only 0 valid share(s) of the self seed of member 3"),
            std::string::npos)
      << sum.status();
  for (uint32_t i : {0u, 1u, 2u, 4u}) {
    ASSERT_EQ(round.client(i).unusable_from(), std::vector<uint32_t>{3}) << i;
    EXPECT_NE(round.client(i).unusable()[0].why.find("not its holder's x"), std::string::npos)
        << round.client(i).unusable()[0].why;
  }
  ASSERT_EQ(round.server().disputes().size(), 4u);
  for (const Dispute& d : round.server().disputes()) EXPECT_EQ(d.owner, 3u);
  EXPECT_TRUE(round.server().blamed().empty());
}

// The x is inside what the commitment covers, so a holder cannot change it undetected; a share
// dealt with another x than its holder's is refused by the holder itself (CheckShare), and one
// revealed with a matching commitment but another x could only come from a holder that skipped that
// check.
TEST(SecAggBadShareTest, AShareWithAWrongXIsRefusedByTheCheckBothSidesRun) {
  const RoundParameters params = HandRound(4).params();
  const Share share = Split(SecretBytes::Random(32).span(), 2,
                            std::vector<uint32_t>{internal::ShareX(3), internal::ShareX(2)})
                          .value()
                          .front();
  const SecretBytes bytes = SerializeShare(share);
  const Sha256Digest commitment = internal::ShareCommitment(
      params.run_id, params.round, ShareKind::kSelfSeed, 0, 2, bytes.span());
  // Dealt to member 2 at member 3's x, with a commitment over exactly those bytes.
  const auto checked = internal::CheckShare(params.run_id, params.round, ShareKind::kSelfSeed, 0, 2,
                                            bytes.span(), commitment);
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.status().message().find("not its holder's x=3"), std::string::npos)
      << checked.status();
  // The same bytes for their rightful holder pass.
  const Sha256Digest right = internal::ShareCommitment(params.run_id, params.round,
                                                       ShareKind::kSelfSeed, 0, 3, bytes.span());
  EXPECT_TRUE(internal::CheckShare(params.run_id, params.round, ShareKind::kSelfSeed, 0, 3,
                                   bytes.span(), right)
                  .ok());
}

TEST(SecAggBadShareTest, AnOwnerDealingSharesOfAnotherSelfSeedIsBlamed) {
  HandRound round(5);
  auto sum = round.Run({.dealer = Dealer{2, DealerLie::kOtherSelfSeed}});
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.status().code(), StatusCode::kFailedPrecondition) << sum.status();
  EXPECT_NE(sum.status().message().find("member 2 dealt shares of its self seed"),
            std::string::npos)
      << sum.status();
  ASSERT_EQ(round.server().blamed().size(), 1u);
  EXPECT_EQ(round.server().blamed()[0].member, 2u);
  // Its shares opened and matched their commitments: every holder took them and revealed them.
  for (uint32_t i : {0u, 1u, 3u, 4u}) {
    EXPECT_TRUE(round.client(i).unusable().empty()) << i;
    EXPECT_TRUE(round.reveal_status(i).ok()) << i;
  }
}

TEST(SecAggBadShareTest, AnOwnerDealingSharesOfAnotherMaskKeyIsBlamedWhenItDrops) {
  // Its mask key is rebuilt only because it drops after ShareKeys; the rebuilt key is not the one
  // its advert carries.
  HandRound round(5);
  auto sum =
      round.Run({.dealer = Dealer{1, DealerLie::kOtherMaskKey, /*drops_after_sharing=*/true}});
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.status().code(), StatusCode::kFailedPrecondition) << sum.status();
  EXPECT_TRUE(Blamed(round.server(), 1, "dealt shares of its mask key")) << sum.status();
  EXPECT_EQ(round.server().blamed().size(), 1u);

  // The same dealer surviving: its mask key is never rebuilt, and the sum is exact.
  HandRound survived(5);
  survived.ExpectExactSum(survived.Run({.dealer = Dealer{1, DealerLie::kOtherMaskKey}}));
  EXPECT_TRUE(survived.server().blamed().empty());
}

// Before: one flipped bit in a sealed share made its recipient refuse the round, which was then
// retried with the culprit again.
TEST(SecAggBadShareTest, ASealedShareThatDoesNotOpenIsReportedAndTheSumStaysExact) {
  HandRound round(7);  // 6 holders per secret, t = 4
  auto sum = round.Run({.delivery = [](uint32_t holder, std::vector<SealedShare>& shares) {
    if (holder != 4) return;
    for (SealedShare& s : shares) {
      if (s.from == 6) s.ciphertext[20] ^= 0x01;
    }
  }});
  EXPECT_EQ(round.client(4).unusable_from(), std::vector<uint32_t>{6});
  EXPECT_NE(round.client(4).unusable()[0].why.find("do not open"), std::string::npos)
      << round.client(4).unusable()[0].why;
  // Member 4 still masked with member 6 (the sum would not unmask otherwise) and reveals nothing of
  // it.
  round.ExpectExactSum(sum);
  EXPECT_TRUE(round.server().blamed().empty());
  EXPECT_TRUE(round.server().disputes().empty());
}

TEST(SecAggBadShareTest, UnusableSharesThatLeaveTooFewFailRetryablyWithTheDisputeRecorded) {
  HandRound round(4);  // t = 3 of 3 holders
  auto sum = round.Run({.delivery = [](uint32_t holder, std::vector<SealedShare>& shares) {
    if (holder != 2) return;
    for (SealedShare& s : shares) {
      if (s.from == 0) s.self_seed_commitment[0] ^= 0x01;  // the commitment no longer matches
    }
  }});
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.status().code(), StatusCode::kFailedPrecondition) << sum.status();
  EXPECT_NE(sum.status().message().find("self seed of member 0"), std::string::npos)
      << sum.status();
  EXPECT_NE(sum.status().message().find("member(s) 2 reported its shares unusable"),
            std::string::npos)
      << sum.status();
  ASSERT_EQ(round.server().disputes().size(), 1u);
  EXPECT_EQ(round.server().disputes()[0].reporter, 2u);
  EXPECT_EQ(round.server().disputes()[0].owner, 0u);
  EXPECT_TRUE(round.server().blamed().empty());
  EXPECT_NE(round.client(2).unusable()[0].why.find("does not match its commitment"),
            std::string::npos);
}

TEST(SecAggBadShareTest, AHolderRevealingAShareItReportedUnusableIsBlamed) {
  HandRound round(7);
  auto sum = round.Run({
      .delivery =
          [](uint32_t holder, std::vector<SealedShare>& shares) {
            if (holder != 3) return;
            for (SealedShare& s : shares) {
              if (s.from == 1) s.ciphertext[0] ^= 0x01;
            }
          },
      .reveal =
          [](uint32_t holder, RevealedShares& r) {
            // Member 3 reported member 1, then reveals a share of member 1's seed anyway.
            if (holder != 3) return;
            RevealedShare invented = r.self_seed_shares[0];
            invented.of = 1;
            r.self_seed_shares.push_back(invented);
          },
  });
  round.ExpectExactSum(sum);
  EXPECT_TRUE(Blamed(round.server(), 3, "reported unusable")) << round.reveal_status(3);
}

TEST(SecAggBadShareTest, SharesOfTheWrongKindOrTwiceOrOfAStrangerAreBlamed) {
  struct Case {
    const char* what;
    std::function<void(RevealedShares&)> lie;
  };
  const std::vector<Case> cases = {
      {"twice", [](RevealedShares& r) { r.self_seed_shares.push_back(r.self_seed_shares[0]); }},
      {"wrong kind", [](RevealedShares& r) { r.mask_key_shares.push_back(r.self_seed_shares[0]); }},
      {"stranger", [](RevealedShares& r) { r.self_seed_shares[0].of = 40; }},
  };
  for (const Case& c : cases) {
    HandRound round(7);
    auto sum = round.Run({.reveal = [&](uint32_t holder, RevealedShares& r) {
      if (holder == 0) c.lie(r);
    }});
    round.ExpectExactSum(sum);
    EXPECT_TRUE(Blamed(round.server(), 0, "cannot hold"))
        << c.what << ": " << round.reveal_status(0);
  }
}

}  // namespace
}  // namespace cartable::aggregation::secagg
