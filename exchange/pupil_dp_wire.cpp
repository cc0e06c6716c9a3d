#include "exchange/pupil_dp_wire.h"

#include <cmath>
#include <string>

namespace cartable::exchange {
namespace {

bool Within(double value, double min, double max) {
  return std::isfinite(value) && value >= min && value <= max;
}

}  // namespace

Status CheckPupilDp(const protocol::WirePupilDp& dp) {
  if (dp.enabled > 1) return InvalidArgumentError("DP-SGD: enabled must be 0 or 1");
  if (dp.enabled == 0) return Status::Ok();
  if (!Within(dp.noise_multiplier, 0.1, 1000) || !Within(dp.clip_norm, 1e-6, 1e6) ||
      !Within(dp.sampling_rate, 1e-6, 1) || !Within(dp.delta, 1e-12, 0.1) || dp.rounds == 0) {
    return InvalidArgumentError(
        "DP-SGD parameters out of range (noise multiplier " + std::to_string(dp.noise_multiplier) +
        ", clip " + std::to_string(dp.clip_norm) + ", sampling rate " +
        std::to_string(dp.sampling_rate) + ", δ " + std::to_string(dp.delta) + ", rounds " +
        std::to_string(dp.rounds) + ")");
  }
  return Status::Ok();
}

models::PupilDp PupilDpOf(const protocol::WirePupilDp& dp) {
  return models::PupilDp{.noise_multiplier = dp.noise_multiplier,
                         .clip_norm = dp.clip_norm,
                         .sampling_rate = dp.sampling_rate,
                         .secret_seed = 0};
}

uint64_t RunSteps(const protocol::WirePupilDp& dp, uint32_t local_epochs, uint32_t trainings) {
  return uint64_t{trainings == 0 ? dp.rounds : trainings} *
         static_cast<uint64_t>(
             models::PupilDpSteps(static_cast<int>(local_epochs), dp.sampling_rate));
}

StatusOr<aggregation::privacy::Epsilon> RunEpsilon(const protocol::WirePupilDp& dp,
                                                   uint32_t local_epochs, uint32_t trainings) {
  CARTABLE_RETURN_IF_ERROR(CheckPupilDp(dp));
  if (dp.enabled == 0) return InvalidArgumentError("the run trains without DP-SGD");
  return aggregation::privacy::DpSgdEpsilon(dp.sampling_rate, dp.noise_multiplier,
                                            RunSteps(dp, local_epochs, trainings), dp.delta);
}

nlohmann::json PupilDpReport(const protocol::WirePupilDp& dp, uint64_t steps,
                             const std::optional<aggregation::privacy::Epsilon>& cost) {
  nlohmann::json report = {{"mechanism", "DP-SGD per pupil"},
                           {"noise_multiplier", dp.noise_multiplier},
                           {"clip_norm", dp.clip_norm},
                           {"sampling_rate", dp.sampling_rate},
                           {"delta", dp.delta},
                           {"steps", steps}};
  if (cost) {
    report["epsilon"] = cost->epsilon;
    report["order"] = cost->order;
  }
  return report;
}

}  // namespace cartable::exchange
