// `cartable train`: the centralised baseline — one model trained on one dataset, the reference
// every federated result is compared with. Answer models (knowledge tracing) count answers; records
// models (early warning) count pupil records. Progress on stderr; results on stdout; the model as
// safetensors with a JSON model card beside it. Settings come from flags, or a TOML file (--config)
// the flags override.

#include <toml++/toml.h>

#include <charconv>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "aggregation/privacy/rdp_accountant.h"
#include "cli/command.h"
#include "core/files.h"
#include "core/logging.h"
#include "exchange/pupil_dp_wire.h"
#include "ingest/formats.h"
#include "models/model_file.h"
#include "simulations/baselines.h"

namespace cartable::cli {
namespace {

struct TrainCommandOptions {
  std::string model = "pfa";
  std::vector<std::string> option_flags;  // KEY=VALUE
  std::map<std::string, std::string> options;
  std::string config;
  std::string data;
  std::string test;
  int epochs = 10;
  int batch_size = 64;
  double learning_rate = 0.05;
  double test_fraction = 0.2;
  double validation_fraction = 0;
  uint64_t seed = 1;
  std::string out;
  bool json = false;
  // DP-SGD per pupil: on when a target ε or a noise multiplier is given.
  double target_epsilon = 0;
  double noise_multiplier = 0;
  double clip_norm = 1;
  double sampling_rate = 0.01;
  double delta = 1e-5;
  bool pupil_dp() const { return target_epsilon > 0 || noise_multiplier > 0; }
};

// A TOML scalar as the text ModelOptions parses.
std::optional<std::string> OptionText(const toml::node& value) {
  if (auto s = value.value_exact<std::string>()) return *s;
  if (auto b = value.value_exact<bool>()) return *b ? "true" : "false";
  if (auto i = value.value_exact<int64_t>()) return std::to_string(*i);
  if (auto d = value.value_exact<double>()) {
    char buffer[64];
    auto end = std::to_chars(buffer, buffer + sizeof(buffer), *d).ptr;
    return std::string(buffer, end);
  }
  return std::nullopt;
}

// Reads [model] (name and options) and [training] from `path` into `o`, except what flags set.
Status ApplyConfig(const std::string& path, TrainCommandOptions& o, const GivenFlag& given) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return InvalidArgumentError(path + ":" + std::to_string(e.source().begin.line) + ": " +
                                std::string(e.description()));
  }
  auto bad = [&](const toml::key& key, const std::string& what) {
    return InvalidArgumentError(path + ":" + std::to_string(key.source().begin.line) + ": key '" +
                                std::string(key.str()) + "': " + what);
  };
  for (const auto& [key, node] : root) {
    if (key.str() != "model" && key.str() != "training")
      return bad(key, "unknown table (known: model, training)");
    if (!node.is_table()) return bad(key, "must be a table ([" + std::string(key.str()) + "])");
  }
  if (const toml::table* model = root["model"].as_table()) {
    for (const auto& [key, value] : *model) {
      auto text = OptionText(value);
      if (!text || (key.str() == "name" && !value.is_string())) {
        return bad(key, key.str() == "name" ? "expected a string"
                                            : "expected a string, number or boolean");
      }
      if (key.str() == "name") {
        if (!given("--model")) o.model = *text;
      } else {
        o.options[std::string(key.str())] = *text;
      }
    }
    // Each option of the file checked on its own, so that an error names its line.
    for (const auto& [key, value] : *model) {
      if (key.str() == "name" && !given("--model") && !models::InputOf(o.model).ok()) {
        return bad(key, models::InputOf(o.model).status().message());
      }
      if (key.str() == "name" || !models::InputOf(o.model).ok()) continue;
      models::ModelSpec probe{o.model, 1, 0, 1, {{std::string(key.str()), *OptionText(value)}}};
      if (auto checked = models::CreateModel(probe); !checked.ok())
        return bad(key, checked.status().message());
    }
  }
  const toml::table* training = root["training"].as_table();
  if (training == nullptr) return Status::Ok();
  for (const auto& [key, value] : *training) {
    const std::string name(key.str());
    const std::optional<int64_t> integer = value.value_exact<int64_t>();
    const std::optional<double> real = value.value<double>();  // integers too
    if (name == "epochs" || name == "batch_size" || name == "seed") {
      const int64_t max = name == "epochs" ? 100000 : name == "batch_size" ? (1 << 20) : INT64_MAX;
      const int64_t min = name == "seed" ? 0 : 1;
      if (!integer || *integer < min || *integer > max) {
        return bad(key, "expected an integer in [" + std::to_string(min) + ", " +
                            std::to_string(max) + "]");
      }
      if (name == "epochs" && !given("--epochs")) o.epochs = static_cast<int>(*integer);
      if (name == "batch_size" && !given("--batch-size")) o.batch_size = static_cast<int>(*integer);
      if (name == "seed" && !given("--seed")) o.seed = static_cast<uint64_t>(*integer);
    } else if (name == "learning_rate") {
      if (!real || !(*real > 0) || !std::isfinite(*real))
        return bad(key, "expected a positive number");
      if (!given("--learning-rate")) o.learning_rate = *real;
    } else if (name == "test_fraction") {
      if (!real || !(*real >= 0.01 && *real <= 0.99))
        return bad(key, "expected a number in [0.01, 0.99]");
      if (!given("--test-fraction")) o.test_fraction = *real;
    } else if (name == "validation_fraction") {
      if (!real || !(*real >= 0 && *real <= 0.9)) return bad(key, "expected a number in [0, 0.9]");
      if (!given("--validation-fraction")) o.validation_fraction = *real;
    } else {
      return bad(key,
                 "unknown key (known: epochs, batch_size, learning_rate, seed, test_fraction, "
                 "validation_fraction)");
    }
  }
  return Status::Ok();
}

