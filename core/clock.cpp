#include "core/clock.h"

namespace cartable {

const SystemClock& SystemClock::Get() {
  static const SystemClock clock;
  return clock;
}

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace cartable
