#include "models/model_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "core/files.h"
#include "core/version.h"
#include "models/safetensors.h"

namespace cartable::models {
namespace {

std::string TodayUtc() {
  char buffer[32];
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d", &utc);
  return buffer;
}

std::map<std::string, std::string> Metadata(const ModelSpec& spec) {
  return {{"format", "pt"},
          {"cartable.model", spec.name},
          {"cartable.num_skills", std::to_string(spec.num_skills)},
          {"cartable.num_items", std::to_string(spec.num_items)},
          {"cartable.num_features", std::to_string(spec.num_features)},
          {"cartable.options", nlohmann::json(spec.options).dump()}};
}

nlohmann::json CardJson(const ModelSpec& spec, size_t parameters, const ModelCard& card) {
  nlohmann::json json = {{"model",
                          {{"name", spec.name},
                           {"num_skills", spec.num_skills},
                           {"num_items", spec.num_items},
                           {"num_features", spec.num_features},
                           {"options", spec.options},
                           {"parameters", parameters}}},
                         {"produced_by", std::string("cartable ") + kVersion},
                         {"date", TodayUtc()}};
  if (!card.training.is_null()) json["training"] = card.training;
  if (!card.data.is_null()) json["data"] = card.data;
  if (!card.metrics.is_null()) json["metrics"] = card.metrics;
  return json;
}

Status CheckSections(const ModelCard& card) {
  for (const auto& [name, section] :
       {std::pair{"training", &card.training}, std::pair{"data", &card.data},
        std::pair{"metrics", &card.metrics}}) {
    if (!section->is_null() && !section->is_object()) {
      return InvalidArgumentError(std::string("the model card's '") + name +
                                  "' section must be a JSON object, not " + section->type_name());
    }
  }
  return Status::Ok();
}

}  // namespace

std::filesystem::path ModelCardPath(const std::filesystem::path& model_file) {
  return model_file.string() + ".card.json";
}

Status WriteModelFile(const std::filesystem::path& path, const ModelSpec& spec,
                      std::span<const float> parameters, const ModelCard& card) {
  CARTABLE_RETURN_IF_ERROR(CheckSections(card));
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, CreateModel(spec));
  if (parameters.size() != model->num_parameters()) {
    return InvalidArgumentError(
        "the " + spec.name + " model has " + std::to_string(model->num_parameters()) +
        " parameters, got " + std::to_string(parameters.size()) + " to write to " + path.string());
  }
  const std::filesystem::path card_path = ModelCardPath(path);
  if (::unlink(card_path.c_str()) != 0 && errno != ENOENT) {
    return UnavailableError("cannot remove the old model card " + card_path.string() + ": " +
                            std::strerror(errno));
  }
  CARTABLE_RETURN_IF_ERROR(
      WriteSafetensors(path, SplitByLayout(parameters, model->parameter_layout()), Metadata(spec)));
  return WriteFileAtomically(card_path, CardJson(spec, parameters.size(), card).dump(2) + "\n");
}

}  // namespace cartable::models
