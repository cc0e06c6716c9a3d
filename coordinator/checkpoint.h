#pragma once

// Checkpoint: what a run needs to go on after its last completed round exactly as if it had never
// stopped. RoundLoop::MakeCheckpoint takes one after each round, the RunStore keeps it with the
// round's record, and RoundLoop::Resume starts from it.

#include <cstdint>
#include <vector>

namespace cartable::coordinator {

struct Checkpoint {
  uint32_t rounds_completed = 0;
  // The last attempt number used on the wire: a resumed run numbers its attempts on from it, as
  // the nodes' local training seeds depend on it.
  uint32_t attempts = 0;
  std::vector<float> global_model;
  std::vector<double> strategy_state;  // aggregation::Strategy::SaveState
};

}  // namespace cartable::coordinator
