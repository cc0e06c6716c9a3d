#include "simulations/inprocess_federation.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "coordinator/coordinator_service.h"
#include "node/node_pool.h"
#include "protocol/inprocess_transport.h"
#include "simulations/school_faults.h"

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

// Faults are logged by the attempt on the wire; the report counts them by the run's round.
template <typename Fault>
std::vector<Fault> InRunRounds(std::vector<Fault> faults,
                               const std::map<uint32_t, uint32_t>& round_of_attempt) {
  for (Fault& f : faults) {
    auto it = round_of_attempt.find(f.attempt);
    if (it != round_of_attempt.end()) f.round = it->second;
  }
  return faults;
}

node::NodePoolOptions PoolOptions(const std::atomic<bool>& stop, const InProcessOptions& in) {
  node::NodePoolOptions options;
  options.agent.hello_interval = in.hello_interval;
  options.agent.heartbeat_interval = in.heartbeat_interval;
  options.agent.idle_timeout = in.idle_timeout;
  options.agent.poll_interval = std::chrono::milliseconds(1);
  options.agent.should_stop = [&stop] { return stop.load(); };
  options.workers = in.workers;
  return options;
}

// Hands every frame the coordinator receives to `see` on its way through.
class TranscribedServer final : public protocol::ServerTransport {
 public:
  TranscribedServer(protocol::ServerTransport& inner,
                    std::function<void(const protocol::Delivery&)> see)
      : inner_(inner), see_(std::move(see)) {}
  Status Send(const protocol::PeerId& peer, std::string_view frame) override {
    return inner_.Send(peer, frame);
  }
  Status SendShared(const protocol::PeerId& peer,
                    std::shared_ptr<const std::string> frame) override {
    return inner_.SendShared(peer, std::move(frame));
  }
  StatusOr<std::optional<protocol::Delivery>> Receive(Duration timeout) override {
    auto delivery = inner_.Receive(timeout);
    if (delivery.ok() && delivery->has_value()) see_(**delivery);
    return delivery;
  }
  std::string endpoint() const override { return inner_.endpoint(); }

 private:
  protocol::ServerTransport& inner_;
  std::function<void(const protocol::Delivery&)> see_;
};

}  // namespace

InProcessOutcome RunInProcess(const coordinator::RunConfig& run,
                              std::vector<InProcessSchool> schools,
                              const protocol::FaultPlan& faults, const InProcessOptions& options) {
  InProcessOutcome outcome;
  auto loop = coordinator::RoundLoop::Create(run, SystemClock::Get());
  if (!loop.ok()) {
    outcome.status = loop.status();
    return outcome;
  }
  if (options.on_round) {
    (*loop)->set_round_listener(
        [&](const coordinator::RoundRecord& r) { options.on_round(r, (*loop)->global_model()); });
  }
  std::map<uint32_t, uint32_t> round_of_attempt;  // on the wire → of the run
  std::set<std::string> joined;
  (*loop)->set_event_listener([&](const coordinator::LoopEvent& e) {
    if (e.kind == coordinator::LoopEvent::Kind::kAttemptStarted)
      round_of_attempt[e.attempt] = e.round;
    if (e.kind == coordinator::LoopEvent::Kind::kNodeJoined) joined.insert(e.node);
  });
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
  DropoutLog dropouts;
  DelayLog delays;
  CrashLog crashes;
  std::vector<CrashingSchool*> crashing(schools.size(), nullptr);
  std::atomic<size_t> tampered{0};
  const std::vector<bool> byzantine = ByzantineSchools(options.byzantine, schools.size());
  const std::vector<protocol::Stage> stages =
      run.secagg.enabled
          ? std::vector<protocol::Stage>{protocol::Stage::kAdvertiseKeys,
                                         protocol::Stage::kShareKeys, protocol::Stage::kMaskedInput,
                                         protocol::Stage::kConsistencyCheck,
                                         protocol::Stage::kUnmask}
          : std::vector<protocol::Stage>{protocol::Stage::kTrain};
  for (size_t i = 0; i < schools.size(); ++i) {
    protocol::FaultPlan node_faults = faults;
    node_faults.seed = faults.seed + i;
    std::unique_ptr<protocol::ClientTransport> connection = network.Connect();
    if (options.stragglers.rate > 0) {
      connection = std::make_unique<StragglerTransport>(std::move(connection), options.stragglers,
                                                        i, schools[i].name, delays);
    }
    if (byzantine[i]) {
      outcome.byzantine.push_back(schools[i].name);
      connection = std::make_unique<ByzantineTransport>(std::move(connection), options.byzantine, i,
                                                        tampered);
    }
    if (options.dropout.rate > 0) {
      connection = std::make_unique<DropoutTransport>(std::move(connection), options.dropout, i,
                                                      schools[i].name, stages, dropouts);
    }
    security.identity = schools[i].identity;
    sessions.push_back(std::make_unique<node::NodeSession>(
        schools[i].name, std::move(schools[i].split), security, schools[i].attributes));
    if (options.crashes.rate > 0) {
      // It comes back on its data and keys, with nothing else of the session that died.
      auto restart = [first = sessions.back().get(), security, attributes = schools[i].attributes] {
        return std::make_unique<node::NodeSession>(first->name(), first->data(), security,
                                                   attributes);
      };
      auto school = std::make_unique<CrashingSchool>(std::move(connection), options.crashes, i,
                                                     schools[i].name, stages, crashes, restart);
      crashing[i] = school.get();
      connection = std::move(school);
    }
    clients.push_back(
        std::make_unique<protocol::FaultyClientTransport>(std::move(connection), node_faults));
  }
  std::vector<node::PoolMember> members;
  for (size_t i = 0; i < schools.size(); ++i)
    members.push_back({sessions[i].get(), clients[i].get(), crashing[i]});
  std::atomic<bool> stop{false};
  // Nodes that miss their Shutdown are stopped once the run has ended.
  std::thread pool([&] { node::RunNodePool(members, PoolOptions(stop, options)); });
  coordinator::ServeOptions serve;
  serve.should_stop = options.should_stop;
  if (options.coordinator_transcript) {
    TranscribedServer transcribed(server, options.coordinator_transcript);
    outcome.status = coordinator::ServeRun(**loop, transcribed, serve);
  } else {
    outcome.status = coordinator::ServeRun(**loop, server, serve);
  }
  stop = true;
  pool.join();
  outcome.records = (*loop)->records();
  outcome.model = (*loop)->global_model();
  AddCounts(outcome.faults, server.counts());
  for (const auto& c : clients) AddCounts(outcome.faults, c->counts());
  outcome.joined = joined.size();
  outcome.dropouts = InRunRounds(dropouts.Sorted(), round_of_attempt);
  outcome.tampered = tampered.load();
  outcome.delays = InRunRounds(delays.Sorted(), round_of_attempt);
  outcome.crashes = InRunRounds(crashes.Sorted(), round_of_attempt);
  return outcome;
}

}  // namespace cartable::simulations
