#include "node/node_agent.h"

#include <spdlog/spdlog.h>

#include "node/session_driver.h"

namespace cartable::node {
Status RunNodeAgent(NodeSession& session, protocol::ClientTransport& transport,
                    const NodeAgentOptions& options, const Clock& clock) {
  SessionDriver driver(session, transport, options, clock.Now());
  while (!session.finished()) {
    if (options.should_stop()) return CancelledError("node agent stopped before the run ended");
    StatusOr<std::optional<protocol::Frame>> received = transport.Receive(options.poll_interval);
    if (!received.ok()) return received.status();
    driver.NoteActivity(clock.Now());
    if (!*received) {
      CARTABLE_RETURN_IF_ERROR(driver.OnQuiet(clock.Now()));
      continue;
    }
    CARTABLE_RETURN_IF_ERROR(driver.OnFrame(**received, clock));
  }
  if (!session.finish_status().ok()) return session.finish_status();
  spdlog::info("the coordinator ended the run: {}", session.finish_reason());
  return Status::Ok();
}

Status ServeRuns(const std::function<std::unique_ptr<NodeSession>()>& new_session,
                 protocol::ClientTransport& transport, const NodeAgentOptions& options,
                 const Clock& clock, const std::function<void(const Status&)>& on_run_end) {
  while (true) {
    std::unique_ptr<NodeSession> session = new_session();
    Status outcome = RunNodeAgent(*session, transport, options, clock);
    if (on_run_end) on_run_end(outcome);
    switch (outcome.code()) {
      case StatusCode::kCancelled:
      case StatusCode::kPermissionDenied:
        return outcome;
      case StatusCode::kOk:
        spdlog::info("waiting for the coordinator's next run");
        break;
      case StatusCode::kDeadlineExceeded:
        spdlog::info("{}; still waiting for the coordinator (the node serves until stopped)",
                     outcome.message());
        break;
      default:
        // A transport that failed for good (its socket is closed) cannot be waited on.
        if (options.should_stop()) return CancelledError("node agent stopped");
        return outcome;
    }
  }
}

}  // namespace cartable::node
