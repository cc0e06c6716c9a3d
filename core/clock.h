#pragma once

// Clock: where the state machines read the time, so that deadlines are testable. Production code
// uses SystemClock (a monotonic steady clock); tests drive a ManualClock. Both are thread safe.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cartable {

using Duration = std::chrono::steady_clock::duration;
using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  // A process-wide instance; clocks have no state worth owning twice.
  static const SystemClock& Get();
};

// A clock that moves only when told to.
class ManualClock final : public Clock {
 public:
  TimePoint Now() const override { return TimePoint(Duration(ticks_.load())); }
  void Advance(Duration by) { ticks_ += by.count(); }

 private:
  std::atomic<Duration::rep> ticks_{0};
};

inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// Wall-clock time, Unix milliseconds: for what is recorded (the run store, the audit log), never
// for deadlines.
int64_t UnixMillis();

}  // namespace cartable
