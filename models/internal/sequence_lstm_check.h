#pragma once

// How far SequenceLstm (the dkt model's hand-written LSTM layer) is from torch::nn::LSTM on random
// inputs and weights: the largest absolute difference of the outputs, and of the gradients of a
// random linear loss with respect to the input and the four weight tensors. Lets tests outside
// models/, which never include torch, check the hand-written backward pass against torch's own.

#include <cstdint>

namespace cartable::models::internal {

struct LstmAgreement {
  double max_output_difference = 0;
  double max_gradient_difference = 0;
};

LstmAgreement CompareSequenceLstmWithTorch(int batch, int steps, int input_size, int hidden_size,
                                           uint64_t seed);

}  // namespace cartable::models::internal
