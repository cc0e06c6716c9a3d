#include "bench/transport_bench.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>
#include <zmq.hpp>

#include "protocol/codec.h"
#include "protocol/curve_keys.h"
#include "protocol/zmq_transport.h"

namespace cartable::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Joins the node threads on every way out, so an error is reported instead of terminating the
// process.
struct Joiner {
  std::vector<std::thread>& threads;
  ~Joiner() {
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }
};

struct Keys {
  protocol::CurveKeyPair server;
  std::vector<protocol::CurveKeyPair> nodes;
  std::filesystem::path allow_dir;
};

// --- cartable: ZmqServerTransport / ZmqClientTransport and the codec
// ---------------------------------

StatusOr<double> CartableRound(const TransportBenchConfig& c, const Keys* keys) {
  std::unique_ptr<protocol::ZmqServerTransport> server;
  if (keys) {
    CARTABLE_ASSIGN_OR_RETURN(server, protocol::ZmqServerTransport::BindCurve(
                                          "tcp://127.0.0.1:*", keys->server, keys->allow_dir));
  } else {
    CARTABLE_ASSIGN_OR_RETURN(server, protocol::ZmqServerTransport::Bind("tcp://127.0.0.1:*"));
  }
  // A node leaves right after sending its last update, which must still reach the server: closing
  // waits until it is sent, as bare ZeroMQ's default (infinite) linger does. With the default 1 s,
  // a 100 MB update still being encrypted on a busy machine was dropped and the server waited in
  // vain.
  protocol::ZmqOptions node_options;
  node_options.linger_ms = 120'000;
  std::vector<std::thread> threads;
  Joiner joiner{threads};
  for (int n = 0; n < c.nodes; ++n) {
    threads.emplace_back([&, n] {
      auto client =
          keys ? protocol::ZmqClientTransport::ConnectCurve(server->endpoint(), keys->nodes[n],
                                                            keys->server.public_key, node_options)
               : protocol::ZmqClientTransport::Connect(server->endpoint(), node_options);
      if (!client.ok()) return;
      (*client)->Send(protocol::Encode({0, 0, protocol::Hello{"node"}})).IgnoreError();
      // An update of the model's size, written into a buffer allocated once, as the bare node does.
      protocol::Envelope update{
          0, 0, protocol::TrainResult{std::vector<float>(static_cast<size_t>(c.dim))}};
      for (int r = 0; r < c.rounds; ++r) {
        auto frame = (*client)->Receive(std::chrono::seconds(60));
        if (!frame.ok() || !*frame) return;
        auto request = protocol::Decode(**frame);
        if (!request.ok()) return;
        const auto& model = std::get<protocol::TrainRequest>(request->body).global_parameters;
        update.run_id = request->run_id;
        update.round = request->round;
        std::get<protocol::TrainResult>(update.body)
            .contribution.assign(model.begin(), model.end());
        (*client)->SendOwned(protocol::Encode(update)).IgnoreError();
      }
    });
  }
  std::vector<protocol::PeerId> peers;
  while (static_cast<int>(peers.size()) < c.nodes) {
    CARTABLE_ASSIGN_OR_RETURN(auto got, server->Receive(std::chrono::seconds(30)));
    if (!got) return DeadlineExceededError("benchmark nodes did not connect");
    peers.push_back(got->peer);
  }
  protocol::TrainRequest request{
      {"bench", 1}, {}, std::vector<float>(static_cast<size_t>(c.dim), 0.5f)};
  const auto start = Clock::now();
  for (int r = 1; r <= c.rounds; ++r) {
    auto frame = std::make_shared<const std::string>(
        protocol::Encode({1, static_cast<uint32_t>(r), request}));
    for (const auto& peer : peers) CARTABLE_RETURN_IF_ERROR(server->SendShared(peer, frame));
    for (int n = 0; n < c.nodes; ++n) {
      CARTABLE_ASSIGN_OR_RETURN(auto got, server->Receive(std::chrono::seconds(60)));
      if (!got) return DeadlineExceededError("benchmark nodes stopped answering");
      CARTABLE_ASSIGN_OR_RETURN(auto update, protocol::Decode(got->frame));
    }
  }
  return std::chrono::duration<double>(Clock::now() - start).count() / c.rounds;
}

// --- bare ZeroMQ: the same pattern, raw bytes, no codec
// --------------------------------------------

void SetCurveClient(zmq::socket_t& s, const Keys& keys, int n) {
  s.set(zmq::sockopt::curve_serverkey, keys.server.public_key);
  s.set(zmq::sockopt::curve_publickey, keys.nodes[n].public_key);
  s.set(zmq::sockopt::curve_secretkey, keys.nodes[n].secret_key.z85());
}

