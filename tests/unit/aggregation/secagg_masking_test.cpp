#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "aggregation/secagg/masking.h"
#include "aggregation/secagg/neighbour_graph.h"

namespace cartable::aggregation::secagg {
namespace {

// Seeds from a seeded generator: the property test must be reproducible, and the arithmetic does
// not care where seeds come from. PairwiseSeed gets its own tests with real keys.
SecretBytes SeedFromRng(std::mt19937_64& rng) {
  SecretBytes seed(32);
  for (uint8_t& byte : seed.mutable_span()) byte = static_cast<uint8_t>(rng());
  return seed;
}

std::vector<uint64_t> RandomWords(std::mt19937_64& rng, size_t count, int bits) {
  std::vector<uint64_t> words(count);
  for (uint64_t& word : words) word = rng() & ((uint64_t{1} << bits) - 1);
  return words;
}

void AddInto(std::vector<uint64_t>& sum, const std::vector<uint64_t>& words, int bits) {
  for (size_t i = 0; i < sum.size(); ++i)
    sum[i] = (sum[i] + words[i]) & ((uint64_t{1} << bits) - 1);
}

X25519PrivateKey KeyFromBytes(uint8_t first) {
  std::array<uint8_t, kX25519KeySize> bytes;
  std::iota(bytes.begin(), bytes.end(), first);
  StatusOr<X25519PrivateKey> key = X25519PrivateKey::FromBytes(SecretBytes::CopyFrom(bytes));
  EXPECT_TRUE(key.ok()) << key.status();
  return std::move(key).value();
}

// One simulated round: graph, inputs, seeds and masked inputs of every node.
struct Round {
  NeighbourGraph graph;
  int bits;
  std::vector<std::vector<uint64_t>> inputs;
  std::vector<SecretBytes> self_seeds;
  // pair_seeds[i][j] for neighbours i, j (the same bytes at both ends).
  std::vector<std::vector<SecretBytes>> pair_seeds;
  std::vector<std::vector<uint64_t>> masked;
};

Round MakeRound(std::mt19937_64& rng, int n, int k, size_t dimension, int bits) {
  std::vector<uint8_t> graph_seed(kNeighbourGraphSeedSize);
  for (uint8_t& byte : graph_seed) byte = static_cast<uint8_t>(rng());
  StatusOr<NeighbourGraph> graph = NeighbourGraph::Create(n, k, graph_seed);
  CARTABLE_CHECK(graph.ok()) << graph.status();
  Round round{std::move(graph).value(), bits, {}, {}, {}, {}};
  round.pair_seeds.resize(n);
  for (auto& row : round.pair_seeds) row.resize(n);
  for (int i = 0; i < n; ++i) {
    round.inputs.push_back(RandomWords(rng, dimension, bits));
    round.self_seeds.push_back(SeedFromRng(rng));
    for (int j : round.graph.neighbours(i)) {
      if (j < i) continue;
      round.pair_seeds[i][j] = SeedFromRng(rng);
      round.pair_seeds[j][i] = round.pair_seeds[i][j].Clone();
    }
  }
  for (int i = 0; i < n; ++i) {
    std::vector<NeighbourSeed> mine;
    for (int j : round.graph.neighbours(i)) mine.push_back({j, round.pair_seeds[i][j].Clone()});
    StatusOr<std::vector<uint64_t>> masked =
        MaskInput(round.inputs[i], round.self_seeds[i], mine, i, bits);
    CARTABLE_CHECK(masked.ok()) << masked.status();
    round.masked.push_back(std::move(masked).value());
  }
  return round;
}

// What an honest coordinator gathers for a set of survivors: their masked sum, their self seeds,
// and each dropped node's pairwise seeds with its surviving neighbours.
struct Recovered {
  std::vector<uint64_t> masked_sum;
  std::vector<uint64_t> expected_sum;
  std::vector<SelfSeed> self_seeds;
  std::vector<DroppedPairSeed> pair_seeds;
};

Recovered Recover(const Round& round, const std::vector<int>& survivors) {
  const size_t dimension = round.inputs[0].size();
  Recovered recovered{
      std::vector<uint64_t>(dimension, 0), std::vector<uint64_t>(dimension, 0), {}, {}};
  std::vector<bool> is_survivor(round.inputs.size(), false);
  for (int i : survivors) {
    is_survivor[i] = true;
    AddInto(recovered.masked_sum, round.masked[i], round.bits);
    AddInto(recovered.expected_sum, round.inputs[i], round.bits);
    recovered.self_seeds.push_back({i, round.self_seeds[i].Clone()});
  }
  for (int d = 0; d < static_cast<int>(round.inputs.size()); ++d) {
    if (is_survivor[d]) continue;
    for (int j : round.graph.neighbours(d)) {
      if (is_survivor[j]) recovered.pair_seeds.push_back({d, j, round.pair_seeds[d][j].Clone()});
    }
  }
  return recovered;
}

StatusOr<std::vector<uint64_t>> Unmask(const Round& round, const std::vector<int>& survivors,
                                       const Recovered& recovered) {
  return UnmaskSum(recovered.masked_sum, survivors, recovered.self_seeds, recovered.pair_seeds,
                   round.graph, round.bits);
}

TEST(MaskingTest, UnmaskedSumIsExactForRandomRoundsAndDropouts) {
  std::mt19937_64 rng(20260529);
  constexpr int kCases = 250;
  int cases_with_dropouts = 0;
  int sparse_cases = 0;
  for (int c = 0; c < kCases; ++c) {
    const int n = std::uniform_int_distribution<int>(2, 40)(rng);
    const size_t dimension = std::uniform_int_distribution<size_t>(1, 500)(rng);
    const int bits = std::array{16, 32, 62}[rng() % 3];
    int k = kFullNeighbourGraph;
    if (n >= 3 && rng() % 2 == 0) {
      k = 2 * std::uniform_int_distribution<int>(1, std::min(3, (n - 1) / 2))(rng);
      ++sparse_cases;
    }
    const Round round = MakeRound(rng, n, k, dimension, bits);

    // Drop rate 0, 0.3 or 0.8, keeping at least one survivor.
    const double drop_rate = std::array{0.0, 0.3, 0.8}[rng() % 3];
    std::vector<int> survivors;
    for (int i = 0; i < n; ++i) {
      if (std::uniform_real_distribution<double>(0, 1)(rng) >= drop_rate) survivors.push_back(i);
    }
    if (survivors.empty()) survivors.push_back(static_cast<int>(rng() % n));
    cases_with_dropouts += static_cast<int>(survivors.size()) < n;

    const Recovered recovered = Recover(round, survivors);
    StatusOr<std::vector<uint64_t>> sum = Unmask(round, survivors, recovered);
    ASSERT_TRUE(sum.ok()) << sum.status();
    ASSERT_EQ(*sum, recovered.expected_sum)
        << "case " << c << ": n=" << n << " k=" << k << " d=" << dimension << " b=" << bits
        << " survivors=" << survivors.size();
  }
  // The generator must have exercised both graph kinds and real dropouts.
  EXPECT_GT(sparse_cases, kCases / 4);
  EXPECT_GT(cases_with_dropouts, kCases / 3);
}

TEST(MaskingTest, PairwiseSeedsAgreeAtBothEnds) {
  const X25519PrivateKey alice = KeyFromBytes(1);
  const X25519PrivateKey bob = KeyFromBytes(0x41);
  StatusOr<SecretBytes> at_alice = PairwiseSeed(alice, bob.PublicKey(), 42, 3);
  StatusOr<SecretBytes> at_bob = PairwiseSeed(bob, alice.PublicKey(), 42, 3);
  ASSERT_TRUE(at_alice.ok() && at_bob.ok());
  EXPECT_EQ(at_alice->size(), 32u);
  EXPECT_TRUE(ConstantTimeEquals(at_alice->span(), at_bob->span()));
  // Fresh keys too, not only the fixed pair.
  for (int trial = 0; trial < 5; ++trial) {
    StatusOr<X25519PrivateKey> a = X25519PrivateKey::Generate();
    StatusOr<X25519PrivateKey> b = X25519PrivateKey::Generate();
    ASSERT_TRUE(a.ok() && b.ok());
    StatusOr<SecretBytes> ab = PairwiseSeed(*a, b->PublicKey(), 7, 1);
    StatusOr<SecretBytes> ba = PairwiseSeed(*b, a->PublicKey(), 7, 1);
    ASSERT_TRUE(ab.ok() && ba.ok());
    EXPECT_TRUE(ConstantTimeEquals(ab->span(), ba->span()));
  }
}

// Pins the info encoding; computed independently with Python's `cryptography` (X25519, then
// HKDF-SHA-256 with no salt and info "cartable secagg v1 pairwise-mask" ‖ run LE64 ‖ round LE32 ‖
// lower public key ‖ higher public key).
TEST(MaskingTest, PairwiseSeedMatchesAKnownAnswer) {
  StatusOr<SecretBytes> seed =
      PairwiseSeed(KeyFromBytes(0x41), KeyFromBytes(1).PublicKey(), 0x0102030405060708, 7);
  ASSERT_TRUE(seed.ok()) << seed.status();
  const std::vector<uint8_t> expected = {0xa5, 0x26, 0x3b, 0x21, 0x7d, 0xaf, 0x64, 0x9f,
                                         0xf2, 0xe8, 0x23, 0xd3, 0x20, 0xd3, 0x63, 0x55,
                                         0x90, 0xcf, 0x0e, 0x28, 0x33, 0x73, 0x3c, 0xa6,
                                         0xec, 0x4b, 0x40, 0x4a, 0xb7, 0x3d, 0x05, 0xd0};
  EXPECT_TRUE(ConstantTimeEquals(seed->span(), expected));
}

TEST(MaskingTest, PairwiseSeedIsBoundToRunRoundAndPeer) {
  const X25519PrivateKey alice = KeyFromBytes(1);
  const X25519PrivateKey bob = KeyFromBytes(0x41);
  const X25519PrivateKey carol = KeyFromBytes(0x81);
  StatusOr<SecretBytes> base = PairwiseSeed(alice, bob.PublicKey(), 42, 3);
  StatusOr<SecretBytes> other_round = PairwiseSeed(alice, bob.PublicKey(), 42, 4);
  StatusOr<SecretBytes> other_run = PairwiseSeed(alice, bob.PublicKey(), 43, 3);
  StatusOr<SecretBytes> other_peer = PairwiseSeed(alice, carol.PublicKey(), 42, 3);
  ASSERT_TRUE(base.ok() && other_round.ok() && other_run.ok() && other_peer.ok());
  EXPECT_FALSE(ConstantTimeEquals(base->span(), other_round->span()));
  EXPECT_FALSE(ConstantTimeEquals(base->span(), other_run->span()));
  EXPECT_FALSE(ConstantTimeEquals(base->span(), other_peer->span()));
}

TEST(MaskingTest, PairwiseSeedRefusesOurOwnKeyAndLowOrderPoints) {
  const X25519PrivateKey alice = KeyFromBytes(1);
  StatusOr<SecretBytes> reflected = PairwiseSeed(alice, alice.PublicKey(), 1, 1);
  ASSERT_FALSE(reflected.ok());
  EXPECT_EQ(reflected.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(reflected.status().message().find("equals our own"), std::string::npos);
  const X25519PublicKey zero_point{};  // u = 0 has order 1: the shared secret would be all zeros
  EXPECT_FALSE(PairwiseSeed(alice, zero_point, 1, 1).ok());
}

// Real keys at both ends, through the whole masking path, with dropouts in a sparse graph.
TEST(MaskingTest, EndToEndWithAgreedSeeds) {
  constexpr int kNodes = 12;
  constexpr int kBits = 32;
  constexpr uint64_t kRun = 9;
  constexpr uint32_t kRound = 2;
  std::mt19937_64 rng(5);
  std::vector<X25519PrivateKey> keys;
  for (int i = 0; i < kNodes; ++i) keys.push_back(KeyFromBytes(static_cast<uint8_t>(3 * i + 1)));
  std::vector<uint8_t> graph_seed(kNeighbourGraphSeedSize, 0x5a);
  StatusOr<NeighbourGraph> graph = NeighbourGraph::Create(kNodes, 4, graph_seed);
  ASSERT_TRUE(graph.ok());

  std::vector<std::vector<uint64_t>> inputs;
  std::vector<SecretBytes> self_seeds;
  std::vector<std::vector<uint64_t>> masked;
  for (int i = 0; i < kNodes; ++i) {
    inputs.push_back(RandomWords(rng, 64, kBits));
    self_seeds.push_back(SeedFromRng(rng));
    std::vector<NeighbourSeed> mine;
    for (int j : graph->neighbours(i)) {
      StatusOr<SecretBytes> seed = PairwiseSeed(keys[i], keys[j].PublicKey(), kRun, kRound);
      ASSERT_TRUE(seed.ok());
      mine.push_back({j, std::move(seed).value()});
    }
    StatusOr<std::vector<uint64_t>> y = MaskInput(inputs[i], self_seeds[i], mine, i, kBits);
    ASSERT_TRUE(y.ok()) << y.status();
    masked.push_back(std::move(y).value());
  }

  const std::vector<int> survivors = {0, 2, 3, 5, 6, 8, 9, 11};
  std::vector<bool> is_survivor(kNodes, false);
  std::vector<uint64_t> masked_sum(64, 0);
  std::vector<uint64_t> expected(64, 0);
  std::vector<SelfSeed> recovered_self;
  for (int i : survivors) {
    is_survivor[i] = true;
    AddInto(masked_sum, masked[i], kBits);
    AddInto(expected, inputs[i], kBits);
    recovered_self.push_back({i, self_seeds[i].Clone()});
  }
  // The coordinator rebuilds a dropped node's mask key from shares; here it simply has it.
  std::vector<DroppedPairSeed> recovered_pairs;
  for (int d = 0; d < kNodes; ++d) {
    if (is_survivor[d]) continue;
    for (int j : graph->neighbours(d)) {
      if (!is_survivor[j]) continue;
      StatusOr<SecretBytes> seed = PairwiseSeed(keys[d], keys[j].PublicKey(), kRun, kRound);
      ASSERT_TRUE(seed.ok());
      recovered_pairs.push_back({d, j, std::move(seed).value()});
    }
  }
  ASSERT_FALSE(recovered_pairs.empty());
  StatusOr<std::vector<uint64_t>> sum =
      UnmaskSum(masked_sum, survivors, recovered_self, recovered_pairs, *graph, kBits);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(*sum, expected);
}

// χ² over the 256 values of the low byte of 200,000 words masked from zeros, 255 degrees of
// freedom; 330.5 is the 0.999 quantile. The seeds are fixed, so the test is reproducible.
TEST(MaskingTest, AMaskedInputLooksUniform) {
  constexpr size_t kWords = 200'000;
  std::mt19937_64 rng(11);
  const SecretBytes self_seed = SeedFromRng(rng);
  std::vector<NeighbourSeed> pairs;
  pairs.push_back({0, SeedFromRng(rng)});
  pairs.push_back({2, SeedFromRng(rng)});
  const std::vector<uint64_t> zeros(kWords, 0);
  for (int bits : {16, 32, 62}) {
    StatusOr<std::vector<uint64_t>> masked = MaskInput(zeros, self_seed, pairs, 1, bits);
    ASSERT_TRUE(masked.ok()) << masked.status();
    std::vector<double> counts(256, 0);
    for (uint64_t word : *masked) ++counts[word & 0xff];
    const double expected = static_cast<double>(kWords) / 256;
    double chi_square = 0;
    for (double count : counts) chi_square += (count - expected) * (count - expected) / expected;
    EXPECT_LT(chi_square, 330.5) << "bits=" << bits;
  }
}

// Without one survivor's self mask removed, the result is garbage, not the sum plus a little: the
// self mask alone is enough to hide an input.
TEST(MaskingTest, AWrongOrMissingSelfSeedLeavesTheSumHidden) {
  std::mt19937_64 rng(77);
  constexpr int kBits = 32;
  const Round round = MakeRound(rng, 6, kFullNeighbourGraph, 1000, kBits);
  const std::vector<int> survivors = {0, 1, 3, 4};
  Recovered recovered = Recover(round, survivors);

  // Missing: refused, naming the survivor.
  std::vector<SelfSeed> missing;
  for (const SelfSeed& self : recovered.self_seeds) {
    if (self.node != 3) missing.push_back({self.node, self.seed.Clone()});
  }
  StatusOr<std::vector<uint64_t>> refused =
      UnmaskSum(recovered.masked_sum, survivors, missing, recovered.pair_seeds, round.graph, kBits);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("no self seed for survivor node 3"), std::string::npos)
      << refused.status().message();

  // Wrong: a stand-in seed leaves a random-looking vector in place of the sum.
  recovered.self_seeds[2].seed = SeedFromRng(rng);
  StatusOr<std::vector<uint64_t>> wrong = Unmask(round, survivors, recovered);
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  size_t equal = 0;
  for (size_t i = 0; i < wrong->size(); ++i) equal += (*wrong)[i] == recovered.expected_sum[i];
  EXPECT_LE(equal, 2u) << "about 1000 / 2^32 coordinates should match by chance";
  // Likewise a masked input on its own shows nothing of its input.
  equal = 0;
  for (size_t i = 0; i < round.masked[0].size(); ++i)
    equal += round.masked[0][i] == round.inputs[0][i];
  EXPECT_LE(equal, 2u);
}

TEST(MaskingTest, MaskInputRefusesBadArguments) {
  std::mt19937_64 rng(3);
  const SecretBytes self_seed = SeedFromRng(rng);
  const std::vector<uint64_t> input = {1, 2, 3};
  auto pairs = [&](std::vector<int> neighbours) {
    std::vector<NeighbourSeed> result;
    for (int j : neighbours) result.push_back({j, SeedFromRng(rng)});
    return result;
  };
  auto expect_refused = [](const StatusOr<std::vector<uint64_t>>& result, const std::string& text) {
    ASSERT_FALSE(result.ok()) << text;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(result.status().message().find(text), std::string::npos) << result.status().message();
  };
  expect_refused(MaskInput(input, self_seed, pairs({1}), 0, 7), "b in [8, 62]");
  expect_refused(MaskInput(input, self_seed, pairs({1}), 0, 63), "b in [8, 62]");
  expect_refused(MaskInput(std::vector<uint64_t>{1, 256}, self_seed, pairs({1}), 0, 8),
                 "word 1 is not below 2^8");
  expect_refused(MaskInput(input, self_seed, pairs({0}), 0, 16), "cannot share a mask");
  expect_refused(MaskInput(input, self_seed, pairs({-1}), 0, 16), "cannot share a mask");
  expect_refused(MaskInput(input, self_seed, pairs({2, 2}), 0, 16), "two pairwise seeds");
  expect_refused(MaskInput(input, self_seed, pairs({1}), -1, 16), "negative");
  expect_refused(MaskInput(input, SecretBytes(16), pairs({1}), 0, 16), "32 bytes");
  std::vector<NeighbourSeed> short_pair;
  short_pair.push_back({1, SecretBytes(31)});
  expect_refused(MaskInput(input, self_seed, short_pair, 0, 16), "32 bytes");
}

// The checks that enforce "never both" on the coordinator side, and the completeness checks.
TEST(MaskingTest, UnmaskSumRefusesSeedsThatDoNotFitTheSurvivors) {
  std::mt19937_64 rng(21);
  constexpr int kBits = 16;
  const Round round = MakeRound(rng, 8, 2, 10, kBits);
  const std::vector<int> survivors = {0, 1, 2, 4, 5, 7};  // 3 and 6 dropped
  const Recovered recovered = Recover(round, survivors);
  ASSERT_TRUE(Unmask(round, survivors, recovered).ok());

  auto copy_self = [&] {
    std::vector<SelfSeed> result;
    for (const SelfSeed& s : recovered.self_seeds) result.push_back({s.node, s.seed.Clone()});
    return result;
  };
  auto copy_pairs = [&] {
    std::vector<DroppedPairSeed> result;
    for (const DroppedPairSeed& p : recovered.pair_seeds) {
      result.push_back({p.dropped, p.survivor, p.seed.Clone()});
    }
    return result;
  };
  auto expect_refused = [&](std::span<const int> who, const std::vector<SelfSeed>& self,
                            const std::vector<DroppedPairSeed>& pair_seeds,
                            const std::string& text) {
    StatusOr<std::vector<uint64_t>> result =
        UnmaskSum(recovered.masked_sum, who, self, pair_seeds, round.graph, kBits);
    ASSERT_FALSE(result.ok()) << text;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(result.status().message().find(text), std::string::npos) << result.status().message();
  };

  // Never both: a dropped node's self seed, or a pairwise seed of a survivor.
  std::vector<SelfSeed> with_dropped_self = copy_self();
  with_dropped_self.push_back({3, round.self_seeds[3].Clone()});
  expect_refused(survivors, with_dropped_self, copy_pairs(), "self seed for dropped node 3");
  const int survivor_neighbour = round.graph.neighbours(0)[0];
  std::vector<DroppedPairSeed> with_survivor_pair = copy_pairs();
  with_survivor_pair.push_back({0, survivor_neighbour, SeedFromRng(rng)});
  expect_refused(survivors, copy_self(), with_survivor_pair, "pairwise seed of survivor node 0");

  // Completeness and form.
  std::vector<DroppedPairSeed> missing_pair = copy_pairs();
  ASSERT_FALSE(missing_pair.empty());
  missing_pair.pop_back();
  expect_refused(survivors, copy_self(), missing_pair, "no pairwise seed between dropped");
  std::vector<DroppedPairSeed> repeated_pair = copy_pairs();
  repeated_pair.push_back({repeated_pair[0].dropped, repeated_pair[0].survivor, SeedFromRng(rng)});
  expect_refused(survivors, copy_self(), repeated_pair, "two pairwise seeds");
  int stranger = -1;  // a survivor that is not a neighbour of dropped node 3
  for (int j : survivors) {
    if (!round.graph.AreNeighbours(3, j)) stranger = j;
  }
  ASSERT_GE(stranger, 0);
  std::vector<DroppedPairSeed> non_neighbour = copy_pairs();
  non_neighbour.push_back({3, stranger, SeedFromRng(rng)});
  expect_refused(survivors, copy_self(), non_neighbour, "are not neighbours");
  std::vector<DroppedPairSeed> both_dropped = copy_pairs();
  both_dropped.push_back({3, 6, SeedFromRng(rng)});
  expect_refused(survivors, copy_self(), both_dropped, "which dropped too");

  expect_refused(std::vector<int>{}, {}, {}, "at least one survivor");
  expect_refused(std::vector<int>{0, 0}, copy_self(), copy_pairs(), "listed twice");
  expect_refused(std::vector<int>{0, 8}, copy_self(), copy_pairs(), "not in the graph");
  std::vector<SelfSeed> repeated_self = copy_self();
  repeated_self.push_back({0, SeedFromRng(rng)});
  expect_refused(survivors, repeated_self, copy_pairs(), "two self seeds for node 0");

  std::vector<uint64_t> unreduced = recovered.masked_sum;
  unreduced[4] = uint64_t{1} << kBits;
  StatusOr<std::vector<uint64_t>> result =
      UnmaskSum(unreduced, survivors, copy_self(), copy_pairs(), round.graph, kBits);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("masked sum word 4"), std::string::npos);
}

}  // namespace
}  // namespace cartable::aggregation::secagg
