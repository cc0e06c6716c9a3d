#include "exchange/evaluation_vector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "aggregation/secagg/quantizer.h"

namespace cartable::exchange {
namespace {

using ::testing::HasSubstr;

// A school's statistics on `n` held-out answers with scores drawn at random.
models::SummableMetrics SchoolMetrics(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> score(0, 1);
  std::vector<float> scores;
  std::vector<uint8_t> labels;
  for (int i = 0; i < n; ++i) {
    const float s = score(rng);
    scores.push_back(s);
    labels.push_back(score(rng) < s ? 1 : 0);
  }
  return models::SummableMetrics::Of(scores, labels).value();
}

// Those statistics as a node packs them: `n` answers of n / 5 pupils, no subgroup.
models::EvaluationStatistics Statistics(const models::SummableMetrics& m) {
  return {{m, std::max<uint64_t>(m.count / 5, 1)}, {}};
}

// The sum the coordinator unmasks, as SecAgg+ would compute it: each vector quantised with the
// evaluation's unit levels (fresh rounding coins each), summed modulo 2^b, dequantised.
std::vector<double> SecureSumOf(const std::vector<std::vector<float>>& vectors) {
  aggregation::secagg::RoundParameters params;
  UseEvaluationQuantizer(vectors.size(), params);
  auto q =
      aggregation::secagg::Quantizer::Create(params.value_range, static_cast<int>(vectors.size()),
                                             params.modulus_bits, params.levels)
          .value();
  std::vector<uint64_t> sum(vectors.front().size(), 0);
  std::vector<uint8_t> seed(32, 0);
  for (const auto& v : vectors) {
    seed[0] += 1;
    auto words = q.Quantize(v, seed).value();
    EXPECT_TRUE(q.AddModulo(sum, words).ok());
  }
  return q.DequantizeSum(sum, static_cast<int>(vectors.size())).value();
}

TEST(EvaluationVectorTest, TheSecureSumKeepsEveryCountExactAndTheRealSumsWithinAUnitPerSchool) {
  std::vector<models::SummableMetrics> schools;
  std::vector<std::vector<float>> vectors;
  models::SummableMetrics pooled = models::SummableMetrics::Empty();
  for (uint32_t s = 0; s < 7; ++s) {
    schools.push_back(SchoolMetrics(200 + 150 * static_cast<int>(s), s));
    ASSERT_TRUE(pooled.Add(schools.back()).ok());
    auto packed = PackEvaluation(Statistics(schools.back()));
    ASSERT_TRUE(packed.ok()) << packed.status();
    ASSERT_EQ(packed->size(), EvaluationVectorSize());
    vectors.push_back(std::move(packed).value());
  }
  auto unpacked = UnpackEvaluationSum(SecureSumOf(vectors), 7);
  ASSERT_TRUE(unpacked.ok()) << unpacked.status();
  const models::SummableMetrics* total = &unpacked->all.metrics;
  EXPECT_EQ(total->positive_histogram, pooled.positive_histogram);
  EXPECT_EQ(total->negative_histogram, pooled.negative_histogram);
  EXPECT_EQ(total->correct, pooled.correct);
  EXPECT_EQ(total->count, pooled.count);
  EXPECT_NEAR(total->log_loss_sum, pooled.log_loss_sum, 7.0);
  EXPECT_NEAR(total->squared_error_sum, pooled.squared_error_sum, 7.0);
  EXPECT_DOUBLE_EQ(total->Auc().value(), pooled.Auc().value());
  EXPECT_DOUBLE_EQ(total->Accuracy().value(), pooled.Accuracy().value());
  uint64_t pupils = 0;
  for (const auto& m : schools) pupils += Statistics(m).all.pupils;
  EXPECT_EQ(unpacked->all.pupils, pupils);
}

// Each subgroup's statistics are summed as exactly as all of them, in their own block.
TEST(EvaluationVectorTest, SubgroupsAreSummedExactlyBlockByBlock) {
  const std::vector<models::Attribute> attributes = {{"gender", {"F", "M"}}, {"band", {"a"}}};
  std::vector<std::vector<float>> vectors;
  models::EvaluationStatistics pooled;
  pooled.all.metrics = models::SummableMetrics::Empty();
  pooled.subgroups.assign(3, pooled.all);
  for (uint32_t s = 0; s < 4; ++s) {
    const models::SummableMetrics f = SchoolMetrics(100 + 10 * static_cast<int>(s), 10 + s);
    const models::SummableMetrics m = SchoolMetrics(80, 20 + s);
    models::SummableMetrics all = f;
    ASSERT_TRUE(all.Add(m).ok());
    // Band "a" holds the girls only; 10 answers per pupil.
    models::EvaluationStatistics school{{all, (f.count + m.count) / 10},
                                        {{f, f.count / 10}, {m, m.count / 10}, {f, f.count / 10}}};
    vectors.push_back(PackEvaluation(school).value());
    ASSERT_EQ(vectors.back().size(), EvaluationVectorSize(3));
    ASSERT_TRUE(pooled.all.metrics.Add(all).ok());
    pooled.all.pupils += school.all.pupils;
    for (size_t g = 0; g < 3; ++g) {
      ASSERT_TRUE(pooled.subgroups[g].metrics.Add(school.subgroups[g].metrics).ok());
      pooled.subgroups[g].pupils += school.subgroups[g].pupils;
    }
  }
  auto total = UnpackEvaluationSum(SecureSumOf(vectors), 4, attributes);
  ASSERT_TRUE(total.ok()) << total.status();
  ASSERT_EQ(total->subgroups.size(), 3u);
  for (size_t g = 0; g < 3; ++g) {
    EXPECT_EQ(total->subgroups[g].metrics.positive_histogram,
              pooled.subgroups[g].metrics.positive_histogram);
    EXPECT_EQ(total->subgroups[g].metrics.count, pooled.subgroups[g].metrics.count);
    EXPECT_EQ(total->subgroups[g].pupils, pooled.subgroups[g].pupils);
  }
  // A sum read with the wrong subgroups is refused, not misread.
  EXPECT_FALSE(UnpackEvaluationSum(SecureSumOf(vectors), 4).ok());
  // One node claiming more pupils in a subgroup than it evaluated in all: the attribute's subgroups
  // together outnumber everyone.
  std::vector<float> bad = vectors[0];
  bad[2 * EvaluationVectorSize() - 1] += 60;  // the pupils of subgroup F
  auto refused = UnpackEvaluationSum(SecureSumOf({bad, vectors[1]}), 2, attributes);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("more than all"));
}

TEST(EvaluationVectorTest, TheModulusGrowsWithTheCohortAndStaysWithin62Bits) {
  aggregation::secagg::RoundParameters small, large;
  UseEvaluationQuantizer(3, small);
  UseEvaluationQuantizer(100000, large);
  EXPECT_EQ(small.modulus_bits, 33);  // 3·2^31 < 2^33
  EXPECT_EQ(large.modulus_bits, 48);  // 100000·2^31 < 2^48
  EXPECT_EQ(small.levels, uint64_t{2} << 30);
  EXPECT_EQ(small.value_range, kEvaluationRange);
}

TEST(EvaluationVectorTest, ANodeWithMoreAnswersThanTheCapRefusesToPack) {
  models::SummableMetrics m = models::SummableMetrics::Empty();
  m.positive_histogram.back() = kMaxEvaluatedPerSchool + 1;
  m.count = kMaxEvaluatedPerSchool + 1;
  m.correct = m.count;
  m.log_loss_sum = m.SumsAllowed().log_loss_low;
  m.squared_error_sum = m.SumsAllowed().squared_low;
  ASSERT_TRUE(m.Check().ok());
  auto packed = PackEvaluation({{m, 1}, {}});
  ASSERT_FALSE(packed.ok());
  EXPECT_THAT(packed.status().message(), HasSubstr("at most 16777216 per node"));
}

// Whatever a malicious node masks, the sum it joins must look like honest evaluations' sum.
TEST(EvaluationVectorTest, SumsNoHonestEvaluationsGiveAreRefused) {
  const std::vector<float> honest = PackEvaluation(Statistics(SchoolMetrics(300, 1))).value();
  const size_t b = models::kDefaultHistogramBins;
  auto refused = [&](std::vector<float> bad, const char* why) {
    auto total = UnpackEvaluationSum(SecureSumOf({honest, bad, honest}), 3);
    ASSERT_FALSE(total.ok()) << why;
    EXPECT_EQ(total.status().code(), StatusCode::kFailedPrecondition) << why;
    EXPECT_THAT(total.status().message(), HasSubstr("no evaluation gives")) << why;
  };
  std::vector<float> bad = honest;
  bad[3] = -1000;  // a negative count large enough to show in the sum
  refused(bad, "negative count");
  bad = honest;
  bad[2 * b + 1] += 5;  // a count the histograms do not hold
  refused(bad, "count");
  bad = honest;
  bad[2 * b] += 3;  // right predictions the histograms do not imply
  refused(bad, "correct");
  bad = honest;
  bad[2 * b + 2] = 1e8;  // a log-loss no score gives
  refused(bad, "log-loss");
  bad = honest;
  bad[2 * b + 4] += 1000;  // more pupils than answers
  refused(bad, "pupils");
  // Half an answer: no sum of quantised integers gives it.
  auto half = UnpackEvaluationSum(std::vector<double>(EvaluationVectorSize(), 0.5), 1);
  EXPECT_FALSE(half.ok());
  EXPECT_FALSE(UnpackEvaluationSum(std::vector<double>(3, 0.0), 1).ok());
  EXPECT_FALSE(UnpackEvaluationSum(SecureSumOf({honest}), 0).ok());
}

}  // namespace
}  // namespace cartable::exchange
