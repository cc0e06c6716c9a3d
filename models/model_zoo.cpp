#include "models/internal/pfa_model.h"
#include "models/model.h"

namespace cartable::models {

StatusOr<std::unique_ptr<Model>> CreateModel(const ModelSpec& spec) {
  if (spec.num_skills == 0) return InvalidArgumentError("a model needs a skill space of at least 1 skill");
  if (spec.torch_threads < 1) return InvalidArgumentError("torch_threads must be at least 1");
  if (spec.name == "pfa") return internal::NewPfaModel(spec);
  return InvalidArgumentError("unknown model '" + spec.name + "' (known: pfa)");
}

std::vector<uint8_t> Labels(const InteractionLog& log) {
  std::vector<uint8_t> labels;
  labels.reserve(log.size());
  for (const Interaction& x : log.interactions) labels.push_back(x.correct);
  return labels;
}

}  // namespace cartable::models
