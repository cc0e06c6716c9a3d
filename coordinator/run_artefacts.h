#pragma once

// What a run leaves behind: its final model as a model file (models/model_file.h) whose card holds
// the run's settings, plan hash, how it ended and every round's record, and the rounds as CSV. One
// definition for `cartable coordinator --out` and the daemon's runs/<id>/ directories. Plain
// functions.

#include <filesystem>
#include <string>
#include <vector>

#include "coordinator/round_loop.h"
#include "models/model_file.h"

namespace cartable::coordinator {

// How the run ended and what to say of it on its card, beyond the loop's own state.
struct RunEnding {
  std::string plan_hash;   // empty for a run started from flags without a plan
  std::string state;       // "ended", "cancelled", "failed"
  std::string reason;      // why it failed or was cancelled; empty otherwise
  std::string audit_head;  // the audit log's head hash when the run ended; empty without a log
};

models::ModelCard RunCard(const RoundLoop& loop, const RunEnding& ending);

// One line per round: round,nodes,train_loss,auc,accuracy,log_loss,rmse,evaluated_answers,seconds,
// dropped (names separated by ';'); empty cells for metrics a round did not measure.
std::string RoundsCsv(const std::vector<RoundRecord>& records);

// One line per subgroup of a fairness table (models/fairness.h):
// attribute,value,suppressed,pupils,answers,auc,auc_bound,calibration_error,true_positive_rate,
// flag_rate; a suppressed subgroup's figures are empty cells. The gaps follow as lines whose value
// is "(gap)", with the equal-opportunity gap in true_positive_rate and the demographic-parity gap
// in flag_rate.
std::string FairnessCsv(const models::FairnessTable& table);

// Writes DIR/model.safetensors, DIR/model.safetensors.card.json and DIR/rounds.csv, creating DIR,
// and DIR/fairness.csv when the last round was broken down by subgroup.
Status WriteRunArtefacts(const std::filesystem::path& dir, const RoundLoop& loop,
                         const RunEnding& ending);

}  // namespace cartable::coordinator
