// `cartable train`: the centralised baseline — one model trained on one dataset, the reference
// every federated result is compared with. Answer models (knowledge tracing) count answers; records
// models (early warning) count pupil records. Progress on stderr; results on stdout; the model as
// safetensors with a JSON model card beside it. Settings come from flags, or a TOML file (--config)
// the flags override.

#include <toml++/toml.h>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "core/files.h"
#include "core/logging.h"
#include "core/version.h"
#include "ingest/formats.h"
#include "models/safetensors.h"
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
};

using GivenFlag = std::function<bool(const std::string& flag)>;

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
      return bad(key, "unknown key (known: epochs, batch_size, learning_rate, seed, test_fraction, "
                      "validation_fraction)");
    }
  }
  return Status::Ok();
}

Status ApplyOptionFlags(TrainCommandOptions& o) {
  for (const std::string& flag : o.option_flags) {
    const size_t equals = flag.find('=');
    if (equals == std::string::npos || equals == 0) {
      return InvalidArgumentError("--option '" + flag +
                                  "': expected KEY=VALUE, e.g. hidden_size=64");
    }
    o.options[flag.substr(0, equals)] = flag.substr(equals + 1);
  }
  return Status::Ok();
}

nlohmann::json ScoresJson(const simulations::Scores& s) {
  return {{"auc", s.auc},
          {"accuracy", s.accuracy},
          {"log_loss", s.log_loss},
          {"rmse", s.rmse},
          {"answers", s.answers}};
}

