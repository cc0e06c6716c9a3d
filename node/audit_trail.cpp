#include "node/audit_trail.h"

#include <algorithm>
#include <span>

#include "aggregation/secagg/digest.h"
#include "core/printable.h"

namespace cartable::node {
namespace {

using nlohmann::ordered_json;

ordered_json Offered(const protocol::Envelope& in, const protocol::TrainRequest& request) {
  ordered_json offer = {{"run_id", in.run_id},
                        {"round", in.round},
                        {"plan_hash", PlanHashHex(request.plan_hash)},
                        {"model", request.model.name},
                        {"secure", request.secagg.enabled != 0},
                        {"cohort", request.secagg.cohort.size()},
                        {"local_epochs", request.config.local_epochs},
                        {"proximal_mu", request.proximal_mu},
                        {"max_norm", request.contribution.max_norm}};
  if (request.dp.enabled != 0) {
    offer["pupil_dp"] = {{"noise_multiplier", request.dp.noise_multiplier},
                         {"clip_norm", request.dp.clip_norm},
                         {"sampling_rate", request.dp.sampling_rate},
                         {"delta", request.dp.delta},
                         {"rounds", request.dp.rounds}};
  }
  if (const protocol::WireEstablishmentDp& edp = request.establishment_dp; edp.enabled != 0) {
    offer["establishment_dp"] = {{"noise_multiplier", edp.noise_multiplier},
                                 {"min_contributors", edp.min_contributors},
                                 {"delta", edp.delta},
                                 {"rounds", edp.rounds}};
  }
  return offer;
}

ordered_json Requested(const protocol::Envelope& in, const protocol::TrainRequest& request) {
  const std::span<const float> global(request.global_parameters);
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(global.data()),
                                       global.size_bytes());
  return {{"run_id", in.run_id},
          {"round", in.round},
          {"secure", request.secagg.enabled != 0},
          {"cohort", request.secagg.cohort.size()},
          {"global_sha256", aggregation::secagg::Sha256Hex(bytes)}};
}

}  // namespace

std::string PlanHashHex(const protocol::DigestBytes& plan_hash) {
  if (std::all_of(plan_hash.begin(), plan_hash.end(), [](uint8_t b) { return b == 0; })) return "";
  return HexId({reinterpret_cast<const char*>(plan_hash.data()), plan_hash.size()});
}

std::vector<AuditNote> AuditTrail::Received(const protocol::Envelope& in) {
  std::vector<AuditNote> notes;
  if (const auto* request = std::get_if<protocol::TrainRequest>(&in.body)) {
    if (offered_.insert(in.run_id).second) notes.push_back({"run_offered", Offered(in, *request)});
    const std::pair<uint64_t, uint32_t> round{in.run_id, in.round};
    if (round != last_requested_) notes.push_back({"round_requested", Requested(in, *request)});
    last_requested_ = round;
  } else if (const auto* shutdown = std::get_if<protocol::Shutdown>(&in.body)) {
    notes.push_back({"run_ended", {{"run_id", in.run_id}, {"reason", shutdown->reason}}});
  }
  return notes;
}

std::optional<AuditNote> AuditTrail::Sending(const protocol::Envelope& out,
                                             std::string_view frame) {
  if (std::holds_alternative<protocol::Heartbeat>(out.body)) return std::nullopt;
  if (const auto* error = std::get_if<protocol::ErrorReply>(&out.body)) {
    return AuditNote{"round_refused",
                     {{"run_id", out.run_id}, {"round", out.round}, {"reason", error->message}}};
  }
  return AuditNote{"message_sent",
                   {{"run_id", out.run_id},
                    {"round", out.round},
                    {"type", protocol::MessageTypeName(protocol::TypeOf(out.body))},
                    {"bytes", frame.size()},
                    {"sha256", aggregation::secagg::Sha256Hex(frame)}}};
}

}  // namespace cartable::node
