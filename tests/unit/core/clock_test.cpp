#include "core/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

using ::cartable::Clock;
using ::cartable::Duration;
using ::cartable::ManualClock;
using ::cartable::SystemClock;
using ::cartable::TimePoint;
using ::cartable::ToSeconds;

namespace {

TEST(ManualClockTest, StartsAtEpochAndStandsStill) {
  ManualClock clock;
  EXPECT_EQ(clock.Now(), TimePoint());
  EXPECT_EQ(clock.Now(), clock.Now());
}

TEST(ManualClockTest, MovesOnlyByAdvance) {
  ManualClock clock;
  const TimePoint start = clock.Now();
  clock.Advance(std::chrono::seconds(3));
  EXPECT_EQ(clock.Now() - start, std::chrono::seconds(3));
  clock.Advance(std::chrono::milliseconds(250));
  EXPECT_EQ(clock.Now() - start, std::chrono::milliseconds(3250));
  clock.Advance(Duration::zero());
  EXPECT_EQ(clock.Now() - start, std::chrono::milliseconds(3250));
  EXPECT_DOUBLE_EQ(ToSeconds(clock.Now() - start), 3.25);
}

TEST(ManualClockTest, WorksThroughTheClockInterface) {
  ManualClock manual;
  const Clock& clock = manual;
  const TimePoint deadline = clock.Now() + std::chrono::seconds(10);
  manual.Advance(std::chrono::seconds(9));
  EXPECT_LT(clock.Now(), deadline);
  manual.Advance(std::chrono::seconds(1));
  EXPECT_GE(clock.Now(), deadline);
}

TEST(ManualClockTest, ConcurrentAdvancesAreNotLost) {
  ManualClock clock;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&clock] {
      for (int i = 0; i < 1000; ++i) clock.Advance(std::chrono::microseconds(1));
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(clock.Now() - TimePoint(), std::chrono::microseconds(4000));
}

TEST(ClockTest, ToSecondsConvertsDurations) {
  EXPECT_DOUBLE_EQ(ToSeconds(std::chrono::milliseconds(1500)), 1.5);
  EXPECT_DOUBLE_EQ(ToSeconds(std::chrono::seconds(-2)), -2.0);
  EXPECT_DOUBLE_EQ(ToSeconds(Duration::zero()), 0.0);
}

TEST(SystemClockTest, IsASingletonAndMonotonic) {
  const SystemClock& a = SystemClock::Get();
  const SystemClock& b = SystemClock::Get();
  EXPECT_EQ(&a, &b);
  const TimePoint first = a.Now();
  const TimePoint second = a.Now();
  EXPECT_LE(first, second);
}

}  // namespace
