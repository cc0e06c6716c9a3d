// A malicious coordinator against SecAggClient and SecAggServer, driven directly (no transport):
// every lie the client's header promises to catch is told here, each beside the honest message it
// corrupts so that the test fails if the honest path breaks or the lie goes through.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "aggregation/secagg/client.h"
#include "aggregation/secagg/graph_plan.h"
#include "aggregation/secagg/internal/round_crypto.h"
#include "aggregation/secagg/server.h"

namespace cartable::aggregation::secagg {
namespace {

Sha256Digest Hash(uint8_t tag) {
  Sha256Digest digest{};
  digest.fill(tag);
  return digest;
}

// A cohort of `size` members ("m0", "m1", …; "ma0", "ma1", … past ten, so names stay sorted), full
// graph unless `neighbours` says otherwise.
struct Cohort {
  explicit Cohort(int size, int neighbours = kFullNeighbourGraph) {
    params.run_id = 77;
    params.round = 3;
    params.neighbours = neighbours;
    params.graph_seed.fill(9);
    for (int i = 0; i < size; ++i) {
      keys.push_back(std::make_unique<SigningKey>(SigningKey::Generate().value()));
      const std::string tens = size <= 10 ? "" : std::string(1, static_cast<char>('a' + i / 10));
      const std::string name = "m" + tens + std::to_string(i % (size <= 10 ? size : 10));
      params.cohort.push_back({name, keys.back()->PublicKey()});
    }
    policy.min_cohort = 3;
  }

  StatusOr<std::unique_ptr<SecAggClient>> Client(int i, const Sha256Digest& hash) const {
    return SecAggClient::Create(params, params.cohort[i].name, *keys[i], hash, policy);
  }

  // Every member's client, all given `model`.
  void Start() {
    for (size_t i = 0; i < keys.size(); ++i)
      clients.push_back(Client(static_cast<int>(i), model).value());
  }
  std::vector<KeyAdvert> Advertise(size_t count) {
    std::vector<KeyAdvert> out;
    for (size_t i = 0; i < count; ++i) out.push_back(clients[i]->Advertise().value());
    return out;
  }
  // Runs AdvertiseKeys, ShareKeys and share delivery for the first `count` members; returns what
  // each member was sent, by recipient.
  std::vector<std::vector<SealedShare>> ShareAmong(size_t count) {
    adverts = Advertise(count);
    std::vector<std::vector<SealedShare>> inbox(keys.size());
    for (size_t i = 0; i < count; ++i) {
      std::vector<SealedShare> sealed = clients[i]->OnKeyList(adverts).value();
      for (SealedShare& s : sealed) inbox[s.to].push_back(std::move(s));
    }
    return inbox;
  }
  // Up to MaskedInput for the first `count` members (all of them advertised and shared).
  void MaskAmong(size_t count) {
    auto inbox = ShareAmong(count);
    for (size_t i = 0; i < count; ++i) {
      ASSERT_TRUE(clients[i]->OnShares(inbox[i]).ok());
      ASSERT_TRUE(clients[i]->MaskInput(std::vector<float>(16, 0.25f)).ok());
    }
  }

