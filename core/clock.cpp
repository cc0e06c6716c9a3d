#include "core/clock.h"

namespace cartable {

const SystemClock& SystemClock::Get() {
  static const SystemClock clock;
  return clock;
}

}  // namespace cartable
