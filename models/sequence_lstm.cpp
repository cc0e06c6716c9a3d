#include "models/internal/sequence_lstm.h"

#include <torch/torch.h>

namespace cartable::models::internal {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Saved per step t (time-major): gates after their activations [T, B, 4H], cell states c_t [T + 1,
// B, H] (c_0 = 0), tanh(c_t) [T, B, H], hidden states h_t [T + 1, B, H] (h_0 = 0).
class LstmFunction : public torch::autograd::Function<LstmFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& w_ih, const torch::Tensor& w_hh,
                               const torch::Tensor& b_ih, const torch::Tensor& b_hh) {
    const int64_t b = input.size(0), t = input.size(1), e = input.size(2), h = w_hh.size(1);
    torch::Tensor x = input.transpose(0, 1).contiguous().view({t * b, e});
    torch::Tensor gates = torch::addmm(b_ih + b_hh, x, w_ih.t()).view({t, b, 4 * h});
    torch::Tensor cell = torch::zeros({t + 1, b, h});
    torch::Tensor hidden = torch::zeros({t + 1, b, h});
    torch::Tensor cell_tanh = torch::empty({t, b, h});
    const torch::Tensor w_hh_t = w_hh.t();
    for (int64_t s = 0; s < t; ++s) {
      torch::Tensor g = gates[s];
      g.addmm_(hidden[s], w_hh_t);
      g.narrow(1, 0, 2 * h).sigmoid_();
      g.narrow(1, 2 * h, h).tanh_();
      g.narrow(1, 3 * h, h).sigmoid_();
      const float* a = g.data_ptr<float>();
      const float* c_prev = cell[s].data_ptr<float>();
      float* c = cell[s + 1].data_ptr<float>();
      for (int64_t r = 0; r < b; ++r) {
        const float* gi = a + r * 4 * h;
        for (int64_t j = 0; j < h; ++j) {
          c[r * h + j] = gi[h + j] * c_prev[r * h + j] + gi[j] * gi[2 * h + j];
        }
      }
      torch::Tensor tanh_s = cell_tanh[s];
      torch::tanh_out(tanh_s, cell[s + 1]);
      const float* tc = tanh_s.data_ptr<float>();
      float* out = hidden[s + 1].data_ptr<float>();
      for (int64_t r = 0; r < b; ++r) {
        const float* go = a + r * 4 * h + 3 * h;
        for (int64_t j = 0; j < h; ++j) out[r * h + j] = go[j] * tc[r * h + j];
      }
    }
    ctx->save_for_backward({w_ih, w_hh});
    ctx->saved_data["x"] = x;
    ctx->saved_data["gates"] = gates;
    ctx->saved_data["cell"] = cell;
    ctx->saved_data["cell_tanh"] = cell_tanh;
    ctx->saved_data["hidden"] = hidden;
    return hidden.slice(0, 1).transpose(0, 1).clone(torch::MemoryFormat::Contiguous);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    const tensor_list saved = ctx->get_saved_variables();
    const torch::Tensor& w_ih = saved[0];
    const torch::Tensor& w_hh = saved[1];
    const torch::Tensor x = ctx->saved_data["x"].toTensor();
    const torch::Tensor gates = ctx->saved_data["gates"].toTensor();
    const torch::Tensor cell = ctx->saved_data["cell"].toTensor();
    const torch::Tensor cell_tanh = ctx->saved_data["cell_tanh"].toTensor();
    const torch::Tensor hidden = ctx->saved_data["hidden"].toTensor();
    const int64_t t = gates.size(0), b = gates.size(1), h = w_hh.size(1);
    const torch::Tensor grad_out = grad_outputs[0].transpose(0, 1).contiguous();  // [T, B, H]
    torch::Tensor grad_gates = torch::empty({t, b, 4 * h});
    torch::Tensor grad_h = torch::zeros({b, h});  // from step s + 1 through w_hh
    std::vector<float> grad_c(static_cast<size_t>(b * h), 0.0f);
    for (int64_t s = t - 1; s >= 0; --s) {
      const float* a = gates[s].data_ptr<float>();
      const float* c_prev = cell[s].data_ptr<float>();
      const float* tc = cell_tanh[s].data_ptr<float>();
      const float* dh_out = grad_out[s].data_ptr<float>();
      const float* dh_next = grad_h.data_ptr<float>();
      float* dg = grad_gates[s].data_ptr<float>();
      for (int64_t r = 0; r < b; ++r) {
        for (int64_t j = 0; j < h; ++j) {
          const int64_t k = r * h + j;
          const float* gi = a + r * 4 * h;
          const float i = gi[j], f = gi[h + j], g = gi[2 * h + j], o = gi[3 * h + j];
          const float dh = dh_out[k] + dh_next[k];
          const float dc = dh * o * (1.0f - tc[k] * tc[k]) + grad_c[static_cast<size_t>(k)];
          float* d = dg + r * 4 * h;
          d[j] = dc * g * i * (1.0f - i);
          d[h + j] = dc * c_prev[k] * f * (1.0f - f);
          d[2 * h + j] = dc * i * (1.0f - g * g);
          d[3 * h + j] = dh * tc[k] * o * (1.0f - o);
          grad_c[static_cast<size_t>(k)] = dc * f;
        }
      }
      torch::mm_out(grad_h, grad_gates[s], w_hh);
    }
    torch::Tensor flat = grad_gates.view({t * b, 4 * h});
    torch::Tensor grad_input = flat.mm(w_ih).view({t, b, -1}).transpose(0, 1);
    torch::Tensor grad_w_ih = flat.t().mm(x);
    torch::Tensor grad_w_hh = flat.t().mm(hidden.slice(0, 0, t).reshape({t * b, h}));
    torch::Tensor grad_bias = flat.sum(0);
    return {grad_input, grad_w_ih, grad_w_hh, grad_bias, grad_bias.clone()};
  }
};

}  // namespace

at::Tensor SequenceLstm(const at::Tensor& input, const at::Tensor& w_ih, const at::Tensor& w_hh,
                        const at::Tensor& b_ih, const at::Tensor& b_hh) {
  return LstmFunction::apply(input, w_ih, w_hh, b_ih, b_hh);
}

}  // namespace cartable::models::internal
