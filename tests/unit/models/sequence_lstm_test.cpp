// The dkt model's hand-written LSTM layer against torch::nn::LSTM: same outputs, same gradients.

#include <gtest/gtest.h>

#include "models/internal/sequence_lstm_check.h"

namespace cartable::models::internal {
namespace {

TEST(SequenceLstmTest, MatchesTorchLstmOutputsAndGradients) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    const LstmAgreement a =
        CompareSequenceLstmWithTorch(/*batch=*/4, /*steps=*/7, /*input=*/5, /*hidden=*/6, seed);
    EXPECT_LT(a.max_output_difference, 1e-5) << "seed " << seed;
    EXPECT_LT(a.max_gradient_difference, 1e-4) << "seed " << seed;
  }
}

TEST(SequenceLstmTest, MatchesOnALongerSequenceWithAWideHiddenState) {
  const LstmAgreement a = CompareSequenceLstmWithTorch(2, 40, 8, 32, 9);
  EXPECT_LT(a.max_output_difference, 1e-5);
  EXPECT_LT(a.max_gradient_difference, 1e-4);
}

}  // namespace
}  // namespace cartable::models::internal
