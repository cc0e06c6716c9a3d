#include "coordinator/round_record_json.h"

#include "models/fairness_json.h"

namespace cartable::coordinator {
namespace {

nlohmann::json OptionalJson(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

}  // namespace

nlohmann::json RoundRecordJson(const RoundRecord& r) {
  auto optional = OptionalJson;
  nlohmann::json json = {{"round", r.round},
                         {"connected", r.connected},
                         {"asked", r.asked},
                         {"nodes", r.nodes},
                         {"train_loss", r.train_loss},
                         {"auc", optional(r.auc)},
                         {"auc_bound", optional(r.auc_bound)},
                         {"calibration_error", optional(r.calibration_error)},
                         {"accuracy", optional(r.accuracy)},
                         {"log_loss", optional(r.log_loss)},
                         {"rmse", optional(r.rmse)},
                         {"evaluated_answers", r.evaluated},
                         {"seconds", r.seconds},
                         {"dropped", r.dropped},
                         {"dropped_by_reason", r.dropped_by_reason},
                         {"declined", r.declined}};
  if (r.fairness) json["fairness"] = models::FairnessTableJson(*r.fairness);
  return json;
}

StatusOr<RoundRecord> RoundRecordFromJson(const nlohmann::json& json) {
  try {
    auto optional = [&](const char* key) {
      const nlohmann::json& v = json.at(key);
      return v.is_null() ? std::optional<double>() : std::optional<double>(v.get<double>());
    };
    RoundRecord r;
    r.round = json.at("round").get<uint32_t>();
    r.nodes = json.at("nodes").get<size_t>();
    // absent from the records of earlier versions
    r.connected = json.value("connected", size_t{0});
    r.asked = json.value("asked", size_t{0});
    r.train_loss = json.at("train_loss").get<double>();
    r.auc = optional("auc");
    // absent from the records of earlier versions
    if (json.contains("auc_bound")) r.auc_bound = optional("auc_bound");
    if (json.contains("calibration_error")) r.calibration_error = optional("calibration_error");
    r.accuracy = optional("accuracy");
    r.log_loss = optional("log_loss");
    r.rmse = optional("rmse");
    r.evaluated = json.at("evaluated_answers").get<uint64_t>();
    r.seconds = json.at("seconds").get<double>();
    r.dropped = json.at("dropped").get<std::vector<std::string>>();
    if (json.contains("dropped_by_reason"))
      r.dropped_by_reason = json.at("dropped_by_reason").get<std::map<std::string, size_t>>();
    if (json.contains("declined"))  // absent from the records of earlier versions
      r.declined = json.at("declined").get<std::map<std::string, std::string>>();
    if (json.contains("fairness")) r.fairness = models::FairnessTableFromJson(json.at("fairness"));
    return r;
  } catch (const nlohmann::json::exception& e) {
    return DataLossError(std::string("round record: ") + e.what());
  }
}

}  // namespace cartable::coordinator
