#include "simulations/inprocess_federation.h"

#include <atomic>
#include <memory>
#include <thread>

#include "coordinator/coordinator_service.h"
#include "node/node_agent.h"
#include "protocol/inprocess_transport.h"

namespace cartable::simulations {
namespace {

void AddCounts(protocol::FaultCounts& total, const protocol::FaultCounts& c) {
  total.frames += c.frames;
  total.dropped += c.dropped;
  total.duplicated += c.duplicated;
  total.delayed += c.delayed;
  total.reordered += c.reordered;
  total.corrupted += c.corrupted;
}

// In one process frames arrive at once: nodes say Hello and beat their heart more often than over a
// network, so a lost frame costs little time.
node::NodeAgentOptions AgentOptions(const std::atomic<bool>& stop) {
  node::NodeAgentOptions options;
  options.hello_interval = std::chrono::milliseconds(300);
  options.heartbeat_interval = std::chrono::milliseconds(500);
  options.idle_timeout = std::chrono::seconds(60);
  options.should_stop = [&stop] { return stop.load(); };
  return options;
}

}  // namespace

InProcessOutcome RunInProcess(const coordinator::RunConfig& run,
                              std::vector<InProcessSchool> schools,
                              const protocol::FaultPlan& faults) {
  InProcessOutcome outcome;
  auto loop = coordinator::RoundLoop::Create(run, SystemClock::Get());
  if (!loop.ok()) {
    outcome.status = loop.status();
    return outcome;
  }
  protocol::InProcessNetwork network;
  auto served = network.Serve();
  if (!served.ok()) {
    outcome.status = served.status();
    return outcome;
  }
  protocol::FaultPlan server_faults = faults;
  server_faults.seed = faults.seed * 1000;
  protocol::FaultyServerTransport server(std::move(served).value(), server_faults);
  std::vector<std::unique_ptr<protocol::FaultyClientTransport>> clients;
  std::vector<std::unique_ptr<node::NodeSession>> sessions;
  node::NodeSecurity security;
  security.allow_plain_updates = !run.secagg.enabled;
  for (size_t i = 0; i < schools.size(); ++i) {
    protocol::FaultPlan node_faults = faults;
    node_faults.seed = faults.seed + i;
    clients.push_back(
        std::make_unique<protocol::FaultyClientTransport>(network.Connect(), node_faults));
    sessions.push_back(std::make_unique<node::NodeSession>(schools[i].name,
                                                           std::move(schools[i].split), security));
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < schools.size(); ++i) {
    threads.emplace_back([&, i] {
      // A node that misses its Shutdown is stopped below, once the run has ended.
      node::RunNodeAgent(*sessions[i], *clients[i], AgentOptions(stop)).IgnoreError();
    });
  }
  outcome.status = coordinator::ServeRun(**loop, server);
  stop = true;
  for (std::thread& t : threads) t.join();
  outcome.records = (*loop)->records();
  outcome.model = (*loop)->global_model();
  AddCounts(outcome.faults, server.counts());
  for (const auto& c : clients) AddCounts(outcome.faults, c->counts());
  return outcome;
}

}  // namespace cartable::simulations