Status ApplyOptionFlags(TrainCommandOptions& o) {
  return ParseModelOptions(o.option_flags, o.options);
}

nlohmann::json ScoresJson(const simulations::Scores& s) {
  return {{"auc", s.auc},
          {"accuracy", s.accuracy},
          {"log_loss", s.log_loss},
          {"rmse", s.rmse},
          {"answers", s.answers}};
}

StatusOr<models::PupilSplit> LoadSplit(const TrainCommandOptions& o) {
  auto data = ingest::LoadData(o.data);
  if (!data.ok()) return data.status().WithContext("--data");
  if (o.test.empty())
    return models::SplitByPupil(*data, o.test_fraction, o.seed, o.validation_fraction);
  auto test = ingest::LoadData(o.test);
  if (!test.ok()) return test.status().WithContext("--test");
  if (data->records.feature_names != test->records.feature_names) {
    return InvalidArgumentError("--data and --test have different pupil-record columns");
  }
  models::PupilSplit split = models::SplitByPupil(*data, 0, o.seed, o.validation_fraction);
  split.test = std::move(test).value();
  return split;
}

// What a run trains on: the split, what its examples are called, and how many of them a log holds.
struct TrainingData {
  models::PupilSplit split;
  bool records = false;  // early-warning models count pupil records, the others answers
  const char* unit() const { return records ? "records" : "answers"; }
  size_t Count(const models::InteractionLog& log) const {
    return records ? log.records.size() : log.size();
  }
};

StatusOr<TrainingData> LoadTrainingData(const TrainCommandOptions& o) {
  CARTABLE_ASSIGN_OR_RETURN(models::ModelInput input, models::InputOf(o.model));
  TrainingData data;
  data.records = input == models::ModelInput::kPupilRecords;
  CARTABLE_ASSIGN_OR_RETURN(data.split, LoadSplit(o));
  if (data.Count(data.split.train) == 0 || data.Count(data.split.test) == 0) {
    return InvalidArgumentError(std::string("the split left no ") + data.unit() +
                                " for training or for testing");
  }
  return data;
}

