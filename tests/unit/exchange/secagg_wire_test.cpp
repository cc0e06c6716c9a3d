#include "exchange/secagg_wire.h"

#include <gtest/gtest.h>

namespace cartable::exchange {
namespace {

protocol::SecAggPlan SmallPlan() {
  protocol::SecAggPlan plan;
  plan.enabled = 1;
  plan.neighbours = 0;
  plan.corrupt_allowance = 1;
  plan.modulus_bits = 32;
  plan.graph_seed[0] = 7;
  plan.cohort = {{"a", {}}, {"b", {}}, {"c", {}}};
  plan.cohort[1].signing_key[0] = 9;
  return plan;
}

TEST(SecAggWireTest, PlanAndRoundParametersMapBothWays) {
  auto params = RoundParametersOf(SmallPlan(), 4.0, 42, 3);
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ(params->run_id, 42u);
  EXPECT_EQ(params->round, 3u);
  EXPECT_EQ(params->corrupt_allowance, 1);
  EXPECT_EQ(params->value_range, 4.0);
  ASSERT_EQ(params->cohort.size(), 3u);
  EXPECT_EQ(params->cohort[1].signing_key[0], 9);
  const protocol::SecAggPlan back = PlanOf(*params);
  EXPECT_EQ(back.enabled, 1);
  EXPECT_EQ(back.graph_seed, SmallPlan().graph_seed);
  EXPECT_EQ(back.cohort.size(), 3u);
  EXPECT_EQ(back.cohort[2].name, "c");
}

TEST(SecAggWireTest, RefusesPlansNoCoordinatorShouldSend) {
  protocol::SecAggPlan plan = SmallPlan();
  plan.corrupt_allowance = 4;
  EXPECT_FALSE(RoundParametersOf(plan, 4.0, 1, 1).ok());
  plan = SmallPlan();
  plan.modulus_bits = 63;
  EXPECT_FALSE(RoundParametersOf(plan, 4.0, 1, 1).ok());
}

TEST(SecAggWireTest, MaskedWordsTravelInTheWidthOfTheModulus) {
  const protocol::MaskedInput narrow = MaskedInputOf({1, 2, 0xffffffff}, 32);
  EXPECT_EQ(narrow.words32.size(), 3u);
  EXPECT_TRUE(narrow.words64.empty());
  EXPECT_EQ(WordsOf(narrow, 32).value(), (std::vector<uint64_t>{1, 2, 0xffffffff}));
  EXPECT_FALSE(WordsOf(narrow, 40).ok()) << "32-bit words for a 40-bit modulus";
  const protocol::MaskedInput wide = MaskedInputOf({uint64_t{1} << 40}, 48);
  EXPECT_EQ(WordsOf(wide, 48).value(), std::vector<uint64_t>{uint64_t{1} << 40});
  EXPECT_FALSE(WordsOf(wide, 32).ok());
  protocol::MaskedInput both = wide;
  both.words32 = {1};
  EXPECT_FALSE(WordsOf(both, 48).ok());
}

TEST(SecAggWireTest, SharesAndSignaturesKeepTheirFields) {
  aggregation::secagg::SealedShare share;
  share.from = 1;
  share.to = 2;
  share.self_seed_commitment[0] = 6;
  share.mask_key_commitment[31] = 7;
  share.ciphertext = {3, 4, 5};
  const auto wire = ToWire(std::vector<aggregation::secagg::SealedShare>{share});
  ASSERT_EQ(wire.size(), 1u);
  EXPECT_EQ(wire[0].from, 1u);
  EXPECT_EQ(wire[0].to, 2u);
  const auto back = SharesOf(wire);
  EXPECT_EQ(back[0].ciphertext, (std::vector<uint8_t>{3, 4, 5}));
  EXPECT_EQ(back[0].self_seed_commitment, share.self_seed_commitment);
  EXPECT_EQ(back[0].mask_key_commitment, share.mask_key_commitment);
  protocol::UnmaskRequest request;
  request.signatures.push_back({5, {}});
  request.signatures[0].signature[63] = 1;
  const auto signatures = SignaturesOf(request);
  EXPECT_EQ(signatures[0].member, 5u);
  EXPECT_EQ(UnmaskRequestOf(signatures).signatures[0].signature[63], 1);
}

TEST(SecAggWireTest, AnAdvertKeepsItsSeedCommitment) {
  aggregation::secagg::KeyAdvert advert;
  advert.member = 3;
  advert.mask_key[0] = 1;
  advert.share_key[1] = 2;
  advert.seed_commitment[2] = 3;
  advert.signature[63] = 4;
  const std::vector<aggregation::secagg::KeyAdvert> back = AdvertsOf(KeyListOf({advert}));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].member, 3u);
  EXPECT_EQ(back[0].mask_key, advert.mask_key);
  EXPECT_EQ(back[0].share_key, advert.share_key);
  EXPECT_EQ(back[0].seed_commitment, advert.seed_commitment);
  EXPECT_EQ(back[0].signature, advert.signature);
}

}  // namespace
}  // namespace cartable::exchange
