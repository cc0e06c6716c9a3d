// The zoo's one training loop: how it orders and batches the examples (each batch knowing the pupil
// of every example), and what every model reports through it.

#include "models/internal/training_loop.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "kt_test_data.h"
#include "models/internal/kt_sequences.h"
#include "models/model.h"

using ::cartable::StatusCode;
using ::cartable::models::CreateModel;
using ::cartable::models::InputOf;
using ::cartable::models::InteractionLog;
using ::cartable::models::Model;
using ::cartable::models::ModelInput;
using ::cartable::models::ModelSpec;
using ::cartable::models::TrainOptions;
using ::cartable::models::internal::AnswerPupils;
using ::cartable::models::internal::Batch;
using ::cartable::models::internal::CutIntoWindows;
using ::cartable::models::internal::EpochBatches;
using ::cartable::models::testing::MakeKtData;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

// Pupil of each example: 11 examples of 4 pupils.
const std::vector<uint32_t> kPupils = {0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3};

TEST(EpochBatchesTest, EachEpochHoldsEveryExampleOnceWithItsPupil) {
  EpochBatches batches(kPupils, 4, 5);
  for (int epoch = 0; epoch < 3; ++epoch) {
    batches.NextEpoch();
    ASSERT_EQ(batches.size(), 3u);
    std::vector<int64_t> seen;
    for (size_t b = 0; b < batches.size(); ++b) {
      const Batch batch = batches[b];
      EXPECT_EQ(batch.examples.size(), b < 2 ? 4u : 3u) << "batch " << b;
      ASSERT_EQ(batch.pupils.size(), batch.examples.size());
      for (size_t i = 0; i < batch.examples.size(); ++i) {
        EXPECT_EQ(batch.pupils[i], kPupils[static_cast<size_t>(batch.examples[i])]);
      }
      seen.insert(seen.end(), batch.examples.begin(), batch.examples.end());
    }
    std::sort(seen.begin(), seen.end());
    std::vector<int64_t> all(kPupils.size());
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(seen, all) << "epoch " << epoch;
  }
}

// The order every model trained in before the loop was shared, pinned so that it stays the same:
// one std::mt19937_64 seeded once, the examples re-shuffled from 0..n−1 at each epoch.
TEST(EpochBatchesTest, OrderIsTheSeededShuffleOfTheExamplesAtEachEpoch) {
  EpochBatches batches(kPupils, 64, 7);
  std::mt19937_64 rng(7);
  std::vector<int64_t> expected(kPupils.size());
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::iota(expected.begin(), expected.end(), 0);
    std::shuffle(expected.begin(), expected.end(), rng);
    batches.NextEpoch();
    ASSERT_EQ(batches.size(), 1u);
    const Batch batch = batches[0];
    EXPECT_EQ(std::vector<int64_t>(batch.examples.begin(), batch.examples.end()), expected);
  }
  EpochBatches other_seed(kPupils, 64, 8);
  other_seed.NextEpoch();
  batches.NextEpoch();
  EXPECT_NE(std::vector<int64_t>(other_seed[0].examples.begin(), other_seed[0].examples.end()),
            std::vector<int64_t>(batches[0].examples.begin(), batches[0].examples.end()));
}

// Poisson sampling: each pupil drawn with the rate, independently, always with all its examples.
TEST(PoissonPupilsTest, DrawsEachPupilWithTheRateAndAllItsExamples) {
  std::vector<uint32_t> pupils;
  for (uint32_t p = 0; p < 1000; ++p) {
    for (uint32_t e = 0; e <= p % 3; ++e) pupils.push_back(p);
  }
  cartable::models::internal::PoissonPupils sampler(pupils, 0.3, 5);
  EXPECT_EQ(sampler.pupils(), 1000U);
  double drawn = 0;
  for (int step = 0; step < 200; ++step) {
    for (const Batch& pupil : sampler.Next()) {
      ASSERT_EQ(pupil.examples.size(), pupil.pupils[0] % 3 + 1);
      for (size_t i = 0; i < pupil.examples.size(); ++i) {
        EXPECT_EQ(pupils[static_cast<size_t>(pupil.examples[i])], pupil.pupils[0]);
        EXPECT_EQ(pupil.pupils[i], pupil.pupils[0]);
      }
      drawn += 1;
    }
  }
  // 200 steps of 1000 draws at 0.3: mean 60,000, standard deviation √(200,000 · 0.21) ≈ 205.
  EXPECT_NEAR(drawn, 60000, 5 * 205);
}

