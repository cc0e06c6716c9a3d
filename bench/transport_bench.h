#pragma once

// The transport benchmark: one round's traffic — a D-float model broadcast to N nodes, N D-float
// updates collected — over TCP loopback, through cartable's transport and codec, and through bare
// ZeroMQ sockets moving the same bytes in the same run. Nodes are threads, each with its own ZeroMQ
// context (its own I/O thread), as separate processes would have.

#include <string>
#include <vector>

#include "core/status.h"

namespace cartable::bench {

struct TransportBenchConfig {
  int nodes = 8;
  int dim = 1'000'000;
  int rounds = 5;       // rounds per measurement
  int repetitions = 3;  // measurements per variant; the median is reported
};

struct TransportBenchResult {
  std::string variant;          // "bare NULL", "cartable NULL", "bare CURVE", "cartable CURVE"
  double median_seconds;        // per round
  double gigabytes_per_second;  // payload bytes moved (both directions) per second
};

StatusOr<std::vector<TransportBenchResult>> RunTransportBench(const TransportBenchConfig& config);

}  // namespace cartable::bench