  RoundParameters params;
  std::vector<std::unique_ptr<SigningKey>> keys;
  ClientPolicy policy;
  Sha256Digest model = Hash(1);
  std::vector<std::unique_ptr<SecAggClient>> clients;
  std::vector<KeyAdvert> adverts;
};

KeyAdvert SignedAdvert(const Cohort& c, uint32_t member, const X25519PublicKey& mask_key,
                       const X25519PublicKey& share_key) {
  KeyAdvert advert{member, mask_key, share_key, {}};
  advert.signature =
      c.keys[member]
          ->Sign(internal::AdvertMessage(c.params.run_id, c.params.round, advert, c.model))
          .value();
  return advert;
}

TEST(SecAggClientTest, ACohortBelowTheFloorIsRefused) {
  Cohort c(4);
  c.policy.min_cohort = 4;
  EXPECT_TRUE(c.Client(0, c.model).ok());
  c.policy.min_cohort = 5;
  EXPECT_EQ(c.Client(0, c.model).status().code(), StatusCode::kPermissionDenied);
}

TEST(SecAggClientTest, ARosterMismatchIsRefused) {
  Cohort c(4);
  for (const CohortMember& m : c.params.cohort) c.policy.roster[m.name] = m.signing_key;
  EXPECT_TRUE(c.Client(1, c.model).ok());
  ClientPolicy missing = c.policy;
  missing.roster.erase("m3");  // the coordinator invented m3
  EXPECT_EQ(SecAggClient::Create(c.params, "m1", *c.keys[1], c.model, missing).status().code(),
            StatusCode::kPermissionDenied);
  ClientPolicy other_key = c.policy;
  other_key.roster["m2"] = SigningKey::Generate().value().PublicKey();  // m2 enrolled another key
  EXPECT_EQ(SecAggClient::Create(c.params, "m1", *c.keys[1], c.model, other_key).status().code(),
            StatusCode::kPermissionDenied);
}

// The plan's corrupt allowance sets the threshold: ⌊(degree + 1 + a)/2⌋ + 1 shares. With 6 members
// (degree 5) an allowance of 1 asks for 4 shares, which the full round can give; an allowance of 6
// would ask for 7 of 5 neighbours, which no round can, and the client refuses the key list instead
// of splitting its secrets into shares nobody could ever combine.
TEST(SecAggClientTest, TheThresholdFollowsTheCorruptAllowanceAndAnImpossibleOneIsRefused) {
  Cohort c(6);
  c.params.corrupt_allowance = 1;
  c.Start();
  auto inbox = c.ShareAmong(6);
  for (size_t i = 0; i < 6; ++i) EXPECT_TRUE(c.clients[i]->OnShares(inbox[i]).ok()) << i;

  Cohort impossible(6);
  impossible.params.corrupt_allowance = 6;
  impossible.Start();
  const std::vector<KeyAdvert> adverts = impossible.Advertise(6);
  StatusOr<std::vector<SealedShare>> sealed = impossible.clients[0]->OnKeyList(adverts);
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(sealed.status().message().find("more than the 5 neighbours"), std::string::npos)
      << sealed.status().message();
}

// A node that assumes 5 % of a 40-member cohort may collude needs the threshold to outlast 2
// colluders: a coordinator planning for none (a lower threshold) is refused, one planning for 2 or
// more is accepted; a sparse plan is checked against the same node-side computation.
TEST(SecAggClientTest, APlanBelowTheNodesCorruptToleranceIsRefused) {
  Cohort c(40);
  c.policy.tolerate_corrupt = 0.05;
  c.params.corrupt_allowance = 0;
  StatusOr<std::unique_ptr<SecAggClient>> client = c.Client(0, c.model);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(client.status().message().find("needs 2"), std::string::npos)
      << client.status().message();
  c.params.corrupt_allowance = 2;
  EXPECT_TRUE(c.Client(0, c.model).ok());
  c.params.corrupt_allowance = 5;
  EXPECT_TRUE(c.Client(0, c.model).ok());

  c.params.neighbours = 10;
  const StatusOr<GraphPlan> required = PlanGraph(40, {0.05, 0}, 10);
  ASSERT_TRUE(required.ok());
  c.params.corrupt_allowance = required->corrupt_allowance - 1;
  EXPECT_EQ(c.Client(0, c.model).status().code(), StatusCode::kPermissionDenied);
  c.params.corrupt_allowance = required->corrupt_allowance;
  EXPECT_TRUE(c.Client(0, c.model).ok());
}

// The coordinator sent m0 another global model: m0's advert commits to that model's hash, and every
// other client, and the honest server, refuse it.
TEST(SecAggClientTest, AnAdvertOverAnotherModelIsRefusedByEveryoneElse) {
  Cohort c(4);
  c.clients.push_back(c.Client(0, Hash(2)).value());
  for (int i = 1; i < 4; ++i) c.clients.push_back(c.Client(i, c.model).value());
  std::vector<KeyAdvert> adverts = c.Advertise(4);
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ(c.clients[i]->OnKeyList(adverts).status().code(), StatusCode::kPermissionDenied) << i;
  }
  auto server = SecAggServer::Create(c.params, 16, c.model).value();
  EXPECT_TRUE(server->OnAdvert(adverts[1]).ok());
  EXPECT_EQ(server->OnAdvert(adverts[0]).code(), StatusCode::kPermissionDenied);
}

TEST(SecAggClientTest, AForgedOrReflectedAdvertIsRefused) {
  Cohort c(4);
  c.Start();
  const std::vector<KeyAdvert> honest = c.Advertise(4);
  std::vector<KeyAdvert> forged = honest;
  forged[2].signature[5] ^= 1;  // forged: one signature byte flipped
  EXPECT_EQ(c.clients[0]->OnKeyList(forged).status().code(), StatusCode::kPermissionDenied);
  // Reflected: a member colluding with the coordinator signs an advert carrying m1's mask key (or
  // m1's own key back to m1), so that m1 would "agree" a seed with itself or share one with m2.
  std::vector<KeyAdvert> reflected = honest;
  reflected[3] = SignedAdvert(c, 3, honest[1].mask_key, honest[3].share_key);
  const Status refused = c.clients[1]->OnKeyList(reflected).status();
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.message().find("same public key"), std::string::npos) << refused;
  EXPECT_EQ(c.clients[2]->OnKeyList(reflected).status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(c.clients[3]->OnKeyList(honest).ok());  // the honest list still goes through
  auto server = SecAggServer::Create(c.params, 16, c.model).value();
  ASSERT_TRUE(server->OnAdvert(honest[1]).ok());
  EXPECT_EQ(server->OnAdvert(reflected[3]).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(server->OnAdvert(forged[2]).code(), StatusCode::kPermissionDenied);
}

TEST(SecAggClientTest, ASurvivorSetWithoutThisNodeOrWithAStrangerIsRefused) {
  Cohort c(5);
  c.Start();
  c.MaskAmong(4);  // m4 never advertised
  EXPECT_EQ(c.clients[0]->OnSurvivors(std::vector<uint32_t>{1, 2, 3}).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(c.clients[1]->OnSurvivors(std::vector<uint32_t>{0, 1, 2, 3, 4}).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(c.clients[2]->OnSurvivors(std::vector<uint32_t>{0, 1, 2, 3}).ok());
  // A refusal ends the round for that client: the honest set no longer gets a signature.
  EXPECT_FALSE(c.clients[0]->OnSurvivors(std::vector<uint32_t>{0, 1, 2, 3}).ok());
}

// Never both: asking m0 a second time (with m1 now "dropped"), or showing it signatures over
// another survivor set than the one it signed, would make it reveal m1's mask-key share after its
// self-seed share. Every such request is refused, and what is revealed holds one kind of share per
// neighbour.
TEST(SecAggClientTest, ACoordinatorCannotCollectBothSharesOfOneNeighbour) {
  Cohort c(5);
  c.Start();
  c.MaskAmong(5);
  const std::vector<uint32_t> all = {0, 1, 2, 3, 4}, without_1 = {0, 2, 3, 4};
  std::vector<MemberSignature> over_all, over_without_1;
  for (uint32_t i : {1, 2, 3, 4}) over_all.push_back({i, c.clients[i]->OnSurvivors(all).value()});
  const auto message = internal::SurvivorsMessage(c.params.run_id, c.params.round, without_1);
  for (uint32_t i : {2, 3, 4}) over_without_1.push_back({i, c.keys[i]->Sign(message).value()});

  // m0 is asked twice before revealing anything: refused, and it reveals nothing afterwards.
  ASSERT_TRUE(c.clients[0]->OnSurvivors(all).ok());
  EXPECT_EQ(c.clients[0]->OnSurvivors(without_1).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(c.clients[0]->OnSignatures(over_all).status().code(), StatusCode::kFailedPrecondition);

  // m2 reveals once, for the set it signed: self-seed shares only, one per neighbour.
  auto revealed = c.clients[2]->OnSignatures(over_all);
  ASSERT_TRUE(revealed.ok()) << revealed.status();
  EXPECT_EQ(revealed->self_seed_shares.size(), 4u);
  EXPECT_TRUE(revealed->mask_key_shares.empty());
  // Then the coordinator calls m1 dropped and asks again: both calls are refused.
  EXPECT_EQ(c.clients[2]->OnSurvivors(without_1).status().code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(c.clients[2]->OnSignatures(over_without_1).ok());
}

TEST(SecAggClientTest, SignaturesOverAnotherSurvivorSetAreRefused) {
  Cohort c(5);
  c.Start();
  c.MaskAmong(5);
  const std::vector<uint32_t> told_m0 = {0, 2, 3, 4}, told_others = {0, 1, 2, 3, 4};
  ASSERT_TRUE(c.clients[0]->OnSurvivors(told_m0).ok());
  std::vector<MemberSignature> others;
  for (uint32_t i : {2, 3, 4})
    others.push_back({i, c.clients[i]->OnSurvivors(told_others).value()});
  EXPECT_EQ(c.clients[0]->OnSignatures(others).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(c.clients[0]->OnSignatures(others).status().code(), StatusCode::kFailedPrecondition);
}

// A share that does not open is its owner's fault or the relay's: the holder goes on without it and
// reports the owner (before, it refused the round, which was then retried with the culprit again).
// A share list the coordinator misaddressed is the coordinator's fault alone, and is refused.
TEST(SecAggClientTest, ATamperedShareIsReportedAndAMisaddressedOneRefused) {
  Cohort c(4);
  c.Start();
  auto inbox = c.ShareAmong(4);
  ASSERT_TRUE(c.clients[3]->OnShares(inbox[3]).ok());  // honest delivery works
  EXPECT_TRUE(c.clients[3]->unusable_from().empty());

  std::vector<SealedShare> tampered = inbox[0];
  tampered[1].ciphertext[20] ^= 0x01;
  ASSERT_TRUE(c.clients[0]->OnShares(tampered).ok());
  EXPECT_EQ(c.clients[0]->unusable_from(), std::vector<uint32_t>{tampered[1].from});
  EXPECT_TRUE(c.clients[0]->MaskInput(std::vector<float>(16, 0.25f)).ok());  // the round goes on

  // m2's share from m1, re-addressed to m0 (envelope changed): it does not open for m1 either, so
  // m1 reports its sender.
  SealedShare for_2 = inbox[2][0];
  ASSERT_EQ(for_2.to, 2u);
  std::vector<SealedShare> readdressed = inbox[1];
  for (SealedShare& s : readdressed) {
    if (s.from == for_2.from) {
      s = for_2;
      s.to = 1;
    }
  }
  ASSERT_TRUE(c.clients[1]->OnShares(readdressed).ok());
  EXPECT_EQ(c.clients[1]->unusable_from(), std::vector<uint32_t>{for_2.from});

  // Relayed unchanged to someone else, or twice: the coordinator's doing, refused.
  std::vector<SealedShare> misrouted = inbox[2];
  misrouted[0] = inbox[1][0];  // addressed to m1, delivered to m2
  EXPECT_EQ(c.clients[2]->OnShares(misrouted).code(), StatusCode::kPermissionDenied);
}

TEST(SecAggClientTest, ASharesListWithARepeatIsRefused) {
  Cohort c(4);
  c.Start();
  auto inbox = c.ShareAmong(4);
  std::vector<SealedShare> repeated = inbox[0];
  repeated.push_back(repeated[0]);
  EXPECT_EQ(c.clients[0]->OnShares(repeated).code(), StatusCode::kPermissionDenied);
}

// The advert's signature covers the seed commitment, so nobody can swap it for another (which would
// let a coordinator, or a member, make an honest owner look as if it dealt inconsistent shares).
TEST(SecAggClientTest, TheSeedCommitmentIsCoveredByTheAdvertSignature) {
  Cohort c(4);
  c.Start();
  const std::vector<KeyAdvert> honest = c.Advertise(4);
  for (const KeyAdvert& a : honest) EXPECT_NE(a.seed_commitment, Sha256Digest{}) << a.member;
  std::vector<KeyAdvert> changed = honest;
  changed[2].seed_commitment[7] ^= 0x01;
  EXPECT_FALSE(
      VerifySignature(c.params.cohort[2].signing_key,
                      internal::AdvertMessage(c.params.run_id, c.params.round, changed[2], c.model),
                      changed[2].signature)
          .ok());
  EXPECT_EQ(c.clients[0]->OnKeyList(changed).status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(c.clients[1]->OnKeyList(honest).ok());
  auto server = SecAggServer::Create(c.params, 16, c.model).value();
  EXPECT_EQ(server->OnAdvert(changed[2]).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(server->OnAdvert(honest[2]).ok());
  // Its own advert with another commitment is refused by the member itself.
  std::vector<KeyAdvert> own_changed = honest;
  own_changed[3].seed_commitment[0] ^= 0x01;
  EXPECT_EQ(c.clients[3]->OnKeyList(own_changed).status().code(), StatusCode::kPermissionDenied);
}

// Regression: the check that an advert's two keys differ once sat inside the loop over adverts
// already received, so the first advert to arrive was never checked. Clients refuse such an advert;
// so does the server.
TEST(SecAggClientTest, TheServerRefusesAFirstAdvertWithOneKeyTwice) {
  Cohort c(4);
  c.Start();
  const std::vector<KeyAdvert> honest = c.Advertise(4);
  const KeyAdvert same_keys = SignedAdvert(c, 0, honest[0].mask_key, honest[0].mask_key);
  std::vector<KeyAdvert> list = honest;
  list[0] = same_keys;
  EXPECT_EQ(c.clients[1]->OnKeyList(list).status().code(), StatusCode::kPermissionDenied);
  auto server = SecAggServer::Create(c.params, 16, c.model).value();
  EXPECT_EQ(server->OnAdvert(same_keys).code(), StatusCode::kInvalidArgument);
}

// χ² over 256 buckets with 255 degrees of freedom; 380 is beyond the 1 − 10^−6 quantile (≈ 377), so
// a uniform source fails with probability below 10^−6 per statistic. Keys and masks are truly
// random (the client draws them), which is why the bound is generous.
double ChiSquare(const std::array<double, 256>& counts, double total) {
  const double expected = total / 256;
  double statistic = 0;
  for (double n : counts) statistic += (n - expected) * (n - expected) / expected;
  return statistic;
}

TEST(SecAggClientTest, AMaskedConstantInputAlonePassesAUniformityTest) {
  Cohort c(4, /*neighbours=*/2);
  c.params.modulus_bits = 32;
  c.Start();
  auto inbox = c.ShareAmong(4);
  constexpr size_t kWords = 200'000;
  std::array<double, 256> top{}, low{}, plain{};
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.clients[i]->OnShares(inbox[i]).ok());
    const std::vector<float> zeros(kWords, 0.0f);
    auto masked = c.clients[i]->MaskInput(zeros);
    ASSERT_TRUE(masked.ok()) << masked.status();
    std::fill(top.begin(), top.end(), 0);
    std::fill(low.begin(), low.end(), 0);
    for (uint64_t w : *masked) {
      ASSERT_LT(w, uint64_t{1} << 32);
      ++top[w >> 24];
      ++low[w & 0xff];
    }
    EXPECT_LT(ChiSquare(top, kWords), 380.0) << "member " << i;
    EXPECT_LT(ChiSquare(low, kWords), 380.0) << "member " << i;
  }
  // The same statistic on the unmasked quantised input (one level, L/2) is enormous.
  const uint64_t level = c.clients[0]->quantizer().levels() / 2;
  plain[level >> 24] = kWords;
  EXPECT_GT(ChiSquare(plain, kWords), 1e6);
}

std::vector<const KeyAdvert*> Pointers(const std::vector<KeyAdvert>& adverts) {
  std::vector<const KeyAdvert*> pointers;
  for (const KeyAdvert& advert : adverts) pointers.push_back(&advert);
  return pointers;
}

// The coordinator draws the plan's graph seed before any member has drawn its keys; the graph comes
// from that seed and every member's signed advert (internal::GraphSeed). So a coordinator that
// picks the seed whose graph suits it (to surround one member with colluders) does not get that
// graph: the members share by the graph of the key list, which they and the coordinator derive
// alike.
TEST(SecAggClientTest, TheCoordinatorsGraphSeedAloneDoesNotChooseTheGraph) {
  Cohort cohort(12, 4);
  cohort.Start();
  const std::vector<KeyAdvert> adverts = cohort.Advertise(12);
  const Sha256Digest seed = internal::GraphSeed(cohort.params, Pointers(adverts));
  EXPECT_NE(seed, cohort.params.graph_seed);
  EXPECT_EQ(seed, internal::GraphSeed(cohort.params, Pointers(adverts)));
  std::vector<KeyAdvert> changed = adverts;
  changed[5].signature[0] ^= 1;
  EXPECT_NE(internal::GraphSeed(cohort.params, Pointers(changed)), seed) << "every advert counts";
  RoundParameters other_round = cohort.params;
  other_round.round += 1;
  EXPECT_NE(internal::GraphSeed(other_round, Pointers(adverts)), seed);

  std::vector<uint32_t> everyone(12);
  for (uint32_t i = 0; i < 12; ++i) everyone[i] = i;
  const NeighbourGraph chosen =
      internal::GraphOver(cohort.params, everyone, cohort.params.graph_seed).value();
  const NeighbourGraph derived = internal::GraphOver(cohort.params, everyone, seed).value();
  bool differs = false;
  for (int node = 0; node < 12; ++node)
    differs |= chosen.neighbours(node) != derived.neighbours(node);
  EXPECT_TRUE(differs) << "the plan's seed alone gave the members' graph";
  // Each member seals its shares for its neighbours in the derived graph, and no one else; the
  // coordinator's server derives the same graph from the same key list, so it takes them all.
  auto server = SecAggServer::Create(cohort.params, 16, cohort.model).value();
  for (const KeyAdvert& advert : adverts) ASSERT_TRUE(server->OnAdvert(advert).ok());
  ASSERT_TRUE(server->CloseAdvertising().ok());
  for (int member = 0; member < 12; ++member) {
    std::vector<SealedShare> sealed =
        cohort.clients[static_cast<size_t>(member)]->OnKeyList(adverts).value();
    std::vector<int> to;
    for (const SealedShare& share : sealed) to.push_back(static_cast<int>(share.to));
    std::sort(to.begin(), to.end());
    std::vector<int> expected = derived.neighbours(member);
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(to, expected) << "member " << member;
    EXPECT_TRUE(server->OnShares(static_cast<uint32_t>(member), std::move(sealed)).ok()) << member;
  }
}

}  // namespace
}  // namespace cartable::aggregation::secagg
