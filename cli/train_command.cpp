// `cartable train`: the centralised baseline — one model trained on one dataset, the reference every
// federated result is compared with. Progress on stderr; results on stdout; the model as safetensors with
// a JSON model card beside it.

#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "core/files.h"
#include "core/logging.h"
#include "core/version.h"
#include "models/safetensors.h"
#include "node/csv_source.h"
#include "simulations/baselines.h"

namespace cartable::cli {
namespace {

struct TrainCommandOptions {
  std::string model = "pfa";
  std::string data;
  std::string test;
  int epochs = 10;
  int batch_size = 64;
  double learning_rate = 0.05;
  double test_fraction = 0.2;
  uint64_t seed = 1;
  std::string out;
  bool json = false;
};

nlohmann::json ScoresJson(const simulations::Scores& s) {
  return {{"auc", s.auc}, {"accuracy", s.accuracy}, {"log_loss", s.log_loss}, {"rmse", s.rmse},
          {"answers", s.answers}};
}

std::string Today() {
  char buffer[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d", std::gmtime(&now));
  return buffer;
}

int Run(const TrainCommandOptions& o) {
  if (Status s = SetupLogging("warn", "train"); !s.ok()) return ReportFailure(s);
  auto data = node::LoadData(o.data);
  if (!data.ok()) return ReportFailure(data.status().WithContext("--data"));
  models::PupilSplit split;
  if (o.test.empty()) {
    split = models::SplitByPupil(*data, o.test_fraction, o.seed);
  } else {
    auto test = node::LoadData(o.test);
    if (!test.ok()) return ReportFailure(test.status().WithContext("--test"));
    split.train = std::move(data).value();
    split.test = std::move(test).value();
  }
  if (split.train.size() == 0 || split.test.size() == 0) {
    return ReportFailure(InvalidArgumentError("the split left no answer for training or for testing"));
  }
  models::ModelSpec spec;
  spec.name = o.model;
  spec.num_skills = std::max(split.train.num_skills, split.test.num_skills);
  split.train.num_skills = split.test.num_skills = spec.num_skills;
  auto model = models::CreateModel(spec);
  if (!model.ok()) return ReportFailure(model.status());

  models::TrainOptions options;
  options.epochs = o.epochs;
  options.batch_size = o.batch_size;
  options.learning_rate = o.learning_rate;
  options.seed = o.seed;
  options.on_epoch = [&](int epoch, double loss) {
    std::fprintf(stderr, "epoch %3d/%d  train loss %.4f\n", epoch, o.epochs, loss);
  };
  std::fprintf(stderr, "training %s on %zu answers of %zu pupils; testing on %zu answers of %zu pupils\n",
               o.model.c_str(), split.train.size(), split.train.num_pupils(), split.test.size(),
               split.test.num_pupils());
  auto report = (*model)->Train(split.train, options);
  if (!report.ok()) return ReportFailure(report.status());
  auto train_scores = simulations::Evaluate(**model, split.train);
  auto test_scores = simulations::Evaluate(**model, split.test);
  if (!train_scores.ok()) return ReportFailure(train_scores.status().WithContext("scoring the training set"));
  if (!test_scores.ok()) return ReportFailure(test_scores.status().WithContext("scoring the test set"));

  nlohmann::json result = {{"model", o.model},
                           {"train", ScoresJson(*train_scores)},
                           {"test", ScoresJson(*test_scores)},
                           {"epochs", o.epochs},
                           {"final_train_loss", report->mean_loss}};
  if (!o.out.empty()) {
    const auto layout = (*model)->parameter_layout();
    const auto tensors = models::SplitByLayout((*model)->GetParameters(), layout);
    Status written = models::WriteSafetensors(
        o.out, tensors, {{"format", "pt"}, {"cartable.model", o.model},
                         {"cartable.num_skills", std::to_string(spec.num_skills)}});
    if (!written.ok()) return ReportFailure(written);
    nlohmann::json card = {
        {"model", {{"name", o.model}, {"num_skills", spec.num_skills}, {"parameters", (*model)->num_parameters()}}},
        {"training", {{"epochs", o.epochs}, {"batch_size", o.batch_size}, {"learning_rate", o.learning_rate},
                      {"seed", o.seed}, {"optimizer", "adam"}, {"setting", "centralised"}}},
        {"data", {{"train_pupils", split.train.num_pupils()}, {"train_answers", split.train.size()},
                  {"test_pupils", split.test.num_pupils()}, {"test_answers", split.test.size()},
                  {"split", o.test.empty() ? "by pupil, seeded" : "given test file"}}},
        {"metrics", {{"train", ScoresJson(*train_scores)}, {"test", ScoresJson(*test_scores)}}},
        {"produced_by", std::string("cartable ") + kVersion},
        {"date", Today()}};
    const std::string card_path = o.out + ".card.json";
    if (Status s = WriteFileAtomically(card_path, card.dump(2) + "\n"); !s.ok()) return ReportFailure(s);
    result["model_file"] = o.out;
    result["model_card"] = card_path;
    std::fprintf(stderr, "wrote %s and %s\n", o.out.c_str(), card_path.c_str());
  }
  if (o.json) {
    std::cout << result.dump(2) << std::endl;
  } else {
    std::printf("test AUC %.4f  accuracy %.4f  log-loss %.4f  (%zu answers)\n", test_scores->auc,
                test_scores->accuracy, test_scores->log_loss, static_cast<size_t>(test_scores->answers));
  }
  return kExitOk;
}

}  // namespace

Runner AddTrainCommand(CLI::App& app) {
  auto o = std::make_shared<TrainCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train one model on one dataset: the centralised baseline federated runs are compared with.\n"
      "Progress goes to stderr; the test metrics to stdout (--json for all of them as JSON).");
  cmd->add_option("--model", o->model, "Model to train (known: pfa)")->default_val("pfa");
  cmd->add_option("--data", o->data, "Training answers as FORMAT:PATH (csv)")->required();
  cmd->add_option("--test", o->test, "Test answers as FORMAT:PATH; default: hold out pupils of --data");
  cmd->add_option("--test-fraction", o->test_fraction, "Share of pupils held out when there is no --test")
      ->default_val(0.2)->check(CLI::Range(0.01, 0.99));
  cmd->add_option("--epochs", o->epochs, "Passes over the training answers")->default_val(10)
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--batch-size", o->batch_size, "Minibatch size")->default_val(64)->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--learning-rate", o->learning_rate, "Adam step size")->default_val(0.05)
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "Seed of the split and of the example order")->default_val(1);
  cmd->add_option("--out", o->out, "Write the model as safetensors here, and its card as OUT.card.json");
  cmd->add_flag("--json", o->json, "Print the final metrics as JSON (test metrics under \"test\")");
  cmd->footer("Example: cartable train --data csv:answers.csv --epochs 20 --out pfa.safetensors --json");
  return [o] { return Run(*o); };
}

}  // namespace cartable::cli
