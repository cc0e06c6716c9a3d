#pragma once

// One LSTM layer over whole padded sequences, with its own backward pass: the dkt model's recurrent
// cell. torch's LSTM records a dozen autograd operations per time step and replays them one by one
// backwards; for the small batches and hidden sizes of knowledge tracing that bookkeeping, not
// arithmetic, dominates. This layer runs the recurrence with one matrix product and a few in-place
// operations per step, keeps the activations it needs, and computes the weight gradients of all
// steps in one product each at the end. Same function, gate order (input, forget, cell, output) and
// parameters as torch::nn::LSTM. Used only inside models/ (.cpp files that include torch); declared
// without torch headers.

namespace at {
class Tensor;
}  // namespace at

namespace cartable::models::internal {

// `input` [B, T, E] (batch first), weights as torch::nn::LSTM's layer 0: w_ih [4H, E], w_hh [4H,
// H], b_ih [4H], b_hh [4H]; zero initial state. Returns the hidden states [B, T, H], differentiable
// with respect to the input and the four weights.
at::Tensor SequenceLstm(const at::Tensor& input, const at::Tensor& w_ih, const at::Tensor& w_hh,
                        const at::Tensor& b_ih, const at::Tensor& b_hh);

}  // namespace cartable::models::internal
