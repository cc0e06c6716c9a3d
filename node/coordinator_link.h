#pragma once

// CoordinatorLink: when a node agent should speak to its coordinator, and when it should conclude
// that the coordinator is gone — decided from time points alone (sans-I/O), so the rules are tested
// without sockets or sleeps. The driver (RunNodeAgent) reports what it heard and sent, and asks
// Next() what to do:
//   - until anything comes back from a Hello, say Hello again every hello_interval;
//   - after heartbeat_interval without sending, send a Heartbeat (a live coordinator answers each
//     one, and sends its own to a node it has sent nothing to for its own interval);
//   - after missed_heartbeats heartbeat intervals without a word, the coordinator is gone
//     (stopped, dead, or cut off): rejoin — say Hello again and wait, as at the start;
//   - after idle_timeout without a word, give up.
// Silence is counted from when the node last heard the coordinator or last finished its own work
// (training), whichever is later: a node cannot expect to hear anything while it is not listening.
// Not thread safe.

#include "core/clock.h"

namespace cartable::node {

struct CoordinatorLinkOptions {
  // Say Hello again this often while nothing has come back (a coordinator that started late).
  Duration hello_interval = std::chrono::seconds(3);
  // Send a Heartbeat after this long without sending anything.
  Duration heartbeat_interval = std::chrono::seconds(5);
  // The coordinator is gone after this many heartbeat intervals without a message from it.
  int missed_heartbeats = 4;
  // Give up when nothing has come from the coordinator for this long.
  Duration idle_timeout = std::chrono::seconds(120);
};

class CoordinatorLink {
 public:
  enum class Action {
    kWait,           // nothing to do yet
    kSayHello,       // send Hello (again)
    kSendHeartbeat,  // send Heartbeat
    kRejoin,         // the coordinator is gone: say Hello again and wait for it
    kGiveUp,         // silent past idle_timeout: stop the agent
  };

  // `now`: when the first Hello went out.
  CoordinatorLink(const CoordinatorLinkOptions& options, TimePoint now);

  void Heard(TimePoint at);             // a message, or part of one, came from the coordinator
  void Sent(TimePoint at);              // the node sent something
  void SaidHello(TimePoint at);         // the node sent a Hello (a rejoin starts over)
  void ResumedListening(TimePoint at);  // the node finished work that kept it from listening

  // What to do at `now`. kRejoin comes once per silence; the driver then says Hello (SaidHello).
  Action Next(TimePoint now);

  // How long the coordinator may stay silent before it is taken for gone.
  Duration gone_after() const { return options_.heartbeat_interval * options_.missed_heartbeats; }
  // The coordinator's silence at `now`, as the rules count it.
  Duration silence(TimePoint now) const;
  // True between a Hello and the first message that comes back.
  bool waiting_for_answer() const { return !heard_since_hello_; }

 private:
  CoordinatorLinkOptions options_;
  TimePoint last_heard_;
  TimePoint last_sent_;
  TimePoint last_hello_;
  TimePoint listening_since_;
  bool heard_since_hello_ = false;
};

}  // namespace cartable::node
