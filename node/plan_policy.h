#pragma once

// PlanPolicy: what an establishment agrees to train on its pupils' data, whatever the coordinator
// asks: which models, which option values, how many local epochs, and how many training pupils it
// needs before it takes part at all. The node checks every training request against it before
// touching its data, and refuses one it breaks with the reason, which reaches the coordinator (its
// log) and the node's audit log. It lives in node.toml's [policy] table (docs/node-policy.md).
//
//   [policy]
//   models = ["pfa", "dkt"]          # absent: any model
//   max_local_epochs = 5             # absent or 0: no limit
//   min_training_pupils = 20         # absent or 0: no floor
//   max_epsilon_per_run = 2          # DP-SGD per pupil required; ε of one run at most 2
//   max_epsilon_per_year = 8         # ε of all runs of a school year, by the privacy ledger
//   max_delta = 1e-5                 # the δ those ε are at, at most
//   max_dp_steps = 100000            # DP-SGD steps a round at most (the default; 0: no limit)
//   max_establishment_epsilon = 8    # DP per establishment required; ε of one run at most 8
//   max_establishment_epsilon_per_year = 16  # the establishment's ε of a school year, by the
//   ledger coordinator_keys = ["Z85…"]      # the only coordinators' public keys it may join;
//   absent: any data_sources = ["oulad:data/", "csv:exports/answers.csv"]  # what it may read;
//   absent: any [policy.options.dkt]             # per model: an option's allowed values
//   hidden_size = "8..128"           # a numeric range, bounds included
//   cell = "gru"                     # or the one value allowed
//
// An option the plan sets that the policy does not list is allowed at any value. Pure data and
// functions; thread safe.

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/config_file.h"
#include "core/status.h"
#include "protocol/messages.h"

namespace cartable::node {

struct OptionRule {
  std::optional<double> min;  // a range "MIN..MAX" …
  std::optional<double> max;
  std::string exact;  // … or the one value allowed (when min and max are unset)
};

struct PlanPolicy {
  std::set<std::string> models;   // empty: any model
  uint32_t max_local_epochs = 0;  // 0: no limit
  size_t min_training_pupils = 0;
  std::map<std::string, std::map<std::string, OptionRule>> options;  // model → option → rule
  // Differential privacy (docs/privacy.md): with a cap set, only runs with DP-SGD per pupil are
  // trained, at δ at most max_delta, costing each pupil at most max_epsilon_per_run; the yearly
  // cap is kept against the node's privacy ledger (node_session.h). 0: no cap.
  double max_epsilon_per_run = 0;
  double max_epsilon_per_year = 0;
  double max_delta = 1e-5;
  // DP-SGD steps of one training, ceil(epochs / sampling rate), at most: a rate far below one
  // pupil a step would keep the node busy for hours. 0: no limit.
  static constexpr uint64_t kDefaultMaxDpSteps = 100000;
  uint64_t max_dp_steps = kDefaultMaxDpSteps;
  // With a cap, only runs with DP per establishment (the distributed discrete Gaussian under secure
  // aggregation) are trained, at δ at most max_delta, costing the establishment at most this ε over
  // the run, by the accountant for the round's cohort, and at most the yearly cap over a school
  // year's runs, by the node's privacy ledger (a budget apart from the pupils'). 0: no cap.
  double max_establishment_epsilon = 0;
  double max_establishment_epsilon_per_year = 0;
  bool NeedsDp() const { return max_epsilon_per_run > 0 || max_epsilon_per_year > 0; }
  bool NeedsEstablishmentDp() const {
    return max_establishment_epsilon > 0 || max_establishment_epsilon_per_year > 0;
  }
  // Whom the node may serve and what it may read, whatever its configuration or flags say: the
  // coordinators' CURVE public keys (Z85), and data sources FORMAT:PATH, the path absolute and
  // normalised, one ending in '/' allowing every file under that directory. Empty: any.
  std::set<std::string> coordinator_keys;
  std::vector<std::string> data_sources;

  // OK, or PERMISSION_DENIED saying which rule the request breaks ("the policy of this
  // establishment allows the models dkt, pfa; the run trains sakt"). No quotes: logs escape them.
  Status Check(const protocol::TrainRequest& request, size_t training_pupils) const;
  // The policy in plain words, one rule a line.
  std::string Explain() const;
  // The differential-privacy rules (NeedsDp): DP-SGD asked for, δ, ε of the run.
  Status CheckPrivacy(const protocol::TrainRequest& request) const;
  // The rules on DP per establishment (NeedsEstablishmentDp): asked for, δ, ε of the run.
  Status CheckEstablishmentPrivacy(const protocol::TrainRequest& request) const;
  // PERMISSION_DENIED unless coordinator_keys is empty or holds `public_key` (Z85; empty: the node
  // authenticates no coordinator, as under --insecure).
  Status CheckCoordinatorKey(const std::string& public_key) const;
  // PERMISSION_DENIED unless data_sources is empty or allows `source`, FORMAT:PATH with an
  // absolute path (compared after lexical normalisation: "a/../b" is "b"; symbolic links are
  // not followed, so the operator's filesystem is trusted as the operator is). OULAD's
  // ?cutoff=DAYS is not part of the place.
  Status CheckDataSource(const std::string& source) const;
};

// The [policy] table of a node's configuration; every error names the key and the file.
StatusOr<PlanPolicy> ReadPlanPolicy(ConfigTable& policy);

}  // namespace cartable::node
