// How close the knowledge-tracing models come to the truth on synthetic data: generates a cohort
// with simulations::GenerateCohort (default config: 8 schools, 20 skills, abilities and learning as
// in synthetic_cohort.h), pools the schools, holds out 20 % of the pupils (SplitByPupil), trains
// each model on the rest and prints its held-out AUC next to the oracle's, the AUC of the
// generator's own probabilities.
//   cartable_kt_quality [--seed 1] [--epochs 10] [--models pfa,irt1pl,irt2pl,dkt,sakt]
//                       [--dkt hidden_size=32,dropout=0.2] [--sakt ...]   (model options,
//                       KEY=VALUE,...)

#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "models/metrics.h"
#include "models/model.h"
#include "simulations/synthetic_cohort.h"

namespace {

using cartable::models::InteractionLog;

// The generator's probabilities for the answers of `log`, found by pupil key (pupils are whole in a
// split).
std::vector<float> OracleOf(
    const InteractionLog& log,
    const std::map<std::string, const cartable::simulations::SyntheticPupil*>& by_key) {
  std::vector<float> truth;
  truth.reserve(log.size());
  size_t step = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    const auto& x = log.interactions[i];
    if (i > 0 && log.interactions[i - 1].pupil != x.pupil) step = 0;
    truth.push_back(by_key.at(log.pupil_keys[x.pupil])->answers[step++].probability);
  }
  return truth;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags = {
      {"seed", "1"}, {"epochs", "10"}, {"models", "pfa,irt1pl,irt2pl,dkt,sakt"}};
  for (int i = 1; i + 1 < argc; i += 2) flags[std::string(argv[i]).substr(2)] = argv[i + 1];
  const uint64_t seed = std::stoull(flags["seed"]);

  cartable::simulations::CohortConfig config;
  config.seed = seed;
  const auto schools = cartable::simulations::GenerateCohort(config);
  std::vector<InteractionLog> logs;
  std::map<std::string, const cartable::simulations::SyntheticPupil*> by_key;
  for (const auto& school : schools) {
    logs.push_back(cartable::simulations::ToInteractionLog(school, config.skills));
    for (const auto& pupil : school.pupils) by_key[pupil.id] = &pupil;
  }
  std::vector<const InteractionLog*> parts;
  for (const InteractionLog& log : logs) parts.push_back(&log);
  const auto split =
      cartable::models::SplitByPupil(cartable::models::Concatenate(parts), 0.2, seed);
  const std::vector<uint8_t> labels = cartable::models::Labels(split.test);
  const std::vector<float> oracle = OracleOf(split.test, by_key);
  std::printf("cohort seed %llu: %zu train answers, %zu test answers (%zu pupils)\n",
              static_cast<unsigned long long>(seed), split.train.size(), split.test.size(),
              split.test.num_pupils());
  std::printf("%-8s  test AUC  %.4f\n", "oracle", *cartable::models::Auc(oracle, labels));

  std::istringstream names(flags["models"]);
  std::string name;
  while (std::getline(names, name, ',')) {
    cartable::models::ModelSpec spec;
    spec.name = name;
    spec.num_skills = static_cast<uint32_t>(config.skills);
    std::istringstream model_options(flags[name]);
    for (std::string option; std::getline(model_options, option, ',');) {
      const size_t eq = option.find('=');
      if (eq != std::string::npos) spec.options[option.substr(0, eq)] = option.substr(eq + 1);
    }
    auto model = cartable::models::CreateModel(spec);
    if (!model.ok()) {
      std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
      return 1;
    }
    const bool sequence_model = name == "dkt" || name == "sakt";
    cartable::models::TrainOptions options;
    options.epochs = std::stoi(flags["epochs"]);
    options.batch_size = sequence_model ? 32 : 256;  // windows, or answers
    options.learning_rate = sequence_model ? 0.005 : 0.05;
    options.seed = seed;
    const auto start = std::chrono::steady_clock::now();
    auto report = (*model)->Train(split.train, options);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!report.ok()) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), report.status().ToString().c_str());
      return 1;
    }
    auto scores = (*model)->Predict(split.test);
    if (!scores.ok()) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), scores.status().ToString().c_str());
      return 1;
    }
    std::printf("%-8s  test AUC  %.4f  (train %.1f s) %s\n", name.c_str(),
                *cartable::models::Auc(*scores, labels), seconds, flags[name].c_str());
  }
  return 0;
}
