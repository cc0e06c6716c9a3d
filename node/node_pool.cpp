#include "node/node_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "aggregation/secagg/signing.h"
#include "node/session_driver.h"
#include "protocol/codec.h"

namespace cartable::node {
namespace {

// Who may touch a member: the dispatcher while it is idle, one worker while it is busy; nobody once
// it is done.
enum class MemberState : uint8_t { kIdle, kBusy, kDone };

struct Member {
  std::unique_ptr<SessionDriver> driver;
  std::unique_ptr<NodeSession> restarted;  // the session it came back with from its last crash
  std::atomic<MemberState> state{MemberState::kIdle};
  Status outcome;
};

// Frames waiting for a worker, each with its member; closed once the dispatcher is done.
class JobQueue {
 public:
  void Push(size_t member, protocol::Frame frame) {
    {
      std::lock_guard lock(mutex_);
      jobs_.emplace_back(member, std::move(frame));
    }
    ready_.notify_one();
  }
  // Waits for a job; nullopt once closed and empty.
  std::optional<std::pair<size_t, protocol::Frame>> Pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return closed_ || !jobs_.empty(); });
    if (jobs_.empty()) return std::nullopt;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    return job;
  }
  // `drop`: pending jobs are dropped rather than worked off (the pool was told to stop).
  void Close(bool drop) {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      if (drop) jobs_.clear();
    }
    ready_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::pair<size_t, protocol::Frame>> jobs_;
  bool closed_ = false;
};

void Work(std::vector<Member>& members, JobQueue& jobs, const Clock& clock) {
  while (auto job = jobs.Pop()) {
    Member& m = members[job->first];
    Status handled = m.driver->OnFrame(job->second, clock);
    if (!handled.ok() || m.driver->session().finished()) {
      m.outcome = handled.ok() ? m.driver->session().finish_status() : handled;
      m.state.store(MemberState::kDone, std::memory_order_release);
    } else {
      m.state.store(MemberState::kIdle, std::memory_order_release);
    }
  }
}

}  // namespace

std::vector<Status> RunNodePool(const std::vector<PoolMember>& members,
                                const NodePoolOptions& options, const Clock& clock) {
  // Members hosted together check the same signatures: each is verified once in this process.
  if (members.size() > 1) aggregation::secagg::RememberVerifiedSignatures();
  std::vector<Member> pool(members.size());
  for (size_t i = 0; i < members.size(); ++i) {
    pool[i].driver = std::make_unique<SessionDriver>(*members[i].session, *members[i].transport,
                                                     options.agent, clock.Now());
  }
  JobQueue jobs;
  std::vector<std::thread> workers;
  for (size_t w = 0; w < std::max<size_t>(1, options.workers); ++w) {
    workers.emplace_back([&] { Work(pool, jobs, clock); });
  }
  size_t done = 0;
  bool stopped = false;
  while (done < pool.size()) {
    if (options.agent.should_stop()) {
      stopped = true;
      break;
    }
    bool anything = false;
    done = 0;
    for (size_t i = 0; i < pool.size(); ++i) {
      Member& m = pool[i];
      const MemberState state = m.state.load(std::memory_order_acquire);
      if (state == MemberState::kDone) ++done;
      if (state != MemberState::kIdle) continue;
      if (Restartable* restartable = members[i].restartable) {
        const TimePoint now = clock.Now();
        if (restartable->Down(now)) continue;
        if (std::unique_ptr<NodeSession> fresh = restartable->Restarted(now)) {
          anything = true;
          m.driver =
              std::make_unique<SessionDriver>(*fresh, *members[i].transport, options.agent, now);
          m.restarted = std::move(fresh);
        }
      }
      StatusOr<std::optional<protocol::Frame>> received = m.driver->transport().Receive(Duration{});
      const TimePoint now = clock.Now();
      Status failed = received.status();
      if (failed.ok()) {
        m.driver->NoteActivity(now);
        if (*received && protocol::IsHeartbeatFrame(**received)) {
          // Handled here, at once: queued behind thousands of members' key agreements, a
          // coordinator's heartbeat would keep an idle member from sending its own for longer than
          // the coordinator waits before forgetting it.
          anything = true;
          failed = m.driver->OnFrame(**received, clock);
        } else if (*received) {
          anything = true;
          m.state.store(MemberState::kBusy, std::memory_order_relaxed);
          jobs.Push(i, std::move(**received));
          continue;
        } else {
          failed = m.driver->OnQuiet(now);
        }
      }
      if (!failed.ok()) {
        m.outcome = failed;
        m.state.store(MemberState::kDone, std::memory_order_relaxed);
        ++done;
      }
    }
    if (!anything && done < pool.size()) std::this_thread::sleep_for(options.agent.poll_interval);
  }
  jobs.Close(/*drop=*/stopped);
  for (std::thread& t : workers) t.join();
  std::vector<Status> outcomes;
  outcomes.reserve(pool.size());
  for (Member& m : pool) {
    if (stopped && m.state.load() != MemberState::kDone) {
      m.outcome = CancelledError("node pool stopped before the run ended");
    }
    outcomes.push_back(m.outcome);
  }
  return outcomes;
}

}  // namespace cartable::node
