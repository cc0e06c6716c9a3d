#include "coordinator/round_record_json.h"

namespace cartable::coordinator {

nlohmann::json RoundRecordJson(const RoundRecord& r) {
  auto optional = [](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json();
  };
  return {{"round", r.round},
          {"nodes", r.nodes},
          {"train_loss", r.train_loss},
          {"auc", optional(r.auc)},
          {"accuracy", optional(r.accuracy)},
          {"log_loss", optional(r.log_loss)},
          {"rmse", optional(r.rmse)},
          {"evaluated_answers", r.evaluated},
          {"seconds", r.seconds},
          {"dropped", r.dropped}};
}

}  // namespace cartable::coordinator