// The model over the spaces of both sides of the split; every side then shares its skill space.
StatusOr<std::unique_ptr<models::Model>> CreateModelFor(const TrainCommandOptions& o,
                                                        models::PupilSplit& split) {
  models::ModelSpec spec;
  spec.name = o.model;
  spec.options = o.options;
  spec.num_skills = std::max(split.train.num_skills, split.test.num_skills);
  spec.num_items = std::max(split.train.num_items, split.test.num_items);
  spec.num_features = static_cast<uint32_t>(split.train.records.num_features());
  split.train.num_skills = split.test.num_skills = split.validation.num_skills = spec.num_skills;
  return models::CreateModel(spec);
}

// DP-SGD's parameters and what the training costs each pupil: the noise multiplier given, or the
// smallest one whose ε meets --target-epsilon. Null without DP-SGD.
StatusOr<nlohmann::json> ResolvePupilDp(TrainCommandOptions& o) {
  if (!o.pupil_dp()) return nlohmann::json();
  const auto steps = static_cast<uint64_t>(models::PupilDpSteps(o.epochs, o.sampling_rate));
  aggregation::privacy::Epsilon cost;
  if (o.target_epsilon > 0) {
    auto found =
        aggregation::privacy::NoiseMultiplierFor(o.target_epsilon, o.sampling_rate, steps, o.delta);
    if (!found.ok()) return found.status().WithContext("--target-epsilon");
    o.noise_multiplier = found->noise_multiplier;
    cost = found->reached;
  } else {
    CARTABLE_ASSIGN_OR_RETURN(cost, aggregation::privacy::DpSgdEpsilon(
                                        o.sampling_rate, o.noise_multiplier, steps, o.delta));
  }
  std::fprintf(stderr,
               "DP-SGD per pupil: %llu steps at sampling rate %g, clip %g, noise multiplier %.4g: "
               "ε = %.3g at δ = %g\n",
               static_cast<unsigned long long>(steps), o.sampling_rate, o.clip_norm,
               o.noise_multiplier, cost.epsilon, o.delta);
  const protocol::WirePupilDp dp{.enabled = 1,
                                 .noise_multiplier = o.noise_multiplier,
                                 .clip_norm = o.clip_norm,
                                 .sampling_rate = o.sampling_rate,
                                 .delta = o.delta,
                                 .rounds = 1};
  return exchange::PupilDpReport(dp, steps, cost);
}

// Progress on stderr after each epoch, with the validation pupils' AUC when there are any.
models::TrainOptions TrainingOptions(const TrainCommandOptions& o, const models::Model& model,
                                     const TrainingData& data) {
  models::TrainOptions options;
  options.epochs = o.epochs;
  options.batch_size = o.batch_size;
  options.learning_rate = o.learning_rate;
  options.seed = o.seed;
  if (o.pupil_dp()) {
    options.dp = models::PupilDp{.noise_multiplier = o.noise_multiplier,
                                 .clip_norm = o.clip_norm,
                                 .sampling_rate = o.sampling_rate,
                                 .secret_seed = 0};  // drawn from the OS: the noise stays secret
  }
  options.on_epoch = [&o, &model, &data](int epoch, double loss) {
    std::string validation;
    if (data.Count(data.split.validation) > 0) {
      auto scores = simulations::Evaluate(model, data.split.validation);
      if (scores.ok()) validation = "  validation AUC " + std::to_string(scores->auc).substr(0, 6);
    }
    std::fprintf(stderr, "epoch %3d/%d  train loss %.4f%s\n", epoch, o.epochs, loss,
                 validation.c_str());
  };
  return options;
}

// The trained model's scores on each side of the split, as --json prints them.
StatusOr<nlohmann::json> ScoreSides(const models::Model& model, const TrainingData& data) {
  struct Side {
    const char* name;  // in --json
    const char* set;   // in an error
    const models::InteractionLog& log;
  };
  const models::PupilSplit& split = data.split;
  nlohmann::json scores;
  for (const Side& side : {Side{"train", "training", split.train}, Side{"test", "test", split.test},
                           Side{"validation", "validation", split.validation}}) {
    if (&side.log == &split.validation && data.Count(side.log) == 0) continue;
    auto scored = simulations::Evaluate(model, side.log);
    if (!scored.ok()) {
      return scored.status().WithContext(std::string("scoring the ") + side.set + " set");
    }
    scores[side.name] = ScoresJson(*scored);
  }
  return scores;
}