TEST(ExamplePupilsTest, AnswersAndWindowsKnowTheirPupil) {
  InteractionLog log = MakeKtData(3, 5, 1).log;  // pupils 0, 1, 2 with 5 answers each
  EXPECT_EQ(AnswerPupils(log),
            std::vector<uint32_t>({0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2}));
  // Windows of at most 2 answers: 3 per pupil (2, 2, 1).
  const auto windows = CutIntoWindows(log, 2);
  EXPECT_THAT(windows.pupil, ElementsAre(0, 0, 0, 1, 1, 1, 2, 2, 2));
  EXPECT_THAT(windows.window_size, ElementsAre(2, 2, 1, 2, 2, 1, 2, 2, 1));
}

struct Case {
  std::string name;
  std::map<std::string, std::string> options;  // small shapes keep the tests fast
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// Records of 3 features for early-warning models, one per pupil, the outcome following x0 + x1.
InteractionLog Records(int n) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  InteractionLog log;
  log.records.feature_names = {"x0", "x1", "x2"};
  for (int i = 0; i < n; ++i) {
    float sum = 0;
    for (int c = 0; c < 3; ++c) {
      const float v = uniform(rng);
      sum += c < 2 ? v : 0;
      log.records.features.push_back(v);
    }
    log.pupil_keys.push_back("p" + std::to_string(i));
    log.records.pupil.push_back(static_cast<uint32_t>(i));
    log.records.outcome.push_back(sum > 1 ? 1 : 0);
  }
  return log;
}

class TrainingLoopTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    ModelSpec spec;
    spec.name = GetParam().name;
    spec.options = GetParam().options;
    records_ = InputOf(spec.name).value() == ModelInput::kPupilRecords;
    (records_ ? spec.num_features : spec.num_skills) = records_ ? 3 : 6;
    auto model = CreateModel(spec);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = std::move(model).value();
    log_ = records_ ? Records(50) : MakeKtData(12, 15, 2).log;
  }

  bool records_ = false;
  std::unique_ptr<Model> model_;
  InteractionLog log_;
};