StatusOr<double> BareRound(const TransportBenchConfig& c, const Keys* keys) {
  const size_t bytes = static_cast<size_t>(c.dim) * sizeof(float);
  zmq::context_t context(1);
  zmq::socket_t router(context, zmq::socket_type::router);
  if (keys) {  // no ZAP handler in this context: CURVE encrypts, every key is accepted
    router.set(zmq::sockopt::curve_server, 1);
    router.set(zmq::sockopt::curve_secretkey, keys->server.secret_key.z85());
  }
  router.bind("tcp://127.0.0.1:*");
  const std::string endpoint = router.get(zmq::sockopt::last_endpoint);
  std::vector<std::thread> threads;
  Joiner joiner{threads};
  for (int n = 0; n < c.nodes; ++n) {
    threads.emplace_back([&, n] {
      zmq::context_t own(1);
      zmq::socket_t dealer(own, zmq::socket_type::dealer);
      if (keys) SetCurveClient(dealer, *keys, n);
      dealer.connect(endpoint);
      dealer.send(zmq::str_buffer("hello"), zmq::send_flags::none);
      std::vector<float> update(static_cast<size_t>(c.dim));
      for (int r = 0; r < c.rounds; ++r) {
        zmq::message_t model;
        if (!dealer.recv(model, zmq::recv_flags::none)) return;
        std::memcpy(update.data(), model.data(), std::min(model.size(), bytes));
        dealer.send(zmq::buffer(update.data(), bytes), zmq::send_flags::none);
      }
    });
  }
  std::vector<std::string> peers;
  for (int n = 0; n < c.nodes; ++n) {
    zmq::message_t id, hello;
    (void)router.recv(id);
    (void)router.recv(hello);
    peers.push_back(id.to_string());
  }
  std::vector<float> model(static_cast<size_t>(c.dim), 0.5f);
  const auto start = Clock::now();
  for (int r = 0; r < c.rounds; ++r) {
    for (const auto& peer : peers) {
      router.send(zmq::buffer(peer), zmq::send_flags::sndmore);
      router.send(zmq::buffer(model.data(), bytes), zmq::send_flags::none);
    }
    for (int n = 0; n < c.nodes; ++n) {
      zmq::message_t id, update;
      (void)router.recv(id);
      (void)router.recv(update);
    }
  }
  return std::chrono::duration<double>(Clock::now() - start).count() / c.rounds;
}

StatusOr<Keys> MakeKeys(int nodes) {
  Keys keys{protocol::GenerateCurveKeyPair().value(), {}, {}};
  keys.allow_dir =
      std::filesystem::temp_directory_path() / ("cartable-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(keys.allow_dir);
  for (int n = 0; n < nodes; ++n) {
    CARTABLE_ASSIGN_OR_RETURN(auto pair, protocol::GenerateCurveKeyPair());
    CARTABLE_RETURN_IF_ERROR(
        protocol::WriteCurveKeyPair(keys.allow_dir, "node-" + std::to_string(n), pair));
    keys.nodes.push_back(std::move(pair));
  }
  return keys;
}

}  // namespace

StatusOr<std::vector<TransportBenchResult>> RunTransportBench(const TransportBenchConfig& c) {
  if (c.nodes < 1 || c.dim < 1 || c.rounds < 1 || c.repetitions < 1) {
    return InvalidArgumentError("nodes, dim, rounds and repetitions must be at least 1");
  }
  CARTABLE_ASSIGN_OR_RETURN(Keys keys, MakeKeys(c.nodes));
  struct Variant {
    std::string name;
    bool cartable;
    const Keys* keys;
  };
  const std::vector<Variant> variants = {{"bare NULL", false, nullptr},
                                         {"cartable NULL", true, nullptr},
                                         {"bare CURVE", false, &keys},
                                         {"cartable CURVE", true, &keys}};
  std::vector<std::vector<double>> times(variants.size());
  // Interleave repetitions so that machine noise falls on every variant alike.
  for (int rep = 0; rep < c.repetitions; ++rep) {
    for (size_t v = 0; v < variants.size(); ++v) {
      auto t = variants[v].cartable ? CartableRound(c, variants[v].keys)
                                    : BareRound(c, variants[v].keys);
      if (!t.ok()) return t.status().WithContext(variants[v].name);
      times[v].push_back(*t);
    }
  }
  std::filesystem::remove_all(keys.allow_dir);
  const double payload = 2.0 * c.nodes * c.dim * sizeof(float);
  std::vector<TransportBenchResult> results;
  for (size_t v = 0; v < variants.size(); ++v) {
    std::sort(times[v].begin(), times[v].end());
    const double median = times[v][times[v].size() / 2];
    results.push_back({variants[v].name, median, payload / median / 1e9});
  }
  return results;
}

}  // namespace cartable::bench