std::string Today() {
  char buffer[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d", std::gmtime(&now));
  return buffer;
}

StatusOr<models::PupilSplit> LoadSplit(const TrainCommandOptions& o) {
  auto data = ingest::LoadData(o.data);
  if (!data.ok()) return data.status().WithContext("--data");
  if (o.test.empty()) return models::SplitByPupil(*data, o.test_fraction, o.seed, o.validation_fraction);
  auto test = ingest::LoadData(o.test);
  if (!test.ok()) return test.status().WithContext("--test");
  if (data->records.feature_names != test->records.feature_names) {
    return InvalidArgumentError("--data and --test have different pupil-record columns");
  }
  models::PupilSplit split = models::SplitByPupil(*data, 0, o.seed, o.validation_fraction);
  split.test = std::move(test).value();
  return split;
}

int Run(TrainCommandOptions& o, const GivenFlag& given) {
  if (Status s = SetupLogging("warn", "train"); !s.ok()) return ReportFailure(s);
  if (!o.config.empty()) {
    if (Status s = ApplyConfig(o.config, o, given); !s.ok())
      return ReportFailure(s.WithContext("--config"));
  }
  if (Status s = ApplyOptionFlags(o); !s.ok()) return ReportFailure(s);
  auto input = models::InputOf(o.model);
  if (!input.ok()) return ReportFailure(input.status());
  const bool records = *input == models::ModelInput::kPupilRecords;
  const char* unit = records ? "records" : "answers";
  auto split = LoadSplit(o);
  if (!split.ok()) return ReportFailure(split.status());
  auto count = [&](const models::InteractionLog& log) {
    return records ? log.records.size() : log.size();
  };
  if (count(split->train) == 0 || count(split->test) == 0) {
    return ReportFailure(InvalidArgumentError(std::string("the split left no ") + unit +
                                              " for training or for testing"));
  }
  models::ModelSpec spec;
  spec.name = o.model;
  spec.options = o.options;
  spec.num_skills = std::max(split->train.num_skills, split->test.num_skills);
  spec.num_items = std::max(split->train.num_items, split->test.num_items);
  spec.num_features = static_cast<uint32_t>(split->train.records.num_features());
  split->train.num_skills = split->test.num_skills = spec.num_skills;
  auto model = models::CreateModel(spec);
  if (!model.ok()) return ReportFailure(model.status());

  models::TrainOptions options;
  options.epochs = o.epochs;
  options.batch_size = o.batch_size;
  options.learning_rate = o.learning_rate;
  options.seed = o.seed;
  const bool validating = count(split->validation) > 0;
  split->validation.num_skills = spec.num_skills;
  options.on_epoch = [&](int epoch, double loss) {
    std::string validation;
    if (validating) {
      auto scores = simulations::Evaluate(**model, split->validation);
      if (scores.ok()) validation = "  validation AUC " + std::to_string(scores->auc).substr(0, 6);
    }
    std::fprintf(stderr, "epoch %3d/%d  train loss %.4f%s\n", epoch, o.epochs, loss, validation.c_str());
  };
  std::fprintf(stderr, "training %s on %zu %s of %zu pupils; testing on %zu %s of %zu pupils\n",
               o.model.c_str(), count(split->train), unit, split->train.num_pupils(),
               count(split->test), unit, split->test.num_pupils());
  auto report = (*model)->Train(split->train, options);
  if (!report.ok()) return ReportFailure(report.status());
  auto train_scores = simulations::Evaluate(**model, split->train);
  auto test_scores = simulations::Evaluate(**model, split->test);
  if (!train_scores.ok())
    return ReportFailure(train_scores.status().WithContext("scoring the training set"));
  if (!test_scores.ok())
    return ReportFailure(test_scores.status().WithContext("scoring the test set"));

  nlohmann::json result = {{"model", o.model},
                           {"train", ScoresJson(*train_scores)},
                           {"test", ScoresJson(*test_scores)},
                           {"epochs", o.epochs},
                           {"final_train_loss", report->mean_loss}};
  if (validating) {
    auto validation_scores = simulations::Evaluate(**model, split->validation);
    if (!validation_scores.ok())
      return ReportFailure(validation_scores.status().WithContext("scoring the validation set"));
    result["validation"] = ScoresJson(*validation_scores);
  }
  if (!o.out.empty()) {
    const auto layout = (*model)->parameter_layout();
    const auto tensors = models::SplitByLayout((*model)->GetParameters(), layout);
    Status written =
        models::WriteSafetensors(o.out, tensors,
                                 {{"format", "pt"},
                                  {"cartable.model", o.model},
                                  {"cartable.num_skills", std::to_string(spec.num_skills)},
                                  {"cartable.num_items", std::to_string(spec.num_items)},
                                  {"cartable.num_features", std::to_string(spec.num_features)},
                                  {"cartable.options", nlohmann::json(spec.options).dump()}});
    if (!written.ok()) return ReportFailure(written);
    nlohmann::json card = {
        {"model",
         {{"name", o.model},
          {"num_skills", spec.num_skills},
          {"num_items", spec.num_items},
          {"num_features", spec.num_features},
          {"options", spec.options},
          {"parameters", (*model)->num_parameters()}}},
        {"training",
         {{"epochs", o.epochs},
          {"batch_size", o.batch_size},
          {"learning_rate", o.learning_rate},
          {"seed", o.seed},
          {"optimizer", "adam"},
          {"setting", "centralised"}}},
        {"data",
         {{"train_pupils", split->train.num_pupils()},
          {"train_answers", count(split->train)},
          {"test_pupils", split->test.num_pupils()},
          {"test_answers", count(split->test)},
          {"unit", unit},
          {"split", o.test.empty() ? "by pupil, seeded" : "given test file"}}},
        {"metrics", {{"train", ScoresJson(*train_scores)}, {"test", ScoresJson(*test_scores)}}},
        {"produced_by", std::string("cartable ") + kVersion},
        {"date", Today()}};
    if (records) card["data"]["columns"] = split->train.records.feature_names;
    const std::string card_path = o.out + ".card.json";
    if (Status s = WriteFileAtomically(card_path, card.dump(2) + "\n"); !s.ok())
      return ReportFailure(s);
    result["model_file"] = o.out;
    result["model_card"] = card_path;
    std::fprintf(stderr, "wrote %s and %s\n", o.out.c_str(), card_path.c_str());
  }
  if (o.json) {
    std::cout << result.dump(2) << std::endl;
  } else {
    std::printf("test AUC %.4f  accuracy %.4f  log-loss %.4f  (%zu %s)\n", test_scores->auc,
                test_scores->accuracy, test_scores->log_loss,
                static_cast<size_t>(test_scores->answers), unit);
  }
  return kExitOk;
}

std::string ModelHelp() {
  std::string help = "Model to train:";
  for (const auto& [name, description] : models::KnownModels())
    help += "\n  " + name + ": " + description;
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
  cmd->add_option("--validation-fraction", o->validation_fraction,
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
  cmd->footer(
      "Examples:\n"
      "  cartable train --data csv:answers.csv --epochs 20 --out pfa.safetensors --json\n"
      "  cartable train --model mlp --option hidden_size=64 --data oulad:data/oulad --json");
  return
      [o, cmd] { return Run(*o, [cmd](const std::string& flag) { return cmd->count(flag) > 0; }); };
}

}  // namespace cartable::cli
