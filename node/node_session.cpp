#include "node/node_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

#include "core/check.h"
#include "core/number_text.h"
#include "core/printable.h"
#include "exchange/contribution.h"
#include "exchange/establishment_dp_wire.h"
#include "exchange/evaluation_wire.h"
#include "exchange/model_wire.h"
#include "exchange/pupil_dp_wire.h"
#include "models/fairness_json.h"
#include "models/metrics.h"
#include "node/audit_trail.h"

namespace cartable::node {
namespace {

protocol::Envelope Reply(uint64_t run_id, uint32_t round, protocol::Body body) {
  return protocol::Envelope{run_id, round, std::move(body)};
}

bool SameModel(const protocol::WireModelSpec& a, const protocol::WireModelSpec& b) {
  if (a.name != b.name || a.num_skills != b.num_skills || a.num_items != b.num_items ||
      a.num_features != b.num_features || a.options.size() != b.options.size()) {
    return false;
  }
  for (size_t i = 0; i < a.options.size(); ++i) {
    if (a.options[i].key != b.options[i].key || a.options[i].value != b.options[i].value)
      return false;
  }
  return true;
}

}  // namespace

uint64_t LocalTrainingSeed(uint64_t run_seed, uint32_t round, const std::string& node_name) {
  uint64_t h = 0xcbf29ce484222325ULL ^ run_seed;
  for (unsigned char c : node_name) h = (h ^ c) * 0x100000001b3ULL;
  h ^= static_cast<uint64_t>(round) * 0x9e3779b97f4a7c15ULL;
  return h;
}

NodeSession::NodeSession(std::string name, models::PupilSplit data, NodeSecurity security,
                         std::shared_ptr<const models::PupilAttributes> attributes)
    : name_(std::move(name)),
      data_(std::move(data)),
      security_(std::move(security)),
      attributes_(std::move(attributes)) {
  if (!security_.identity) {
    auto key = aggregation::secagg::SigningKey::Generate();
    CARTABLE_CHECK(key.ok()) << key.status().ToString();
    security_.identity =
        std::make_shared<const aggregation::secagg::SigningKey>(std::move(key).value());
  }
}

protocol::Envelope NodeSession::Hello() {
  rejoining_ = true;
  return Reply(0, 0, protocol::Hello{name_, security_.identity->PublicKey()});
}

std::vector<protocol::Envelope> NodeSession::OnSecAggMessage(const protocol::Envelope& in) {
  const protocol::Stage stage = protocol::StageOf(protocol::TypeOf(in.body));
  if (!secure_ || !run_id_ || in.run_id != *run_id_ || in.round != secure_round_ ||
      stage <= secure_stage_) {
    spdlog::debug("ignoring a stale or repeated {}",
                  protocol::MessageTypeName(protocol::TypeOf(in.body)));
    return {};
  }
  secure_stage_ = stage;
  StatusOr<protocol::Body> reply = secure_->OnMessage(in.body);
  if (!reply.ok()) {
    spdlog::error("round {}: secure aggregation: {}", in.round,
                  Printable(reply.status().ToString(), 400));
    secure_.reset();
    secure_request_.reset();
    return {Reply(in.run_id, in.round,
                  protocol::ErrorReply{static_cast<uint32_t>(reply.status().code()),
                                       "secure aggregation: " + reply.status().message()})};
  }
  if (secure_->done()) {
    secure_.reset();
    secure_request_.reset();
  }
  return {Reply(in.run_id, in.round, std::move(reply).value())};
}

std::vector<protocol::Envelope> NodeSession::OnMessage(const protocol::Envelope& in) {
  if (finished_) return {};
  if (const auto* shutdown = std::get_if<protocol::Shutdown>(&in.body)) {
    finished_ = true;
    finish_reason_ = Printable(shutdown->reason, 400);
    return {};
  }
  if (std::holds_alternative<protocol::Heartbeat>(in.body)) return {};  // the coordinator's answer
  if (const auto* error = std::get_if<protocol::ErrorReply>(&in.body);
      error && error->code == protocol::kErrorNotJoined) {
    spdlog::info("the coordinator does not know this node (it restarted?); saying hello again");
    return {Hello()};
  }
  if (run_id_ && *run_id_ != in.run_id && !rejoining_) {
    spdlog::warn("ignoring a message for run {:016x}: this node serves run {:016x}", in.run_id,
                 *run_id_);
    return {};
  }
  if (rejoining_ && (std::holds_alternative<protocol::TrainRequest>(in.body) ||
                     (run_id_ && *run_id_ != in.run_id))) {
    // The first round after a Hello: what was answered before belongs to the coordinator's past (it
    // restarted, maybe with the same run id and from round 1 again), not to what it asks now.
    if (run_id_ && *run_id_ != in.run_id)
      spdlog::info("joining run {:016x} (was {:016x})", in.run_id, *run_id_);
    last_train_round_.reset();
    last_evaluate_round_.reset();
  }
  switch (protocol::TypeOf(in.body)) {
    case protocol::MessageType::kKeyList:
    case protocol::MessageType::kShareDelivery:
    case protocol::MessageType::kSurvivorList:
    case protocol::MessageType::kUnmaskRequest:
      return OnSecAggMessage(in);
    default:
      break;
  }
  StatusOr<protocol::Body> reply = InternalError("no reply");
  if (const auto* request = std::get_if<protocol::TrainRequest>(&in.body)) {
    if (last_train_round_ && in.round <= *last_train_round_) return {};  // stale or duplicate
    run_id_ = in.run_id;
    rejoining_ = false;
    last_train_round_ = in.round;
    Status declined = Declines(*request);
    if (declined.ok()) declined = ChargePrivacy(*request, in.run_id, in.round);
    if (declined.code() == StatusCode::kPermissionDenied) {
      spdlog::warn("round {}: declining the run: {}", in.round, declined.message());
      return {Reply(in.run_id, in.round,
                    protocol::ErrorReply{protocol::kErrorDeclined, declined.message(), {}})};
    }
    reply = declined.ok() ? Train(*request, in.round) : StatusOr<protocol::Body>(declined);
    if (reply.ok()) {
      trained_ = {in.run_id, in.round};
      trained_model_ = request->model;
    }
  } else if (const auto* request = std::get_if<protocol::EvaluateRequest>(&in.body)) {
    if (last_evaluate_round_ && in.round <= *last_evaluate_round_) return {};
    run_id_ = in.run_id;
    rejoining_ = false;
    last_evaluate_round_ = in.round;
    reply = Evaluate(*request, in.round);
  } else if (const auto* error = std::get_if<protocol::ErrorReply>(&in.body)) {
    spdlog::warn("the coordinator reports an error: {}", Printable(error->message, 400));
    if (error->code == static_cast<uint32_t>(StatusCode::kPermissionDenied)) {
      finished_ = true;  // refused for good: retrying cannot help
      finish_reason_ = "refused by the coordinator: " + Printable(error->message, 400);
      finish_status_ = PermissionDeniedError(finish_reason_);
    }
    return {};
  } else {
    spdlog::warn("ignoring an unexpected {} from the coordinator",
                 protocol::MessageTypeName(protocol::TypeOf(in.body)));
    return {};
  }
  if (!reply.ok()) {
    spdlog::error("round {}: {}", in.round, Printable(reply.status().ToString(), 400));
    protocol::ErrorReply error{
        static_cast<uint32_t>(reply.status().code()), reply.status().message(), {}};
    if (const auto* request = std::get_if<protocol::TrainRequest>(&in.body);
        request && request->secagg.enabled) {
      error.accused = Disowned(request->secagg);
    }
    if (const auto* request = std::get_if<protocol::EvaluateRequest>(&in.body);
        request && request->secagg.enabled) {
      error.accused = Disowned(request->secagg);
    }
    return {Reply(in.run_id, in.round, std::move(error))};
  }
  return {Reply(in.run_id, in.round, std::move(reply).value())};
}

Status NodeSession::EnsureModel(const protocol::WireModelSpec& spec) {
  const models::ModelSpec model_spec = exchange::FromWire(spec);
  if (model_) {
    const models::ModelSpec& current = model_->spec();
    if (current.name == model_spec.name && current.num_skills == model_spec.num_skills &&
        current.num_items == model_spec.num_items &&
        current.num_features == model_spec.num_features && current.options == model_spec.options) {
      return Status::Ok();
    }
  }
  const uint32_t skills = std::max(data_.train.num_skills, data_.test.num_skills);
  if (skills > spec.num_skills) {
    return InvalidArgumentError("this node's data use skill ids up to " +
                                std::to_string(skills - 1) + " but the run's model knows " +
                                std::to_string(spec.num_skills) + " skills");
  }
  const uint32_t items = std::max(data_.train.num_items, data_.test.num_items);
  if (spec.num_items != 0 && items > spec.num_items) {
    return InvalidArgumentError("this node's data use item ids up to " + std::to_string(items - 1) +
                                " but the run's model knows " + std::to_string(spec.num_items) +
                                " items");
  }
  CARTABLE_ASSIGN_OR_RETURN(const models::ModelInput input, models::InputOf(spec.name));
  const size_t columns = data_.train.records.num_features();
  if (input == models::ModelInput::kPupilRecords && columns != spec.num_features) {
    return InvalidArgumentError("this node's pupil records have " + std::to_string(columns) +
                                " columns but the run's model expects " +
                                std::to_string(spec.num_features));
  }
  CARTABLE_ASSIGN_OR_RETURN(model_, models::CreateModel(model_spec));
  return Status::Ok();
}

std::vector<std::string> NodeSession::Disowned(const protocol::SecAggPlan& plan) const {
  std::vector<aggregation::secagg::CohortMember> cohort;
  cohort.reserve(plan.cohort.size());
  for (const protocol::CohortMember& m : plan.cohort) {
    if (m.name != name_) cohort.push_back({m.name, m.signing_key});
  }
  return aggregation::secagg::MembersAgainstRoster(cohort, security_.policy);
}

Status NodeSession::Declines(const protocol::TrainRequest& request) const {
  CARTABLE_RETURN_IF_ERROR(security_.plan_policy.Check(request, data_.train.num_pupils()));
  if (request.secagg.enabled == 0 && !security_.allow_plain_updates) {
    return PermissionDeniedError(
        "this node sends its update only under secure aggregation, and the round asks for it in "
        "the clear");
  }
  return Status::Ok();
}

namespace {

// What a run asks of one unit's budget before a training: `epsilon_of(n)`, the ε of its first n
// trainings, for `trainings` of them (`total`, computed once), against a yearly cap (0: none).
struct BudgetAsk {
  PrivacyUnit unit;
  uint32_t trainings;
  double delta;
  double yearly_cap;
  std::function<StatusOr<double>(uint32_t)> epsilon_of;
  double total = 0;
};

// The ε to record for `ask` (nullopt: covered already), or PERMISSION_DENIED when it would break
// the yearly cap or the run's parameters changed since they were charged.
StatusOr<std::optional<double>> StillOwed(const PrivacyLedger& ledger, uint64_t run_id,
                                          const std::string& plan, uint32_t attempt,
                                          const BudgetAsk& ask) {
  const char* who = ask.unit == PrivacyUnit::kPupil ? "each pupil" : "the establishment";
  const PrivacyLedger::RunCharge charged = ledger.Charged(run_id, plan, ask.unit);
  if (charged.trainings > 0) {
    CARTABLE_ASSIGN_OR_RETURN(const double covered, ask.epsilon_of(charged.trainings));
    if (covered > charged.epsilon * (1 + 1e-9)) {
      return PermissionDeniedError(
          "the run's privacy parameters changed since the node agreed to "
          "it (ε " +
          NumberText(charged.epsilon) + " charged to " + who + ", " + NumberText(covered) +
          " now)");
    }
    if (attempt <= charged.trainings) return std::optional<double>();
  }
  const double more = std::max(0.0, ask.total - charged.epsilon);
  const std::string year = ledger.CurrentSchoolYear();
  const double spent = ledger.SpentIn(year, ask.unit);
  if (ask.yearly_cap > 0 && !(spent + more <= ask.yearly_cap)) {
    return PermissionDeniedError(
        "the policy of this establishment allows ε up to " + NumberText(ask.yearly_cap) +
        " per school year for " + who + "; " + NumberText(spent, 3) + " of " + year +
        " is spent, and this run would cost " + who + " ε = " + NumberText(more, 3) +
        " more at δ = " + NumberText(ask.delta));
  }
  return std::optional<double>(more);
}

}  // namespace

Status NodeSession::ChargePrivacy(const protocol::TrainRequest& request, uint64_t run_id,
                                  uint32_t attempt) {
  const PlanPolicy& policy = security_.plan_policy;
  // Trainings in a run are at most its attempt number (a node trains once an attempt), so charging
  // for max(rounds, attempt) never counts fewer trainings than took place, even across a restart.
  std::vector<BudgetAsk> asks;
  if (request.dp.enabled != 0) {
    CARTABLE_RETURN_IF_ERROR(exchange::CheckPupilDp(request.dp));
    const uint32_t epochs = request.config.local_epochs;
    BudgetAsk pupil{PrivacyUnit::kPupil, std::max(request.dp.rounds, attempt), request.dp.delta,
                    policy.max_epsilon_per_year, [&](uint32_t n) -> StatusOr<double> {
                      CARTABLE_ASSIGN_OR_RETURN(const aggregation::privacy::Epsilon e,
                                                exchange::RunEpsilon(request.dp, epochs, n));
                      return e.epsilon;
                    }};
    CARTABLE_ASSIGN_OR_RETURN(pupil.total, pupil.epsilon_of(pupil.trainings));
    const double total = pupil.total;
    if (policy.max_epsilon_per_run > 0 && !(total <= policy.max_epsilon_per_run)) {
      return PermissionDeniedError("the policy of this establishment allows ε up to " +
                                   NumberText(policy.max_epsilon_per_run) + " per run; " +
                                   std::to_string(pupil.trainings) +
                                   " trainings would cost each pupil ε = " + NumberText(total, 3) +
                                   " at δ = " + NumberText(request.dp.delta));
    }
    asks.push_back(std::move(pupil));
  }
  if (request.establishment_dp.enabled != 0 && request.secagg.enabled != 0) {
    CARTABLE_ASSIGN_OR_RETURN(
        const exchange::ContributionLayout layout,
        exchange::ContributionLayout::For(request.global_parameters.size(), request.contribution));
    const size_t cohort = request.secagg.cohort.size();
    BudgetAsk establishment{
        PrivacyUnit::kEstablishment, std::max(request.establishment_dp.rounds, attempt),
        request.establishment_dp.delta, policy.max_establishment_epsilon_per_year,
        [&, layout, cohort](uint32_t n) -> StatusOr<double> {
          CARTABLE_ASSIGN_OR_RETURN(
              const aggregation::privacy::Epsilon e,
              exchange::EstablishmentEpsilon(request.establishment_dp, layout, cohort, n));
          return e.epsilon;
        }};
    CARTABLE_ASSIGN_OR_RETURN(establishment.total,
                              establishment.epsilon_of(establishment.trainings));
    asks.push_back(std::move(establishment));
  }
  if (asks.empty()) return Status::Ok();
  PrivacyLedger* ledger = security_.ledger.get();
  if (ledger == nullptr) {
    if (policy.max_epsilon_per_year > 0 || policy.max_establishment_epsilon_per_year > 0) {
      return PermissionDeniedError(
          "the policy of this establishment caps ε per school year, and this node keeps no "
          "privacy ledger");
    }
    return Status::Ok();
  }
  // Every budget is checked before any is charged: a run declined for one is charged to none.
  const std::string plan = PlanHashHex(request.plan_hash);
  std::vector<std::optional<double>> owed;
  for (const BudgetAsk& ask : asks) {
    CARTABLE_ASSIGN_OR_RETURN(std::optional<double> more,
                              StillOwed(*ledger, run_id, plan, attempt, ask));
    owed.push_back(more);
  }
  for (size_t i = 0; i < asks.size(); ++i) {
    if (!owed[i]) continue;
    StatusOr<LedgerEntry> entry =
        ledger->Record(run_id, plan, asks[i].trainings, *owed[i], asks[i].delta, asks[i].unit);
    if (!entry.ok()) return entry.status().WithContext("charging the run to the privacy ledger");
    spdlog::info(
        "run {:016x}: charged ε = {} per {} at δ = {} for {} training(s) to school year {} ({} "
        "spent now)",
        run_id, NumberText(entry->epsilon), PrivacyUnitName(asks[i].unit), NumberText(entry->delta),
        asks[i].trainings, entry->school_year,
        NumberText(ledger->SpentIn(entry->school_year, asks[i].unit), 3));
  }
  return Status::Ok();
}

StatusOr<protocol::Body> NodeSession::Train(const protocol::TrainRequest& request, uint32_t round) {
  dp_min_contributors_ =
      request.establishment_dp.enabled != 0 ? request.establishment_dp.min_contributors : 0;
  if (request.secagg.enabled != 0) {
    secure_.reset();
    secure_request_ = request;
    // Training needs no cohort, and a member of thousands would hold one for nothing (the secure
    // client keeps its own).
    secure_request_->secagg.cohort.clear();
    secure_request_->secagg.cohort.shrink_to_fit();
    secure_round_ = round;
    secure_stage_ = protocol::Stage::kAdvertiseKeys;
    protocol::Body advert;
    auto trainer = [this, round]() { return TrainLocally(*secure_request_, round); };
    CARTABLE_ASSIGN_OR_RETURN(
        secure_, StartSecureTraining(request, *run_id_, round, name_, *security_.identity,
                                     security_.policy, trainer, &advert));
    return advert;
  }
  CARTABLE_ASSIGN_OR_RETURN(
      exchange::ContributionLayout layout,
      exchange::ContributionLayout::For(request.global_parameters.size(), request.contribution));
  CARTABLE_ASSIGN_OR_RETURN(exchange::LocalUpdate update, TrainLocally(request, round));
  exchange::PackNotes notes;
  CARTABLE_ASSIGN_OR_RETURN(std::vector<float> packed, layout.Pack(update, &notes));
  LogPackNotes(notes, layout);
  return protocol::Body(protocol::TrainResult{std::move(packed)});
}

StatusOr<exchange::LocalUpdate> NodeSession::TrainLocally(const protocol::TrainRequest& request,
                                                          uint32_t round) {
  CARTABLE_RETURN_IF_ERROR(EnsureModel(request.model));
  CARTABLE_RETURN_IF_ERROR(model_->SetParameters(request.global_parameters));
  if (TrainingSize() == 0) return FailedPreconditionError("this node has no training pupil");
  if (!(request.proximal_mu >= 0) || !std::isfinite(request.proximal_mu)) {
    return InvalidArgumentError(
        "the round asks for a proximal term μ = " + std::to_string(request.proximal_mu) +
        "; it must be finite and at least 0");
  }
  models::TrainOptions options;
  options.proximal_mu = request.proximal_mu;
  options.epochs = static_cast<int>(request.config.local_epochs);
  options.batch_size = static_cast<int>(request.config.batch_size);
  options.learning_rate = request.config.learning_rate;
  options.seed = LocalTrainingSeed(request.config.seed, round, name_);
  if (request.dp.enabled != 0) {
    CARTABLE_RETURN_IF_ERROR(exchange::CheckPupilDp(request.dp));
    options.dp = exchange::PupilDpOf(request.dp);
  }
  CARTABLE_ASSIGN_OR_RETURN(models::TrainReport report, model_->Train(data_.train, options));
  std::vector<float> local = model_->GetParameters();
  exchange::LocalUpdate update;
  update.delta.resize(local.size());
  for (size_t i = 0; i < local.size(); ++i)
    update.delta[i] = local[i] - request.global_parameters[i];
  update.examples = static_cast<double>(report.examples);
  update.loss = report.mean_loss;
  if (options.dp) {
    // What leaves the node beside the DP model delta is public at the establishment level: its
    // count of pupils as the weight, and no training loss (it is not covered by the guarantee).
    update.examples = static_cast<double>(report.pupils);
    update.loss = 0;
  }
  if (options.dp) {
    spdlog::info(
        "round {}: trained with DP-SGD per pupil on {} pupils ({} examples), noise "
        "multiplier {}, clip {}",
        round, report.pupils, report.examples, NumberText(request.dp.noise_multiplier),
        NumberText(request.dp.clip_norm));
  } else {
    spdlog::info("round {}: trained on {} examples, loss {:.4f}", round, report.examples,
                 report.mean_loss);
  }
  return update;
}

StatusOr<protocol::Body> NodeSession::Evaluate(const protocol::EvaluateRequest& request,
                                               uint32_t round) {
  if (Status groups = CheckGroups(request); !groups.ok()) return groups;
  if (request.secagg.enabled == 0 && !security_.allow_plain_updates) {
    return PermissionDeniedError(
        "this node sends its evaluation statistics only under secure aggregation, and the round "
        "asks for them in the clear");
  }
  if (!trained_ || trained_->first != *run_id_ || trained_->second != round) {
    return FailedPreconditionError(
        "this node evaluates only after training in the same round, and "
        "it took no part in round " +
        std::to_string(round) + "'s training");
  }
  if (!SameModel(request.model, trained_model_)) {
    return PermissionDeniedError(
        "the evaluation asks for model '" + request.model.name +
        "' with other settings than the model this node trained in round " + std::to_string(round));
  }
  if (evaluated_run_ != *run_id_) {
    evaluated_run_ = *run_id_;
    evaluated_.clear();
  }
  if (!evaluated_.insert(exchange::ModelHash(request.parameters)).second) {
    return PermissionDeniedError(
        "this node has already evaluated these parameters in this run: a second sum over another "
        "cohort could single out one school's figures");
  }
  if (request.secagg.enabled != 0) {
    secure_.reset();
    secure_request_.reset();
    secure_round_ = round;
    secure_stage_ = protocol::Stage::kAdvertiseKeys;
    protocol::Body advert;
    // The evaluation needs no cohort, and a member of thousands would hold one for nothing.
    protocol::EvaluateRequest to_evaluate = request;
    to_evaluate.secagg.cohort.clear();
    to_evaluate.secagg.cohort.shrink_to_fit();
    auto evaluator = [this, to_evaluate = std::move(to_evaluate), round]() {
      return EvaluateLocally(to_evaluate, round);
    };
    // The sum of the evaluation keeps the floor the run's establishment-level DP sets on the
    // training's: no fewer contributors than the noise was planned for.
    aggregation::secagg::ClientPolicy policy = security_.policy;
    policy.min_cohort = std::max<size_t>(policy.min_cohort, dp_min_contributors_);
    CARTABLE_ASSIGN_OR_RETURN(
        secure_, StartSecureEvaluation(request, *run_id_, round, name_, *security_.identity, policy,
                                       evaluator, &advert));
    return advert;
  }
  CARTABLE_ASSIGN_OR_RETURN(models::EvaluationStatistics s, EvaluateLocally(request, round));
  return protocol::Body(exchange::ToWire(std::move(s)));
}

StatusOr<models::EvaluationStatistics> NodeSession::EvaluateLocally(
    const protocol::EvaluateRequest& request, uint32_t round) {
  CARTABLE_RETURN_IF_ERROR(EnsureModel(request.model));
  CARTABLE_RETURN_IF_ERROR(model_->SetParameters(request.parameters));
  if (models::Labels(data_.test, model_->input()).empty())
    return FailedPreconditionError("this node has no held-out pupil");
  CARTABLE_ASSIGN_OR_RETURN(std::vector<float> scores, model_->Predict(data_.test));
  const std::vector<models::Attribute> attributes = exchange::AttributesOf(request.groups);
  static const models::PupilAttributes kNone;
  CARTABLE_ASSIGN_OR_RETURN(
      models::EvaluationStatistics s,
      models::EvaluationStatistics::Of(scores, data_.test, model_->input(), attributes,
                                       attributes_ ? *attributes_ : kNone));
  const models::SummableMetrics& m = s.all.metrics;
  const auto auc = m.Auc();
  spdlog::info(
      "round {}: evaluated on {} held-out answers here, AUC {} (this school's figures stay here)",
      round, s.all.metrics.count, auc.ok() ? NumberText(*auc, 4) : "undefined");
  auto figure = [](const StatusOr<double>& v) {
    return v.ok() ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  nlohmann::ordered_json report = {{"run_id", *run_id_},
                                   {"round", round},
                                   {"model", request.model.name},
                                   {"answers", m.count},
                                   {"pupils", s.all.pupils},
                                   {"auc", figure(auc)},
                                   {"auc_bound", figure(m.AucBinningBound())},
                                   {"accuracy", figure(m.Accuracy())},
                                   {"log_loss", figure(m.LogLoss())},
                                   {"rmse", figure(m.Rmse())},
                                   {"calibration_error", figure(m.CalibrationError())}};
  if (!attributes.empty()) {
    const models::FairnessTable table =
        models::BuildFairnessTable(attributes, s, std::max<uint64_t>(request.min_group_pupils, 1));
    report["fairness"] = models::FairnessTableJson(table);
    for (const models::FairnessRow& row : table.rows) {
      if (row.suppressed) {
        spdlog::info(
            "round {}: {} = {}: suppressed here (fewer than {} pupils, or to protect such "
            "a subgroup)",
            round, row.attribute, row.value, table.min_group_pupils);
      } else {
        spdlog::info("round {}: {} = {}: {} pupils, {} answers, AUC {}", round, row.attribute,
                     row.value, row.pupils, row.answers,
                     row.auc ? NumberText(*row.auc, 4) : "undefined");
      }
    }
  }
  if (report_) report_({"evaluated_here", std::move(report)});
  return s;
}

Status NodeSession::CheckGroups(const protocol::EvaluateRequest& request) const {
  const std::vector<models::Attribute> attributes = exchange::AttributesOf(request.groups);
  if (Status checked = models::CheckAttributes(attributes); !checked.ok())
    return checked.WithContext("the subgroups the evaluation asks for");
  // The subgroups of each attribute must hold every held-out pupil: the coordinator unmasks each
  // subgroup's sum, and "all minus the listed subgroups" would be this school's pupils with none
  // (and only theirs, when no other school has such pupils).
  for (const models::Attribute& attribute : attributes) {
    static const models::PupilAttributes kNone;
    const models::PupilAttributes& held = attributes_ ? *attributes_ : kNone;
    const auto known = held.find(attribute.name);
    if (known == held.end()) {
      return PermissionDeniedError("the evaluation is broken down by '" +
                                   Printable(attribute.name, 64) +
                                   "', which this node does not hold for its pupils (cartable node "
                                   "--attributes): a school outside the breakdown would be all "
                                   "minus it, so this node takes no part in it");
    }
    const std::set<std::string> listed(attribute.values.begin(), attribute.values.end());
    size_t outside = 0;
    for (const std::string& key : data_.test.pupil_keys) {
      const auto value = known->second.find(key);
      if (value == known->second.end() || !listed.contains(value->second)) outside += 1;
    }
    if (outside > 0) {
      return PermissionDeniedError(
          std::to_string(outside) + " of this school's held-out pupils have a '" +
          Printable(attribute.name, 64) +
          "' value the run does not list (or none): a breakdown would single them out, so this "
          "node takes no part in it");
    }
  }
  return Status::Ok();
}

}  // namespace cartable::node
