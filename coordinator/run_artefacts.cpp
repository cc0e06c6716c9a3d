#include "coordinator/run_artefacts.h"

#include <sstream>

#include "coordinator/plan.h"
#include "coordinator/round_record_json.h"
#include "core/files.h"
#include "models/fairness_json.h"

namespace cartable::coordinator {
namespace {

std::string Cell(const std::optional<double>& value) {
  if (!value) return "";
  std::ostringstream out;
  out.precision(17);
  out << *value;
  return out.str();
}

// A CSV cell holding `text` (names come from nodes): quoted when it needs to be.
std::string Quoted(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

models::ModelCard RunCard(const RoundLoop& loop, const RunEnding& ending) {
  const RunConfig& run = loop.config();
  models::ModelCard card;
  nlohmann::json strategy = {{"name", run.strategy}};
  for (const auto& [key, value] : run.strategy_options) strategy[key] = value;
  card.training = {{"setting", "federated"},
                   {"strategy", run.strategy},
                   {"strategy_options", strategy},
                   {"optimizer", "adam"},
                   {"rounds_planned", run.rounds},
                   {"rounds", loop.records().size()},
                   {"local_epochs", run.train.local_epochs},
                   {"batch_size", run.train.batch_size},
                   {"learning_rate", LearningRateAsSent(run)},
                   {"seed", run.train.seed},
                   {"run_id", run.run_id},
                   {"fraction", run.fraction},
                   {"secure_aggregation", run.secagg.enabled ? "SecAgg+" : "off"}};
  if (run.dp.enabled != 0) card.training["privacy"] = RunPrivacy(run);
  if (run.establishment_dp.enabled != 0)
    card.training["establishment_privacy"] = RunEstablishmentPrivacy(run);
  if (!ending.plan_hash.empty()) card.training["plan_hash"] = ending.plan_hash;
  if (!ending.state.empty()) card.training["state"] = ending.state;
  if (!ending.reason.empty()) card.training["reason"] = ending.reason;
  if (!ending.audit_head.empty()) card.training["audit_head"] = ending.audit_head;
  if (loop.stopped_by()) card.training["stopped_by_admin"] = *loop.stopped_by();
  nlohmann::json establishments = nlohmann::json::array();
  card.metrics = {{"rounds", nlohmann::json::array()}};
  for (const auto& r : loop.records()) {
    card.metrics["rounds"].push_back(RoundRecordJson(r));
    establishments.push_back(r.nodes);
  }
  card.training["establishments_per_round"] = establishments;
  if (!loop.records().empty() && loop.records().back().fairness)
    card.metrics["fairness"] = models::FairnessTableJson(*loop.records().back().fairness);
  return card;
}

std::string RoundsCsv(const std::vector<RoundRecord>& records) {
  std::string csv =
      "round,connected,asked,nodes,train_loss,auc,auc_bound,accuracy,log_loss,rmse,"
      "calibration_error,evaluated_answers,seconds,dropped\n";
  for (const RoundRecord& r : records) {
    std::string dropped;
    for (const std::string& name : r.dropped) dropped += (dropped.empty() ? "" : ";") + name;
    csv += std::to_string(r.round) + "," + std::to_string(r.connected) + "," +
           std::to_string(r.asked) + "," + std::to_string(r.nodes) + "," + Cell(r.train_loss) +
           "," + Cell(r.auc) + "," + Cell(r.auc_bound) + "," + Cell(r.accuracy) + "," +
           Cell(r.log_loss) + "," + Cell(r.rmse) + "," + Cell(r.calibration_error) + "," +
           std::to_string(r.evaluated) + "," + Cell(r.seconds) + "," + Quoted(dropped) + "\n";
  }
  return csv;
}

std::string FairnessCsv(const models::FairnessTable& table) {
  std::string csv =
      "attribute,value,suppressed,pupils,answers,auc,auc_bound,calibration_error,"
      "true_positive_rate,flag_rate\n";
  for (const models::FairnessRow& r : table.rows) {
    csv += Quoted(r.attribute) + "," + Quoted(r.value) + "," + (r.suppressed ? "1," : "0,");
    if (r.suppressed) {
      csv += ",,,,,,\n";
      continue;
    }
    csv += std::to_string(r.pupils) + "," + std::to_string(r.answers) + "," + Cell(r.auc) + "," +
           Cell(r.auc_bound) + "," + Cell(r.calibration_error) + "," + Cell(r.true_positive_rate) +
           "," + Cell(r.flag_rate) + "\n";
  }
  for (const models::FairnessGaps& g : table.gaps) {
    csv += Quoted(g.attribute) + ",(gap),0,,,,,," + Cell(g.equal_opportunity) + "," +
           Cell(g.demographic_parity) + "\n";
  }
  return csv;
}

Status WriteRunArtefacts(const std::filesystem::path& dir, const RoundLoop& loop,
                         const RunEnding& ending) {
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(dir));
  CARTABLE_RETURN_IF_ERROR(models::WriteModelFile(dir / "model.safetensors", loop.config().model,
                                                  loop.global_model(), RunCard(loop, ending)));
  CARTABLE_RETURN_IF_ERROR(WriteFileAtomically(dir / "rounds.csv", RoundsCsv(loop.records())));
  if (!loop.records().empty() && loop.records().back().fairness)
    return WriteFileAtomically(dir / "fairness.csv", FairnessCsv(*loop.records().back().fairness));
  return Status::Ok();
}

}  // namespace cartable::coordinator
