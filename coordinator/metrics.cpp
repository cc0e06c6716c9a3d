#include "coordinator/metrics.h"

#include <charconv>
#include <cmath>
#include <string_view>

#include "core/check.h"

namespace cartable::coordinator {
namespace {

constexpr std::string_view kPrefix = "cartable_coordinator_";

// Floats as Prometheus reads them: the shortest exact form, +Inf, -Inf, NaN.
std::string Number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char text[32];
  const auto [end, error] = std::to_chars(text, text + sizeof(text), value);
  CARTABLE_CHECK(error == std::errc());
  return {text, end};
}

// HELP text escapes backslash and newline; a label value also the double quote.
std::string Escape(std::string_view text, bool label_value) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && label_value) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

class Writer {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    Name(name);
    out_ += ' ';
    out_ += Escape(help, false);
    out_ += "\n# TYPE ";
    Name(name);
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // `label` and its value are omitted when `label` is empty; the value is escaped here.
  void Sample(std::string_view name, const std::string& value, std::string_view label = {},
              std::string_view label_value = {}) {
    Name(name);
    if (!label.empty()) {
      out_ += '{';
      out_ += label;
      out_ += "=\"";
      out_ += Escape(label_value, true);
      out_ += "\"}";
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void One(std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
    Family(name, type, help);
    Sample(name, std::to_string(value));
  }
  void Histogram(std::string_view name, std::string_view help, const coordinator::Histogram& h) {
    CARTABLE_CHECK(h.counts.size() == h.bounds.size() + 1)
        << name << ": " << h.counts.size() << " counts for " << h.bounds.size() << " bounds";
    Family(name, "histogram", help);
    const std::string bucket = std::string(name) + "_bucket";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.bounds.size(); ++i) {
      cumulative += h.counts[i];
      Sample(bucket, std::to_string(cumulative), "le", Number(h.bounds[i]));
    }
    Sample(bucket, std::to_string(cumulative + h.counts.back()), "le", "+Inf");
    Sample(std::string(name) + "_sum", Number(h.sum));
    Sample(std::string(name) + "_count", std::to_string(h.count));
  }
  std::string Take() { return std::move(out_); }

 private:
  void Name(std::string_view name) {
    out_ += kPrefix;
    out_ += name;
  }
  std::string out_;
};

}  // namespace

Histogram Histogram::WithBounds(std::span<const double> bounds) {
  Histogram h;
  h.bounds.assign(bounds.begin(), bounds.end());
  h.counts.assign(h.bounds.size() + 1, 0);
  return h;
}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds.size() && value > bounds[i]) ++i;
  counts[i] += 1;
  count += 1;
  sum += value;
}

std::string RenderPrometheus(const MetricsSnapshot& s) {
  Writer w;
  w.One("runs_queued", "gauge", "Runs submitted and waiting to be served.", s.runs_queued);
  w.One("runs_running", "gauge",
        "Runs in the running state: the one being served, or one a stopped daemon left to resume.",
        s.runs_running);
  w.One("rounds_completed_total", "counter",
        "Rounds completed and committed to the run store since the daemon started.",
        s.rounds_completed);
  w.One("nodes_connected", "gauge", "Nodes joined to the run in progress (0 between runs).",
        s.nodes_connected);
  w.Histogram("round_duration_seconds",
              "Duration of each completed round, from its first attempt's start to its record.",
              s.round_seconds);
  w.One("received_bytes_total", "counter",
        "Bytes of the whole frames received from nodes on their socket.", s.received_bytes);
  w.One("sent_bytes_total", "counter", "Bytes of the whole frames sent to nodes on their socket.",
        s.sent_bytes);
  w.One("round_attempts_failed_total", "counter",
        "Round attempts that failed (secure aggregation aborted, too few updates, a sum out of "
        "bounds), each retried or failing its run.",
        s.attempts_failed);
  w.Family("runs_ended_total", "counter",
           "Runs that reached a final state since the daemon started, by that state.");
  for (const auto& [state, count] : s.runs_ended) {
    w.Sample("runs_ended_total", std::to_string(count), "state", state);
  }
  return w.Take();
}

CoordinatorMetrics::CoordinatorMetrics() {
  for (RunState state : {RunState::kEnded, RunState::kCancelled, RunState::kFailed}) {
    state_.runs_ended[std::string(RunStateName(state))] = 0;
  }
}

void CoordinatorMetrics::OnRound(const RoundRecord& record) {
  const std::lock_guard lock(mutex_);
  state_.rounds_completed += 1;
  state_.round_seconds.Observe(record.seconds);
}

void CoordinatorMetrics::OnRun(const StoredRun& run) {
  const std::lock_guard lock(mutex_);
  if (IsFinal(run.state)) {
    state_.runs_ended[std::string(RunStateName(run.state))] += 1;
    state_.nodes_connected = 0;
  } else {
    observed_run_ = run.id;
    observed_failures_ = 0;
  }
}

void CoordinatorMetrics::Observe(const RunSnapshot* run) {
  const std::lock_guard lock(mutex_);
  if (run == nullptr) {
    state_.nodes_connected = 0;
    return;
  }
  if (run->run_id != observed_run_) {
    observed_run_ = run->run_id;
    observed_failures_ = 0;
  }
  if (run->attempts_failed > observed_failures_) {
    state_.attempts_failed += run->attempts_failed - observed_failures_;
    observed_failures_ = run->attempts_failed;
  }
  state_.nodes_connected = run->nodes.size();
}

void CoordinatorMetrics::SetRunCounts(uint64_t queued, uint64_t running) {
  const std::lock_guard lock(mutex_);
  state_.runs_queued = queued;
  state_.runs_running = running;
}

void CoordinatorMetrics::SetNodeTraffic(uint64_t received_bytes, uint64_t sent_bytes) {
  const std::lock_guard lock(mutex_);
  state_.received_bytes = received_bytes;
  state_.sent_bytes = sent_bytes;
}

MetricsSnapshot CoordinatorMetrics::Snapshot() const {
  const std::lock_guard lock(mutex_);
  return state_;
}

}  // namespace cartable::coordinator
