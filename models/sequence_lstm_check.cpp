#include "models/internal/sequence_lstm_check.h"

#include <torch/torch.h>

#include <algorithm>

#include "models/internal/sequence_lstm.h"

namespace cartable::models::internal {

LstmAgreement CompareSequenceLstmWithTorch(int batch, int steps, int input_size, int hidden_size,
                                           uint64_t seed) {
  torch::NoGradGuard no_grad_outside;
  torch::manual_seed(seed);
  torch::nn::LSTM reference(torch::nn::LSTMOptions(input_size, hidden_size).batch_first(true));
  const torch::Tensor input = torch::randn({batch, steps, input_size});
  const torch::Tensor probe = torch::randn({batch, steps, hidden_size});  // the loss's weights

  auto leaf = [](const torch::Tensor& t) { return t.detach().clone().requires_grad_(true); };
  std::vector<torch::Tensor> ours = {leaf(input),
                                     leaf(reference->named_parameters()["weight_ih_l0"]),
                                     leaf(reference->named_parameters()["weight_hh_l0"]),
                                     leaf(reference->named_parameters()["bias_ih_l0"]),
                                     leaf(reference->named_parameters()["bias_hh_l0"])};
  std::vector<torch::Tensor> theirs = {leaf(input)};
  for (const char* name : {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}) {
    theirs.push_back(reference->named_parameters()[name]);
  }
  torch::Tensor our_output, their_output;
  {
    torch::AutoGradMode enable(true);
    our_output = SequenceLstm(ours[0], ours[1], ours[2], ours[3], ours[4]);
    (our_output * probe).sum().backward();
    their_output = std::get<0>(reference->forward(theirs[0]));
    (their_output * probe).sum().backward();
  }
  LstmAgreement agreement;
  agreement.max_output_difference = (our_output - their_output).abs().max().item<double>();
  for (size_t i = 0; i < ours.size(); ++i) {
    agreement.max_gradient_difference =
        std::max(agreement.max_gradient_difference,
                 (ours[i].grad() - theirs[i].grad()).abs().max().item<double>());
  }
  return agreement;
}

}  // namespace cartable::models::internal
