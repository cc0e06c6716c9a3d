#pragma once

// The zoo's one training loop, the two kinds of problem it solves, and its one prediction wrapper.
// Every model trains the same way: Adam over its parameters; each epoch the examples are shuffled
// by TrainOptions::seed (std::shuffle with std::mt19937_64) and cut into batches of
// TrainOptions::batch_size; progress goes to TrainOptions::on_epoch; torch's exceptions become a
// Status. A model gives only what is its own, as a TrainingProblem: what its examples are (answers,
// windows of a pupil's answers, or pupil records), the pupil of each, and the loss of a batch of
// them. PerExampleProblem and WindowProblem build the two kinds the zoo has from the model's logits
// alone.
//
// Training variants attach at two points that exist already: batches know the pupil of each example
// (Batch::pupils), and one GradientStep turns a batch into the gradients the optimiser applies,
// between the loss and the step. Used only inside models/ (.cpp files that include torch); declared
// without torch headers.

#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <vector>

#include "core/status.h"
#include "models/model.h"

namespace at {
class Generator;
class Tensor;
}  // namespace at

namespace cartable::models::internal {

struct Batch {
  std::span<const int64_t> examples;  // indices of the problem's examples, in the epoch's order
  std::span<const uint32_t> pupils;   // the pupil (InteractionLog pupil index) of each example
};

// The batches of each epoch, torch-free: the examples 0..n−1 shuffled anew at each NextEpoch (iota,
// then std::shuffle with one std::mt19937_64 seeded once), cut into runs of batch_size (the last
// may be shorter), each with the pupils of its examples.
class EpochBatches {
 public:
  // `pupils` (example → pupil) must outlive this object; batch_size ≥ 1.
  EpochBatches(std::span<const uint32_t> pupils, int64_t batch_size, uint64_t seed);

  // Draws the next epoch's order; call before the epoch's first batch.
  void NextEpoch();
  size_t size() const;  // batches per epoch
  // Batch `b` (< size()) of the current epoch; its spans are valid until the next call.
  Batch operator[](size_t b);

 private:
  std::span<const uint32_t> pupils_;
  size_t batch_size_;
  std::mt19937_64 rng_;
  std::vector<int64_t> order_;
  std::vector<uint32_t> batch_pupils_;
};

// The batches of DP-SGD, torch-free: at each Next, every pupil is drawn with probability `rate`,
// independently (std::bernoulli_distribution on one std::mt19937_64 seeded once); the result holds
// one Batch per pupil drawn, with all of that pupil's examples. A batch may hold no pupil.
class PoissonPupils {
 public:
  // `pupils` (example → pupil) must outlive this object; 0 < rate ≤ 1.
  PoissonPupils(std::span<const uint32_t> pupils, double rate, uint64_t seed);

  size_t pupils() const { return examples_.size(); }  // distinct pupils
  // The pupils drawn for the next step; valid until the next call.
  const std::vector<Batch>& Next();

