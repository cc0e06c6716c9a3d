#pragma once

// Shared by the knowledge-tracing models (pfa, irt, dkt, sakt): the check of a log against a
// model's skill and item spaces, the pupil of each answer, and the cutting of each pupil's answers
// into padded windows for the sequence models. Torch-free: the models turn these arrays into
// tensors themselves.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/dataset.h"
#include "models/model.h"

namespace cartable::models::internal {

// Fails on an empty log, or on a skill (or, when `uses_items`, an item) outside the model's space,
// naming the model, the interaction and the space. With `uses_items` and a model without items
// (spec.num_items == 0) the items are ignored.
Status CheckAnswers(const InteractionLog& log, const ModelSpec& spec, bool uses_items);

// The pupil of each answer, in log order: the examples' pupils of the models that train on answers.
std::vector<uint32_t> AnswerPupils(const InteractionLog& log);

// Each pupil's answers cut into consecutive windows of at most `max_length` answers (a pupil with
// 450 answers and max_length 200 gives windows of 200, 200 and 50), padded to the longest window,
// row-major [windows × length]. Within a window, step t sees only steps < t of the same window: the
// models restart their memory at each window, for training and prediction alike, so both read the
// same contexts.
struct AnswerWindows {
  int64_t windows = 0;
  int64_t length = 0;                // the longest window; shorter ones are padded
  std::vector<int64_t> skill;        // padding: 0
  std::vector<int64_t> item;         // padding: 0; 0 everywhere when the log has no items
  std::vector<int64_t> correct;      // 0/1; padding: 0
  std::vector<float> label;          // correct as float; padding: 0
  std::vector<float> mask;           // 1 on real answers, 0 on padding
  std::vector<int64_t> window_size;  // real answers per window
  std::vector<uint32_t> pupil;       // the pupil of each window
  // For each real answer in log order, its flat index (window × length + step) in the arrays above.
  std::vector<int64_t> position;
};

AnswerWindows CutIntoWindows(const InteractionLog& log, int64_t max_length);

// The longest of the windows `rows`: the steps a batch of them needs.
int64_t LongestWindow(const AnswerWindows& w, std::span<const int64_t> rows);

}  // namespace cartable::models::internal
