#pragma once

// CoordinatorMetrics: what the coordinator daemon tells a monitoring system (Prometheus) about
// itself, sans-I/O. The service's hooks feed it (OnRound, OnRun, Observe), the scraper's thread
// adds the figures read at scrape time (SetRunCounts from the run store, SetNodeTraffic from the
// nodes' socket), and RenderPrometheus writes a Snapshot in the text exposition format 0.0.4.
// Only counts and durations: no pupil-related value, no node key, no node name (the number of
// nodes, never one label per node, so the series stay few whatever the federation's size).
// Thread safe: every method may be called from any thread.

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "coordinator/round_loop.h"
#include "coordinator/run_store.h"

namespace cartable::coordinator {

// Upper bounds, in seconds, of the round-duration histogram's buckets (+Inf is implied): rounds
// of a small model take tens of milliseconds, those of a large one over many nodes minutes.
inline constexpr std::array<double, 14> kRoundSecondsBuckets = {
    0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800};

// A Prometheus histogram's state: `counts[i]` observations in (bounds[i-1], bounds[i]], the last
// of the bounds.size() + 1 counts those above every bound. Not cumulative; rendering makes it so.
struct Histogram {
  std::vector<double> bounds;  // increasing
  std::vector<uint64_t> counts;
  uint64_t count = 0;
  double sum = 0;

  static Histogram WithBounds(std::span<const double> bounds);
  void Observe(double value);
};

struct MetricsSnapshot {
  uint64_t runs_queued = 0;
  uint64_t runs_running = 0;
  uint64_t rounds_completed = 0;
  uint64_t nodes_connected = 0;  // joined nodes of the run in progress; 0 between runs
  Histogram round_seconds = Histogram::WithBounds(kRoundSecondsBuckets);
  // Whole frames on the nodes' socket (ZmqServerTransport::frame_bytes_received/sent).
  uint64_t received_bytes = 0;
  uint64_t sent_bytes = 0;
  // Round attempts that failed: retried, or failing their run (RunSnapshot::attempts_failed).
  uint64_t attempts_failed = 0;
  // Runs that reached a final state, by its name (ended, cancelled, failed: all three present).
  std::map<std::string, uint64_t> runs_ended;
};

// The Prometheus text exposition format 0.0.4: # HELP and # TYPE for each family, names prefixed
// cartable_coordinator_, label values escaped. Pure; aborts (CARTABLE_CHECK) on a histogram whose
// counts do not match its bounds.
std::string RenderPrometheus(const MetricsSnapshot& snapshot);

class CoordinatorMetrics {
 public:
  CoordinatorMetrics();

  // A round completed (RunServiceOptions::on_round): counted, its duration observed.
  void OnRound(const RoundRecord& record);
  // A run started, resumed or ended (RunServiceOptions::on_run): a final state is counted, and no
  // node is connected to a run that is over.
  void OnRun(const StoredRun& run);
  // The run in progress after a poll, null between runs (ServeOptions::observe): its nodes, and
  // the attempts that failed since the last observation.
  void Observe(const RunSnapshot* run);
  void SetRunCounts(uint64_t queued, uint64_t running);
  // The nodes' socket's totals so far (they only grow).
  void SetNodeTraffic(uint64_t received_bytes, uint64_t sent_bytes);

  MetricsSnapshot Snapshot() const;

 private:
  mutable std::mutex mutex_;
  MetricsSnapshot state_;
  uint64_t observed_run_ = 0;       // the run Observe last saw
  uint64_t observed_failures_ = 0;  // its attempts_failed then
};

}  // namespace cartable::coordinator