 private:
  std::vector<std::vector<int64_t>> examples_;  // of each distinct pupil
  std::vector<std::vector<uint32_t>> owners_;   // that pupil, once per example
  std::bernoulli_distribution draw_;
  std::mt19937_64 rng_;
  std::vector<Batch> drawn_;
};

struct TrainingProblem {
  // The pupil of each example; its size is the number of examples the loop shuffles and batches.
  std::vector<uint32_t> pupils;
  // Answers (or records) the examples hold: TrainReport::examples, and the count the epoch's summed
  // loss is divided by for TrainReport::mean_loss.
  int64_t answers = 0;
  // Sets *objective to what a step minimises on the batch (the mean loss over the batch's answers
  // or records, plus the model's own regulariser if it has one), and returns the batch's loss
  // summed over its answers or records, without regulariser, for the report.
  std::function<double(const Batch& batch, at::Tensor* objective)> loss;
};

// The batch's examples as a long tensor [examples] (a view of the batch: valid while it is).
at::Tensor IndexOf(const Batch& batch);

// Dropout masks in training come from one generator per training, seeded from TrainOptions::seed
// (apart from the stream that orders the examples); a model's logits get it, or null when
// predicting.

// Inverted dropout of `h` with drop probability `p`, masks drawn from `dropout`; `h` itself when
// `dropout` is null (prediction) or p is 0.
at::Tensor Dropout(const at::Tensor& h, double p, at::Generator* dropout);

// Logits [n] of a model that scores each example on its own, for the examples `index` [n].
using ExampleLogits = std::function<at::Tensor(const at::Tensor& index, at::Generator* dropout)>;

// The problem of such a model (pfa, irt, the feed-forward models): the objective of a batch is the
// mean binary cross-entropy of its logits against labels[index], passed through `regularise` when
// one is given. Calls torch.
TrainingProblem PerExampleProblem(
    std::vector<uint32_t> pupils, const at::Tensor& labels, uint64_t seed, ExampleLogits logits,
    std::function<at::Tensor(const at::Tensor& loss)> regularise = nullptr);

// Logits [B, T] of a sequence model for windows of answers: `skill` [B, T] the skills answered,
// `token` [B, T] the answer before each (0 at a window's start, else 1 + 2·skill + correct).
using WindowLogits = std::function<at::Tensor(const at::Tensor& token, const at::Tensor& skill,
                                              at::Generator* dropout)>;

// The problem of a sequence model (dkt, sakt): the examples are the log's windows of at most
// `max_length` answers (kt_sequences.h); a batch is padded to its longest window, and its objective
// is the binary cross-entropy summed over its real answers (padding masked out) divided by their
// count. Calls torch.
TrainingProblem WindowProblem(const InteractionLog& log, int64_t max_length, uint64_t seed,
                              WindowLogits logits);

// A sequence model's probabilities, one per answer in log order: `logits` of the log's windows, 256
// windows at a time. Calls torch; for RunPrediction.
at::Tensor PredictWindows(const InteractionLog& log, int64_t max_length,
                          const WindowLogits& logits);

// The seam between a batch's loss and the optimiser step: leaves in each parameter's gradient (zero
// when it is called) what the optimiser is to apply, and returns the batch's summed loss for the
// report. Backpropagate is the plain step: one backward pass of the batch's objective. FedProx's
// proximal term is added by RunTrainingLoop after any step (AddProximalGradient). Per-pupil DP-SGD
// belongs here: it evaluates problem.loss on each pupil's examples of the batch
// (Batch::pupils), backpropagates each, clips each pupil's gradient, then sums and noises them.
using GradientStep = std::function<double(const TrainingProblem& problem, const Batch& batch,
                                          const std::vector<at::Tensor>& parameters)>;
double Backpropagate(const TrainingProblem& problem, const Batch& batch,
                     const std::vector<at::Tensor>& parameters);

// Adds `grads` to `sum` (same shapes), scaled down when their joint L2 norm exceeds `clip` so that
// what is added has norm at most `clip`; returns the norm before clipping. Calls torch.
double AddClipped(const std::vector<at::Tensor>& grads, double clip, std::vector<at::Tensor>& sum);

// The steps of DP-SGD (model.h's PupilDp), which RunTrainingLoop takes when options.dp is set: per
// step, `zero` clears the gradients, each pupil drawn is backpropagated alone and clipped, the
// noised mean is left in the gradients, and `apply` steps the optimiser. Calls torch (may throw
// c10::Error); options.dp checked by the caller.
TrainReport TrainPupilDp(const std::vector<at::Tensor>& parameters, const TrainOptions& options,
                         const TrainingProblem& problem, const std::function<void()>& zero,
                         const std::function<void()>& apply);

// FedProx's proximal term μ/2·‖w − w₀‖², added to what the step left: each parameter's gradient
// gains μ·(w − w₀) (a parameter the step left without a gradient gets that alone). `anchors` are
// the parameters' values when training started, in the same order and shapes. Calls torch.
void AddProximalGradient(const std::vector<at::Tensor>& parameters,
                         const std::vector<at::Tensor>& anchors, double mu);

// Refuses options without an epoch, a batch or a positive rate, with a negative or non-finite
// proximal μ, or DP parameters out of range (InvalidArgument). Then, with `torch_threads` torch
// threads, builds the problem (make_problem, which may call torch) and trains `parameters`
// (tensors that require gradients, shared with the model) for options.epochs epochs, adding the
// proximal gradient after each step when μ > 0. With options.dp, the steps are DP-SGD's instead
// (model.h's PupilDp; `step` is unused): one backward pass per pupil drawn. A torch failure is an
// Internal error naming what failed.
StatusOr<TrainReport> RunTrainingLoop(std::vector<at::Tensor> parameters, int torch_threads,
                                      const TrainOptions& options,
                                      const std::function<TrainingProblem()>& make_problem,
                                      const GradientStep& step = Backpropagate);

// With `torch_threads` threads and no gradients, the probabilities `predict` computes (a float
// tensor of any shape, read in row-major order); a torch failure is an Internal error.
StatusOr<std::vector<float>> RunPrediction(int torch_threads,
                                           const std::function<at::Tensor()>& predict);

}  // namespace cartable::models::internal
