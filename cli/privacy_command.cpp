// `cartable privacy epsilon`: what DP-SGD costs in (ε, δ), from the RDP accountant
// (aggregation/privacy/rdp_accountant.h), or the noise a target ε needs.

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "aggregation/privacy/rdp_accountant.h"
#include "cli/command.h"

namespace cartable::cli {
namespace {

struct EpsilonOptions {
  double sampling_rate = 0;
  double noise_multiplier = 0;
  double target_epsilon = 0;
  uint64_t steps = 0;
  double delta = 0;
};

int Epsilon(const EpsilonOptions& o, bool target) {
  namespace privacy = aggregation::privacy;
  nlohmann::ordered_json out;
  if (target) {
    auto found = privacy::NoiseMultiplierFor(o.target_epsilon, o.sampling_rate, o.steps, o.delta);
    if (!found.ok()) return ReportFailure(found.status());
    out = {{"noise_multiplier", found->noise_multiplier},
           {"epsilon", found->reached.epsilon},
           {"order", found->reached.order}};
  } else {
    auto spent = privacy::DpSgdEpsilon(o.sampling_rate, o.noise_multiplier, o.steps, o.delta);
    if (!spent.ok()) return ReportFailure(spent.status());
    // JSON has no infinity: a mechanism without noise has no finite ε, said as null.
    out = {{"epsilon", std::isinf(spent->epsilon) ? nlohmann::ordered_json(nullptr)
                                                  : nlohmann::ordered_json(spent->epsilon)},
           {"order", spent->order}};
  }
  std::printf("%s\n", out.dump().c_str());
  return kExitOk;
}

}  // namespace

Runner AddPrivacyCommand(CLI::App& app) {
  auto o = std::make_shared<EpsilonOptions>();
  CLI::App* cmd = app.add_subcommand(
      "privacy", "Privacy accounting for DP-SGD (the RDP accountant; docs/privacy.md)");
  cmd->require_subcommand(1);
  CLI::App* epsilon = cmd->add_subcommand(
      "epsilon",
      "Print, as JSON, the (epsilon, delta) guarantee of DP-SGD with Poisson sampling:\n"
      "{\"epsilon\": E, \"order\": A}, the smallest epsilon over the Renyi orders tried and the\n"
      "order that gave it. With --target-epsilon instead of --noise-multiplier, find the\n"
      "smallest noise multiplier that meets it: {\"noise_multiplier\": Z, \"epsilon\": E,\n"
      "\"order\": A}.");
  epsilon
      ->add_option("--sampling-rate", o->sampling_rate,
                   "Q: the probability that a pupil is in a step's batch (batch size / pupils)")
      ->required()
      ->check(CLI::Range(0.0, 1.0));
  auto* noise =
      epsilon->add_option("--noise-multiplier", o->noise_multiplier,
                          "Z: the Gaussian noise's standard deviation over the clipping bound");
  noise->check(CLI::NonNegativeNumber);
  auto* target = epsilon->add_option("--target-epsilon", o->target_epsilon,
                                     "E: find the smallest noise multiplier giving epsilon <= E");
  target->check(CLI::PositiveNumber);
  noise->excludes(target);
  target->excludes(noise);
  epsilon->add_option("--steps", o->steps, "T: the number of DP-SGD steps")->required();
  epsilon->add_option("--delta", o->delta, "D: the delta of (epsilon, delta), e.g. 1e-5")
      ->required()
      ->check(CLI::Range(0.0, 1.0));
  epsilon->footer(
      "Examples:\n"
      "  cartable privacy epsilon --sampling-rate 0.01 --noise-multiplier 1.1 --steps 1000 \\\n"
      "    --delta 1e-5\n"
      "  cartable privacy epsilon --sampling-rate 0.01 --target-epsilon 2 --steps 1000 \\\n"
      "    --delta 1e-5");
  return [o, noise, target] {
    if (noise->count() == 0 && target->count() == 0) {
      return ReportFailure(
          InvalidArgumentError("privacy epsilon needs --noise-multiplier or --target-epsilon"));
    }
    return Epsilon(*o, target->count() > 0);
  };
}

}  // namespace cartable::cli