Status WriteModel(const TrainCommandOptions& o, const models::Model& model,
                  const TrainingData& data, const nlohmann::json& scores) {
  const models::PupilSplit& split = data.split;
  models::ModelCard card;
  card.training = {
      {"epochs", o.epochs}, {"batch_size", o.batch_size}, {"learning_rate", o.learning_rate},
      {"seed", o.seed},     {"optimizer", "adam"},        {"setting", "centralised"}};
  card.data = {{"train_pupils", split.train.num_pupils()},
               {"train_answers", data.Count(split.train)},
               {"test_pupils", split.test.num_pupils()},
               {"test_answers", data.Count(split.test)},
               {"unit", data.unit()},
               {"split", o.test.empty() ? "by pupil, seeded" : "given test file"}};
  if (!scores["privacy"].is_null()) card.training["privacy"] = scores["privacy"];
  if (data.records) card.data["columns"] = split.train.records.feature_names;
  card.metrics = {{"train", scores["train"]}, {"test", scores["test"]}};
  return models::WriteModelFile(o.out, model.spec(), model.GetParameters(), card);
}

Status Train(TrainCommandOptions& o, const GivenFlag& given) {
  CARTABLE_RETURN_IF_ERROR(SetupLogging("warn", "train"));
  if (!o.config.empty()) {
    CARTABLE_RETURN_IF_ERROR(ApplyConfig(o.config, o, given).WithContext("--config"));
  }
  CARTABLE_RETURN_IF_ERROR(ApplyOptionFlags(o));
  CARTABLE_ASSIGN_OR_RETURN(TrainingData data, LoadTrainingData(o));
  models::PupilSplit& split = data.split;
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> model, CreateModelFor(o, split));
  CARTABLE_ASSIGN_OR_RETURN(const nlohmann::json privacy, ResolvePupilDp(o));
  std::fprintf(stderr, "training %s on %zu %s of %zu pupils; testing on %zu %s of %zu pupils\n",
               o.model.c_str(), data.Count(split.train), data.unit(), split.train.num_pupils(),
               data.Count(split.test), data.unit(), split.test.num_pupils());
  CARTABLE_ASSIGN_OR_RETURN(models::TrainReport report,
                            model->Train(split.train, TrainingOptions(o, *model, data)));
  CARTABLE_ASSIGN_OR_RETURN(nlohmann::json result, ScoreSides(*model, data));
  result["model"] = o.model;
  result["epochs"] = o.epochs;
  result["final_train_loss"] = report.mean_loss;
  result["privacy"] = privacy;
  if (!o.out.empty()) {
    CARTABLE_RETURN_IF_ERROR(WriteModel(o, *model, data, result));
    result["model_file"] = o.out;
    result["model_card"] = models::ModelCardPath(o.out).string();
    std::fprintf(stderr, "wrote %s and %s\n", o.out.c_str(), models::ModelCardPath(o.out).c_str());
  }
  if (o.json) {
    std::cout << result.dump(2) << std::endl;
  } else {
    std::printf("test AUC %.4f  accuracy %.4f  log-loss %.4f  (%zu %s)",
                result["test"]["auc"].get<double>(), result["test"]["accuracy"].get<double>(),
                result["test"]["log_loss"].get<double>(), result["test"]["answers"].get<size_t>(),
                data.unit());
    if (o.pupil_dp()) {
      std::printf("  with DP-SGD: ε = %.3g at δ = %g", privacy["epsilon"].get<double>(), o.delta);
    }
    std::printf("\n");
  }
  return Status::Ok();
}

int Run(TrainCommandOptions& o, const GivenFlag& given) {
  const Status trained = Train(o, given);
  return trained.ok() ? kExitOk : ReportFailure(trained);
}

std::string ModelHelp() {
  std::string help = "Model to train:";
  for (const auto& [name, description] : models::KnownModels()) {
    help += "\n  ";
    help += name;
    help += ": ";
    help += description;
  }
  return help;
}

}  // namespace

