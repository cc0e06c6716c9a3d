#include "models/fairness_json.h"

#include <string>
#include <utility>

namespace cartable::models {
namespace {

nlohmann::json OptionalJson(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

std::optional<double> OptionalFrom(const nlohmann::json& json, const char* key) {
  const nlohmann::json& v = json.at(key);
  return v.is_null() ? std::optional<double>() : std::optional<double>(v.get<double>());
}

}  // namespace

FairnessTable FairnessTableFromJson(const nlohmann::json& json) {
  FairnessTable table;
  table.min_group_pupils = json.at("min_group_pupils").get<uint64_t>();
  for (const nlohmann::json& r : json.at("rows")) {
    FairnessRow row{r.at("attribute").get<std::string>(), r.at("value").get<std::string>(),
                    r.at("suppressed").get<bool>()};
    if (!row.suppressed) {
      row.pupils = r.at("pupils").get<uint64_t>();
      row.answers = r.at("answers").get<uint64_t>();
      row.auc = OptionalFrom(r, "auc");
      row.auc_bound = OptionalFrom(r, "auc_bound");
      row.calibration_error = OptionalFrom(r, "calibration_error");
      row.true_positive_rate = OptionalFrom(r, "true_positive_rate");
      row.flag_rate = OptionalFrom(r, "flag_rate");
    }
    table.rows.push_back(std::move(row));
  }
  for (const nlohmann::json& g : json.at("gaps")) {
    table.gaps.push_back({g.at("attribute").get<std::string>(),
                          OptionalFrom(g, "equal_opportunity"),
                          OptionalFrom(g, "demographic_parity")});
  }
  return table;
}

nlohmann::json FairnessTableJson(const FairnessTable& table) {
  nlohmann::json rows = nlohmann::json::array();
  for (const FairnessRow& r : table.rows) {
    if (r.suppressed) {
      rows.push_back({{"attribute", r.attribute}, {"value", r.value}, {"suppressed", true}});
      continue;
    }
    rows.push_back({{"attribute", r.attribute},
                    {"value", r.value},
                    {"suppressed", false},
                    {"pupils", r.pupils},
                    {"answers", r.answers},
                    {"auc", OptionalJson(r.auc)},
                    {"auc_bound", OptionalJson(r.auc_bound)},
                    {"calibration_error", OptionalJson(r.calibration_error)},
                    {"true_positive_rate", OptionalJson(r.true_positive_rate)},
                    {"flag_rate", OptionalJson(r.flag_rate)}});
  }
  nlohmann::json gaps = nlohmann::json::array();
  for (const FairnessGaps& g : table.gaps) {
    gaps.push_back({{"attribute", g.attribute},
                    {"equal_opportunity", OptionalJson(g.equal_opportunity)},
                    {"demographic_parity", OptionalJson(g.demographic_parity)}});
  }
  return {{"min_group_pupils", table.min_group_pupils}, {"rows", rows}, {"gaps", gaps}};
}

}  // namespace cartable::models
