// The coordinator's metrics: the exact Prometheus text of a snapshot, histograms whose buckets
// accumulate up to the count, escaped label values, and the service's hooks feeding the counters.

#include "coordinator/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace cartable::coordinator {
namespace {

using ::testing::HasSubstr;

// The lines of `text` that start with `prefix`.
std::vector<std::string> Lines(const std::string& text, const std::string& prefix) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix)) lines.push_back(line);
  }
  return lines;
}

uint64_t ValueOf(const std::string& line) { return std::stoull(line.substr(line.rfind(' ') + 1)); }

TEST(MetricsTest, ASnapshotRendersAsExactlyThisText) {
  MetricsSnapshot s;
  s.runs_queued = 2;
  s.runs_running = 1;
  s.rounds_completed = 3;
  s.nodes_connected = 4;
  s.round_seconds = Histogram::WithBounds(std::vector<double>{0.5, 2.5});
  for (double seconds : {0.25, 1.0, 7.0}) s.round_seconds.Observe(seconds);
  s.received_bytes = 1000;
  s.sent_bytes = 2000;
  s.attempts_failed = 1;
  s.runs_ended = {{"cancelled", 0}, {"ended", 5}, {"failed", 1}};
  EXPECT_EQ(RenderPrometheus(s),
            "# HELP cartable_coordinator_runs_queued Runs submitted and waiting to be served.\n"
            "# TYPE cartable_coordinator_runs_queued gauge\n"
            "cartable_coordinator_runs_queued 2\n"
            "# HELP cartable_coordinator_runs_running Runs in the running state: the one being "
            "served, or one a stopped daemon left to resume.\n"
            "# TYPE cartable_coordinator_runs_running gauge\n"
            "cartable_coordinator_runs_running 1\n"
            "# HELP cartable_coordinator_rounds_completed_total Rounds completed and committed to "
            "the run store since the daemon started.\n"
            "# TYPE cartable_coordinator_rounds_completed_total counter\n"
            "cartable_coordinator_rounds_completed_total 3\n"
            "# HELP cartable_coordinator_nodes_connected Nodes joined to the run in progress (0 "
            "between runs).\n"
            "# TYPE cartable_coordinator_nodes_connected gauge\n"
            "cartable_coordinator_nodes_connected 4\n"
            "# HELP cartable_coordinator_round_duration_seconds Duration of each completed round, "
            "from its first attempt's start to its record.\n"
            "# TYPE cartable_coordinator_round_duration_seconds histogram\n"
            "cartable_coordinator_round_duration_seconds_bucket{le=\"0.5\"} 1\n"
            "cartable_coordinator_round_duration_seconds_bucket{le=\"2.5\"} 2\n"
            "cartable_coordinator_round_duration_seconds_bucket{le=\"+Inf\"} 3\n"
            "cartable_coordinator_round_duration_seconds_sum 8.25\n"
            "cartable_coordinator_round_duration_seconds_count 3\n"
            "# HELP cartable_coordinator_received_bytes_total Bytes of the whole frames received "
            "from nodes on their socket.\n"
            "# TYPE cartable_coordinator_received_bytes_total counter\n"
            "cartable_coordinator_received_bytes_total 1000\n"
            "# HELP cartable_coordinator_sent_bytes_total Bytes of the whole frames sent to nodes "
            "on their socket.\n"
            "# TYPE cartable_coordinator_sent_bytes_total counter\n"
            "cartable_coordinator_sent_bytes_total 2000\n"
            "# HELP cartable_coordinator_round_attempts_failed_total Round attempts that failed "
            "(secure aggregation aborted, too few updates, a sum out of bounds), each retried or "
            "failing its run.\n"
            "# TYPE cartable_coordinator_round_attempts_failed_total counter\n"
            "cartable_coordinator_round_attempts_failed_total 1\n"
            "# HELP cartable_coordinator_runs_ended_total Runs that reached a final state since "
            "the daemon started, by that state.\n"
            "# TYPE cartable_coordinator_runs_ended_total counter\n"
            "cartable_coordinator_runs_ended_total{state=\"cancelled\"} 0\n"
            "cartable_coordinator_runs_ended_total{state=\"ended\"} 5\n"
            "cartable_coordinator_runs_ended_total{state=\"failed\"} 1\n");
}