Runner AddTrainCommand(CLI::App& app) {
  auto o = std::make_shared<TrainCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train one model on one dataset: the centralised baseline federated runs are compared with.\n"
      "Progress goes to stderr; the test metrics to stdout (--json for all of them as JSON).");
  cmd->add_option("--model", o->model, ModelHelp())->default_val("pfa");
  cmd->add_option("--option", o->option_flags,
                  "Model hyperparameter KEY=VALUE, repeatable (e.g. --option hidden_size=64)");
  cmd->add_option(
      "--config", o->config,
      "TOML file: [model] name and options, [training] epochs, batch_size, learning_rate,\n"
      "seed, test_fraction, validation_fraction; flags given on the command line override it");
  cmd->add_option(
         "--data", o->data,
         "Training data as FORMAT:PATH, e.g. csv:answers.csv or oulad:data/oulad?cutoff=60\n"
         "(formats: docs/data-formats.md)")
      ->required();
  cmd->add_option("--test", o->test,
                  "Test data as FORMAT:PATH; default: hold out pupils of --data");
  cmd->add_option("--test-fraction", o->test_fraction,
                  "Share of pupils held out when there is no --test")
      ->default_val(0.2)
      ->check(CLI::Range(0.01, 0.99));
  cmd->add_option(
         "--validation-fraction", o->validation_fraction,
         "Share of pupils held out for validation (its AUC after each epoch, and \"validation\"\n"
         "in --json); the test pupils stay the same")
      ->default_val(0)
      ->check(CLI::Range(0.0, 0.9));
  cmd->add_option("--epochs", o->epochs, "Passes over the training data")
      ->default_val(10)
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--batch-size", o->batch_size, "Minibatch size")
      ->default_val(64)
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--learning-rate", o->learning_rate, "Adam step size")
      ->default_val(0.05)
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "Seed of the split and of the example order")->default_val(1);
  cmd->add_option("--out", o->out,
                  "Write the model as safetensors here, and its card as OUT.card.json");
  cmd->add_flag("--json", o->json, "Print the final metrics as JSON (test metrics under \"test\")");
  auto* target = cmd->add_option(
      "--target-epsilon", o->target_epsilon,
      "Train with DP-SGD per pupil (docs/privacy.md), with the least noise whose ε per pupil,\n"
      "by the RDP accountant, is at most this at --delta");
  target->check(CLI::PositiveNumber);
  auto* noise =
      cmd->add_option("--noise-multiplier", o->noise_multiplier,
                      "Train with DP-SGD per pupil at this noise multiplier (the noise's\n"
                      "standard deviation over --clip-norm); prints the ε it costs");
  noise->check(CLI::Range(0.1, 1000.0));
  target->excludes(noise);
  noise->excludes(target);
  cmd->add_option("--clip-norm", o->clip_norm,
                  "DP-SGD: the L2 bound each pupil's gradient is scaled down to")
      ->default_val(1.0)
      ->check(CLI::Range(1e-6, 1e6));
  cmd->add_option("--sampling-rate", o->sampling_rate,
                  "DP-SGD: each pupil's chance of being drawn at a step; the training is\n"
                  "ceil(epochs / rate) steps (--batch-size is not used)")
      ->default_val(0.01)
      ->check(CLI::Range(1e-6, 1.0));
  cmd->add_option("--delta", o->delta, "DP-SGD: the δ of the (ε, δ) guarantee")
      ->default_val(1e-5)
      ->check(CLI::Range(1e-12, 0.1));
  cmd->footer(
      "Examples:\n"
      "  cartable train --data csv:answers.csv --epochs 20 --out pfa.safetensors --json\n"
      "  cartable train --model mlp --option hidden_size=64 --data oulad:data/oulad --json\n"
      "  cartable train --model logistic --data oulad:data/oulad --target-epsilon 2 \\\n"
      "      --sampling-rate 0.05 --epochs 5     # DP-SGD per pupil, ε ≤ 2 at δ = 1e-5");
  return
      [o, cmd] { return Run(*o, [cmd](const std::string& flag) { return cmd->count(flag) > 0; }); };
}

}  // namespace cartable::cli
