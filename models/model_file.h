#pragma once

// Model files: the one way a trained model leaves cartable, whoever trained it (`cartable train`,
// the coordinator's --out). A model file is two files:
//   - PATH, safetensors (safetensors.h): one F32 tensor per block of the model's
//   parameter_layout(),
//     named and shaped as the block, in layout order, with the metadata that rebuilds the model:
//     format = pt, cartable.model, cartable.num_skills, cartable.num_items, cartable.num_features,
//     cartable.options (a JSON object of the hyperparameters);
//   - PATH.card.json, its model card: a JSON object with "model" (name, num_skills, num_items,
//     num_features, options, parameters), "produced_by" (cartable and its version), "date" (UTC,
//     YYYY-MM-DD), and the sections the caller knows: "training" (how), "data" (on what), "metrics"
//     (how well).
// `cartable model inspect PATH` reads both. Each file is written through WriteFileAtomically, and
// an old card is removed before the new model is written, so after a crash a card never describes
// another model than the one beside it (there may be no card). Plain functions: thread safe for
// different paths.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>

#include "core/status.h"
#include "models/model.h"

namespace cartable::models {

// What only the writer's caller knows; each section is a JSON object, or null to leave it out.
struct ModelCard {
  nlohmann::json
      training;         // how: the setting (centralised or federated), optimiser, epochs or rounds
  nlohmann::json data;  // on what: pupils, answers or records, how they were split
  nlohmann::json metrics;  // how well: test metrics, or the rounds' federated metrics
};

// The card's path beside a model file: PATH.card.json.
std::filesystem::path ModelCardPath(const std::filesystem::path& model_file);

// Writes `parameters`, the flat vector of a model built from `spec` (Model::GetParameters, or a
// coordinator's global model), and `card` as the model file at `path`. Refuses (InvalidArgument) a
// spec that CreateModel refuses, a vector whose length is not the model's, and a card section that
// is neither an object nor null; nothing is written then. An I/O failure names the file.
Status WriteModelFile(const std::filesystem::path& path, const ModelSpec& spec,
                      std::span<const float> parameters, const ModelCard& card);

}  // namespace cartable::models
