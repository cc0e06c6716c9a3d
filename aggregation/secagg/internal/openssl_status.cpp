#include "aggregation/secagg/internal/openssl_status.h"

#include <openssl/err.h>

#include <string>

namespace cartable::aggregation::secagg::internal {

Status OpenSslError(StatusCode code, std::string_view what) {
  std::string message(what);
  const unsigned long error = ERR_get_error();
  if (error != 0) {
    char reason[256];
    ERR_error_string_n(error, reason, sizeof(reason));
    message += ": ";
    message += reason;
  }
  ERR_clear_error();
  return Status(code, std::move(message));
}

void ClearOpenSslErrors() { ERR_clear_error(); }

}  // namespace cartable::aggregation::secagg::internal
