#include "models/internal/kt_sequences.h"

#include <algorithm>

namespace cartable::models::internal {

Status CheckAnswers(const InteractionLog& log, const ModelSpec& spec, bool uses_items) {
  if (log.size() == 0) return InvalidArgumentError("no interaction to learn from or predict");
  if (log.num_skills > spec.num_skills) {
    return InvalidArgumentError("the data use " + std::to_string(log.num_skills) +
                                " skills but the " + spec.name + " model knows " +
                                std::to_string(spec.num_skills));
  }
  const bool check_items = uses_items && spec.num_items > 0;
  for (size_t i = 0; i < log.size(); ++i) {
    const Interaction& x = log.interactions[i];
    if (x.skill >= spec.num_skills) {
      return InvalidArgumentError("interaction " + std::to_string(i) + " has skill " +
                                  std::to_string(x.skill) + " outside the " + spec.name +
                                  " model's " + std::to_string(spec.num_skills) + " skills");
    }
    if (check_items && x.item >= spec.num_items) {
      return InvalidArgumentError("interaction " + std::to_string(i) + " has item " +
                                  std::to_string(x.item) + " outside the " + spec.name +
                                  " model's " + std::to_string(spec.num_items) + " items");
    }
    if (x.correct > 1) {
      return InvalidArgumentError("interaction " + std::to_string(i) +
                                  " has an answer other than 0/1");
    }
  }
  return Status::Ok();
}

std::vector<uint32_t> AnswerPupils(const InteractionLog& log) {
  std::vector<uint32_t> pupils(log.size());
  for (size_t i = 0; i < log.size(); ++i) pupils[i] = log.interactions[i].pupil;
  return pupils;
}

AnswerWindows CutIntoWindows(const InteractionLog& log, int64_t max_length) {
  AnswerWindows w;
  // First pass: window sizes.
  for (size_t i = 0; i < log.size(); ++i) {
    const bool new_pupil = i == 0 || log.interactions[i - 1].pupil != log.interactions[i].pupil;
    if (new_pupil || w.window_size.back() == max_length) {
      w.window_size.push_back(0);
      w.pupil.push_back(log.interactions[i].pupil);
    }
    ++w.window_size.back();
  }
  w.windows = static_cast<int64_t>(w.window_size.size());
  w.length = w.windows == 0 ? 0 : *std::max_element(w.window_size.begin(), w.window_size.end());
  const size_t cells = static_cast<size_t>(w.windows * w.length);
  w.skill.assign(cells, 0);
  w.item.assign(cells, 0);
  w.correct.assign(cells, 0);
  w.label.assign(cells, 0.0f);
  w.mask.assign(cells, 0.0f);
  w.position.reserve(log.size());
  int64_t window = -1;
  int64_t step = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    if (window < 0 || step == w.window_size[static_cast<size_t>(window)]) {
      ++window;
      step = 0;
    }
    const Interaction& x = log.interactions[i];
    const int64_t at = window * w.length + step++;
    const size_t cell = static_cast<size_t>(at);
    w.skill[cell] = x.skill;
    w.item[cell] = x.item;
    w.correct[cell] = x.correct;
    w.label[cell] = x.correct;
    w.mask[cell] = 1.0f;
    w.position.push_back(at);
  }
  return w;
}

int64_t LongestWindow(const AnswerWindows& w, std::span<const int64_t> rows) {
  int64_t length = 0;
  for (int64_t row : rows) length = std::max(length, w.window_size[static_cast<size_t>(row)]);
  return length;
}

}  // namespace cartable::models::internal
