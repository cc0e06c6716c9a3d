#include "simulations/baselines.h"

#include "models/metrics.h"

namespace cartable::simulations {

StatusOr<Scores> ScoresOf(std::span<const float> p, std::span<const uint8_t> y) {
  Scores s;
  CARTABLE_ASSIGN_OR_RETURN(s.auc, models::Auc(p, y));
  CARTABLE_ASSIGN_OR_RETURN(s.accuracy, models::Accuracy(p, y));
  CARTABLE_ASSIGN_OR_RETURN(s.log_loss, models::LogLoss(p, y));
  CARTABLE_ASSIGN_OR_RETURN(s.rmse, models::Rmse(p, y));
  s.answers = y.size();
  return s;
}

StatusOr<Scores> Evaluate(const models::Model& model, const models::InteractionLog& test) {
  CARTABLE_ASSIGN_OR_RETURN(std::vector<float> p, model.Predict(test));
  return ScoresOf(p, models::Labels(test, model.input()));
}

StatusOr<Scores> EvaluateParameters(const models::ModelSpec& spec,
                                    const std::vector<float>& parameters,
                                    const models::InteractionLog& test) {
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> model, models::CreateModel(spec));
  CARTABLE_RETURN_IF_ERROR(model->SetParameters(parameters));
  return Evaluate(*model, test);
}

StatusOr<Scores> TrainAndEvaluate(const models::ModelSpec& spec,
                                  const models::TrainOptions& options,
                                  const models::InteractionLog& train,
                                  const models::InteractionLog& test) {
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> model, models::CreateModel(spec));
  CARTABLE_RETURN_IF_ERROR(model->Train(train, options).status());
  return Evaluate(*model, test);
}

}  // namespace cartable::simulations
