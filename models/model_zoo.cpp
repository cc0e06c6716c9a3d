#include <functional>

#include "models/internal/dkt_model.h"
#include "models/internal/irt_model.h"
#include "models/internal/logistic_model.h"
#include "models/internal/mlp_model.h"
#include "models/internal/pfa_model.h"
#include "models/internal/sakt_model.h"
#include "models/model.h"

namespace cartable::models {
namespace {

// The zoo: one row per model. Each factory checks the spec's options and spaces for its model.
struct ZooEntry {
  const char* name;
  ModelInput input;
  const char* description;
  StatusOr<std::unique_ptr<Model>> (*create)(const ModelSpec&);
};

const std::vector<ZooEntry>& Zoo() {
  static const std::vector<ZooEntry> zoo = {
      {"pfa", ModelInput::kAnswers,
       "performance factors analysis: logistic on per-skill success and failure counts",
       internal::NewPfaModel},
      {"irt1pl", ModelInput::kAnswers,
       "item response theory, 1PL: item (or skill) difficulty, ability from the pupil's earlier "
       "answers",
       internal::NewIrt1plModel},
      {"irt2pl", ModelInput::kAnswers,
       "item response theory, 2PL: irt1pl plus a discrimination per item (or skill)",
       internal::NewIrt2plModel},
      {"dkt", ModelInput::kAnswers,
       "deep knowledge tracing: LSTM/GRU over the answers (cell, hidden_size, layers, dropout, "
       "max_length)",
       internal::NewDktModel},
      {"sakt", ModelInput::kAnswers,
       "self-attentive knowledge tracing (embedding_size, heads, max_length, dropout)",
       internal::NewSaktModel},
      {"logistic", ModelInput::kPupilRecords,
       "early warning: logistic regression on pupil records (option l2)",
       internal::NewLogisticModel},
      {"mlp", ModelInput::kPupilRecords,
       "early warning: ReLU network on pupil records (hidden_size, layers, dropout, l2)",
       internal::NewMlpModel},
  };
  return zoo;
}

const ZooEntry* Find(const std::string& name) {
  for (const ZooEntry& entry : Zoo()) {
    if (name == entry.name) return &entry;
  }
  return nullptr;
}

std::string KnownNames() {
  std::string names;
  for (const ZooEntry& entry : Zoo())
    names += (names.empty() ? "" : ", ") + std::string(entry.name);
  return names;
}

}  // namespace

StatusOr<std::unique_ptr<Model>> CreateModel(const ModelSpec& spec) {
  const ZooEntry* entry = Find(spec.name);
  if (entry == nullptr) {
    return InvalidArgumentError("unknown model '" + spec.name + "' (known: " + KnownNames() + ")");
  }
  if (spec.torch_threads < 1) return InvalidArgumentError("torch_threads must be at least 1");
  if (entry->input == ModelInput::kAnswers && spec.num_skills == 0) {
    return InvalidArgumentError("model '" + spec.name +
                                "' needs a skill space of at least 1 skill");
  }
  if (entry->input == ModelInput::kPupilRecords && spec.num_features == 0) {
    return InvalidArgumentError("model '" + spec.name +
                                "' needs pupil records with at least 1 feature");
  }
  return entry->create(spec);
}

std::vector<std::pair<std::string, std::string>> KnownModels() {
  std::vector<std::pair<std::string, std::string>> known;
  for (const ZooEntry& entry : Zoo()) known.emplace_back(entry.name, entry.description);
  return known;
}

StatusOr<ModelInput> InputOf(const std::string& model_name) {
  const ZooEntry* entry = Find(model_name);
  if (entry == nullptr) {
    return InvalidArgumentError("unknown model '" + model_name + "' (known: " + KnownNames() + ")");
  }
  return entry->input;
}

std::vector<uint8_t> Labels(const InteractionLog& log, ModelInput input) {
  if (input == ModelInput::kPupilRecords) return log.records.outcome;
  std::vector<uint8_t> labels;
  labels.reserve(log.size());
  for (const Interaction& x : log.interactions) labels.push_back(x.correct);
  return labels;
}

}  // namespace cartable::models
