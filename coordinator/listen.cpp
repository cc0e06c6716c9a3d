#include "coordinator/listen.h"

#include "protocol/curve_keys.h"

namespace cartable::coordinator {

StatusOr<std::unique_ptr<protocol::ZmqServerTransport>> Listen(const ListenSpec& spec) {
  if (spec.insecure) return protocol::ZmqServerTransport::Bind(spec.endpoint, spec.transport);
  if (spec.key_file.empty() || spec.allow_dir.empty()) {
    return InvalidArgumentError(
        "a CURVE socket needs the coordinator's secret key file and an allow-list directory");
  }
  CARTABLE_ASSIGN_OR_RETURN(protocol::CurveKeyPair keys, protocol::LoadCurveKeyPair(spec.key_file));
  return protocol::ZmqServerTransport::BindCurve(spec.endpoint, keys, spec.allow_dir,
                                                 spec.transport);
}

}  // namespace cartable::coordinator