TEST(MetricsTest, HistogramBucketsAccumulateUpToTheCountAtInf) {
  MetricsSnapshot s;
  // On a bound, in between, below the first and above the last (1800 s).
  for (double seconds : {0.01, 0.05, 0.3, 0.3, 1.0, 42.0, 600.0, 5000.0, 9000.0}) {
    s.round_seconds.Observe(seconds);
  }
  const std::string text = RenderPrometheus(s);
  const std::vector<std::string> buckets =
      Lines(text, "cartable_coordinator_round_duration_seconds_bucket");
  ASSERT_EQ(buckets.size(), kRoundSecondsBuckets.size() + 1);
  EXPECT_EQ(buckets.front(), "cartable_coordinator_round_duration_seconds_bucket{le=\"0.05\"} 2");
  for (size_t i = 1; i < buckets.size(); ++i) {
    EXPECT_LE(ValueOf(buckets[i - 1]), ValueOf(buckets[i])) << buckets[i];
  }
  EXPECT_THAT(text, HasSubstr("_bucket{le=\"1\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("_bucket{le=\"1800\"} 7\n"));
  EXPECT_EQ(buckets.back(), "cartable_coordinator_round_duration_seconds_bucket{le=\"+Inf\"} 9");
  EXPECT_THAT(text, HasSubstr("cartable_coordinator_round_duration_seconds_count 9\n"));
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  MetricsSnapshot s;
  s.runs_ended = {{"a\"b\\c\nd", 1}};
  EXPECT_THAT(RenderPrometheus(s),
              HasSubstr("cartable_coordinator_runs_ended_total{state=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST(MetricsTest, TheHooksFeedTheCountersAndGauges) {
  CoordinatorMetrics metrics;
  MetricsSnapshot s = metrics.Snapshot();
  EXPECT_EQ(s.runs_ended,
            (std::map<std::string, uint64_t>{{"cancelled", 0}, {"ended", 0}, {"failed", 0}}));

  RunSnapshot run;
  run.run_id = 7;
  run.nodes = {{"school-a", 0}, {"school-b", 1}, {"school-c", 2}};
  run.attempts_failed = 1;
  metrics.Observe(&run);
  metrics.Observe(&run);  // the same failure, seen twice, counts once
  run.attempts_failed = 3;
  metrics.Observe(&run);
  RoundRecord record;
  record.seconds = 0.2;
  metrics.OnRound(record);
  metrics.OnRound(record);
  s = metrics.Snapshot();
  EXPECT_EQ(s.nodes_connected, 3);
  EXPECT_EQ(s.attempts_failed, 3);
  EXPECT_EQ(s.rounds_completed, 2);
  EXPECT_EQ(s.round_seconds.count, 2);

  StoredRun ended;
  ended.id = 7;
  ended.state = RunState::kEnded;
  metrics.OnRun(ended);
  s = metrics.Snapshot();
  EXPECT_EQ(s.runs_ended["ended"], 1);
  EXPECT_EQ(s.nodes_connected, 0);

  // The next run's loop counts its failures from 0 again.
  run.run_id = 8;
  run.attempts_failed = 1;
  metrics.Observe(&run);
  metrics.Observe(nullptr);
  metrics.SetRunCounts(4, 1);
  metrics.SetNodeTraffic(10, 20);
  s = metrics.Snapshot();
  EXPECT_EQ(s.attempts_failed, 4);
  EXPECT_EQ(s.nodes_connected, 0);
  EXPECT_EQ(s.runs_queued, 4);
  EXPECT_EQ(s.runs_running, 1);
  EXPECT_EQ(s.received_bytes, 10);
  EXPECT_EQ(s.sent_bytes, 20);
}

}  // namespace
}  // namespace cartable::coordinator
