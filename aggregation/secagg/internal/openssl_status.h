#pragma once

// Turns OpenSSL's thread-local error queue into a Status. Every secagg wrapper calls this right
// after a failing EVP call, so the queue is drained and a later, unrelated failure is not blamed on
// a stale error.

#include <string_view>

#include "core/status.h"

namespace cartable::aggregation::secagg::internal {

// "`what`: <first OpenSSL reason>", with `code`; clears the queue.
Status OpenSslError(StatusCode code, std::string_view what);

// Empties the error queue when a failure is expected and told in our own words (bad signature).
void ClearOpenSslErrors();

}  // namespace cartable::aggregation::secagg::internal