TEST_P(TrainingLoopTest, ReportsEveryEpochAndTheLastEpochsMeanLossPerAnswerOrRecord) {
  TrainOptions options;
  options.epochs = 3;
  options.batch_size = 7;
  options.learning_rate = 0.01;
  std::vector<int> epochs;
  std::vector<double> losses;
  options.on_epoch = [&](int epoch, double loss) {
    epochs.push_back(epoch);
    losses.push_back(loss);
  };
  auto report = model_->Train(log_, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(epochs, ElementsAre(1, 2, 3));
  EXPECT_EQ(report->mean_loss, losses.back());
  EXPECT_GT(report->mean_loss, 0);
  EXPECT_LT(report->mean_loss, 2);  // a cross-entropy per answer, not a sum over batches
  EXPECT_EQ(report->examples, static_cast<int64_t>(records_ ? log_.records.size() : log_.size()));
}

TEST_P(TrainingLoopTest, RefusesOptionsWithoutAnEpochABatchOrAPositiveRateAndStaysUnchanged) {
  const std::vector<float> before = model_->GetParameters();
  for (auto change :
       {+[](TrainOptions& o) { o.epochs = 0; }, +[](TrainOptions& o) { o.batch_size = 0; },
        +[](TrainOptions& o) { o.learning_rate = 0; },
        +[](TrainOptions& o) { o.learning_rate = -1; }}) {
    TrainOptions options;
    change(options);
    auto report = model_->Train(log_, options);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(report.status().message(), HasSubstr("epochs ≥ 1, batch size ≥ 1"));
  }
  EXPECT_EQ(model_->GetParameters(), before);
}

// Euclidean distance between two parameter vectors.
double Distance(const std::vector<float>& a, const std::vector<float>& b) {
  double squares = 0;
  for (size_t i = 0; i < a.size(); ++i) squares += (double{a[i]} - b[i]) * (double{a[i]} - b[i]);
  return std::sqrt(squares);
}

// FedProx: a large μ holds the local model near where it started; μ = 0 is plain training.
TEST_P(TrainingLoopTest, AProximalTermKeepsTheModelNearItsStartingPoint) {
  const std::vector<float> start = model_->GetParameters();
  TrainOptions options;
  options.epochs = 3;
  options.batch_size = 7;
  options.learning_rate = 0.01;
  ASSERT_TRUE(model_->Train(log_, options).ok());
  const double free_distance = Distance(model_->GetParameters(), start);

  ASSERT_TRUE(model_->SetParameters(start).ok());
  options.proximal_mu = 100;
  auto report = model_->Train(log_, options);
  ASSERT_TRUE(report.ok()) << report.status();
  const double held_distance = Distance(model_->GetParameters(), start);
  EXPECT_GT(free_distance, 0);
  EXPECT_LT(held_distance, 0.5 * free_distance)
      << "μ = 100 moved " << held_distance << ", μ = 0 moved " << free_distance;
}

TEST_P(TrainingLoopTest, RefusesANegativeOrNonFiniteProximalMu) {
  const std::vector<float> before = model_->GetParameters();
  for (double mu : {-0.1, std::nan(""), std::numeric_limits<double>::infinity()}) {
    TrainOptions options;
    options.proximal_mu = mu;
    auto report = model_->Train(log_, options);
    ASSERT_FALSE(report.ok()) << mu;
    EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(report.status().message(), HasSubstr("μ"));
  }
  EXPECT_EQ(model_->GetParameters(), before);
}

// DP-SGD with every pupil drawn, no noise and a clip no gradient reaches is full-batch training:
// the mean over pupils of each pupil's mean loss is the mean loss when every pupil has as many
// answers (or records) as the others, as here. Dropout draws its masks in another order, so models
// with dropout are left out of the comparison.
TEST_P(TrainingLoopTest, DpSgdWithoutNoiseOrClippingIsFullBatchTraining) {
  if (GetParam().options.contains("dropout") || GetParam().name == "sakt")  // sakt: 0.2 by default
    GTEST_SKIP() << "dropout masks differ";
  const std::vector<float> start = model_->GetParameters();
  TrainOptions plain;
  plain.epochs = 2;
  plain.batch_size = 100000;
  plain.learning_rate = 0.01;
  ASSERT_TRUE(model_->Train(log_, plain).ok());
  const std::vector<float> full_batch = model_->GetParameters();

  ASSERT_TRUE(model_->SetParameters(start).ok());
  TrainOptions dp = plain;
  dp.dp = cartable::models::PupilDp{
      .noise_multiplier = 0, .clip_norm = 1e9, .sampling_rate = 1, .secret_seed = 7};
  auto report = model_->Train(log_, dp);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->steps, 2);
  EXPECT_EQ(report->pupils, records_ ? 50 : 12);
  const std::vector<float> private_model = model_->GetParameters();
  ASSERT_EQ(private_model.size(), full_batch.size());
  for (size_t i = 0; i < full_batch.size(); ++i)
    ASSERT_NEAR(private_model[i], full_batch[i], 1e-4) << "parameter " << i;
  EXPECT_GT(Distance(full_batch, start), 1e-3);
}

// The noise and the draws come from the secret seed: the same seed repeats a training, another
// seed (or the OS's, with 0) gives another; E epochs at rate q take ceil(E / q) steps.
// 3 epochs at rate 0.3 are ceil(3 / 0.3) = 10 steps; epochs end after 4, 7 and 10 of them.
TEST_P(TrainingLoopTest, DpSgdReportsEachEpochAndTheLastOnesMeanLoss) {
  TrainOptions options;
  options.epochs = 3;
  options.learning_rate = 0.01;
  options.dp = cartable::models::PupilDp{
      .noise_multiplier = 1, .clip_norm = 1, .sampling_rate = 0.3, .secret_seed = 5};
  std::vector<int> epochs;
  std::vector<double> losses;
  options.on_epoch = [&](int epoch, double loss) {
    epochs.push_back(epoch);
    losses.push_back(loss);
  };
  auto report = model_->Train(log_, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->steps, 10);
  EXPECT_THAT(epochs, ElementsAre(1, 2, 3));
  for (double loss : losses) {
    EXPECT_GT(loss, 0);
    EXPECT_LT(loss, 5);  // per answer or record, over the pupils a step is expected to draw
  }
}

TEST_P(TrainingLoopTest, DpSgdNoiseAndDrawsFollowTheSecretSeed) {
  const std::vector<float> start = model_->GetParameters();
  auto train = [&](uint64_t secret) {
    EXPECT_TRUE(model_->SetParameters(start).ok());
    TrainOptions options;
    options.epochs = 1;
    options.learning_rate = 0.01;
    options.dp = cartable::models::PupilDp{
        .noise_multiplier = 1, .clip_norm = 0.5, .sampling_rate = 0.3, .secret_seed = secret};
    auto report = model_->Train(log_, options);
    EXPECT_TRUE(report.ok()) << report.status();
    if (report.ok()) EXPECT_EQ(report->steps, 4);  // ceil(1 / 0.3)
    return model_->GetParameters();
  };
  const std::vector<float> a = train(11);
  EXPECT_EQ(train(11), a);
  EXPECT_NE(train(12), a);
  EXPECT_NE(train(0), train(0));
}

// Each pupil's gradient is clipped before the sum: with a clip of 1e-12 every coordinate of the
// mean gradient is at most 1e-12, far below Adam's ε (1e-8), so each step moves a parameter by at
// most rate × 1e-4; with no clip the same training moves the model far.
TEST_P(TrainingLoopTest, DpSgdClipsEachPupilsGradient) {
  const std::vector<float> start = model_->GetParameters();
  TrainOptions options;
  options.epochs = 2;
  options.learning_rate = 0.01;
  options.dp = cartable::models::PupilDp{
      .noise_multiplier = 0, .clip_norm = 1e-12, .sampling_rate = 0.5, .secret_seed = 3};
  auto report = model_->Train(log_, options);
  ASSERT_TRUE(report.ok()) << report.status();
  for (size_t i = 0; i < start.size(); ++i) {
    ASSERT_LE(std::abs(model_->GetParameters()[i] - start[i]), 4 * 0.01 * 1.1e-4)
        << "parameter " << i;
  }
  ASSERT_TRUE(model_->SetParameters(start).ok());
  options.dp->clip_norm = 1e9;
  ASSERT_TRUE(model_->Train(log_, options).ok());
  EXPECT_GT(Distance(model_->GetParameters(), start), 1e-3);
}

TEST_P(TrainingLoopTest, RefusesDpSgdParametersOutOfRangeAndStaysUnchanged) {
  const std::vector<float> before = model_->GetParameters();
  using cartable::models::PupilDp;
  for (const PupilDp& dp : {PupilDp{.noise_multiplier = -1}, PupilDp{.clip_norm = 0},
                            PupilDp{.noise_multiplier = std::nan("")}, PupilDp{.sampling_rate = 0},
                            PupilDp{.sampling_rate = 1.5},
                            PupilDp{.clip_norm = std::numeric_limits<double>::infinity()}}) {
    TrainOptions options;
    options.dp = dp;
    auto report = model_->Train(log_, options);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(report.status().message(), HasSubstr("DP-SGD"));
  }
  EXPECT_EQ(model_->GetParameters(), before);
}

INSTANTIATE_TEST_SUITE_P(
    Zoo, TrainingLoopTest,
    ::testing::Values(Case{"pfa", {}}, Case{"irt1pl", {}}, Case{"irt2pl", {}},
                      Case{"dkt", {{"hidden_size", "8"}, {"max_length", "6"}}},
                      Case{"dkt", {{"hidden_size", "8"}, {"cell", "gru"}, {"dropout", "0.2"}}},
                      Case{"sakt", {{"embedding_size", "8"}, {"max_length", "10"}}},
                      Case{"logistic", {{"l2", "0.1"}}},
                      Case{"mlp", {{"hidden_size", "8"}, {"dropout", "0.2"}}}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return info.param.name + "_" + std::to_string(info.index);
    });

}  // namespace
