#pragma once

// The messages a coordinator and its nodes exchange, as plain structs. Framing and serialisation live in
// codec.h; nothing here knows about bytes or sockets. Every message travels in an Envelope that names the
// run and the round it belongs to, so stale or misdirected messages can be refused by the state machines.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cartable::protocol {

inline constexpr uint8_t kProtocolVersion = 1;

// One hyperparameter of a model, as text (the model parses and checks it).
struct ModelOption {
  std::string key;
  std::string value;
};

// What a model is, as the coordinator announces it (models::ModelSpec on either side).
struct WireModelSpec {
  std::string name;
  uint32_t num_skills = 0;
  uint32_t num_items = 0;     // 0: the data carry no item ids
  uint32_t num_features = 0;  // per-pupil record features, for early-warning models
  std::vector<ModelOption> options;
};

// How a node trains locally in one round.
struct WireTrainConfig {
  uint32_t local_epochs = 1;
  uint32_t batch_size = 256;
  float learning_rate = 0.05f;
  uint64_t seed = 0;
};

// node → coordinator, first message on a connection.
struct Hello {
  std::string node_name;
};

// coordinator → node: train from these global parameters.
struct TrainRequest {
  WireModelSpec model;
  WireTrainConfig config;
  std::vector<float> global_parameters;
};

// node → coordinator: the local update. `delta` = local − global parameters; `weight` = training examples.
struct TrainResult {
  std::vector<float> delta;
  double weight = 0;
  double train_loss = 0;
};

// coordinator → node: evaluate these parameters on the held-out pupils.
struct EvaluateRequest {
  WireModelSpec model;
  std::vector<float> parameters;
};

// node → coordinator: summable evaluation statistics (per-label score histograms and sums), from which the
// coordinator computes federation-wide AUC, accuracy and log-loss without seeing any single prediction.
struct EvaluateResult {
  std::vector<uint64_t> positive_histogram;
  std::vector<uint64_t> negative_histogram;
  double log_loss_sum = 0;
  uint64_t correct = 0;
  uint64_t count = 0;
  double squared_error_sum = 0;
};

// coordinator → node: the run is over (or was stopped); `reason` says which.
struct Shutdown {
  std::string reason;
};

// either way: the peer could not act on a message. `message` is for the other side's log.
struct ErrorReply {
  uint32_t code = 0;  // a StatusCode, or kErrorNotJoined
  std::string message;
};

// ErrorReply code from a coordinator that does not know the sender (it restarted, or forgot a silent node):
// the node should say Hello again.
inline constexpr uint32_t kErrorNotJoined = 1000;

// either way: "still here". A node sends one when it has been quiet for a while; the coordinator answers.
struct Heartbeat {};

using Body = std::variant<Hello, TrainRequest, TrainResult, EvaluateRequest, EvaluateResult, Shutdown,
                          ErrorReply, Heartbeat>;

enum class MessageType : uint8_t {
  kHello = 1,
  kTrainRequest = 2,
  kTrainResult = 3,
  kEvaluateRequest = 4,
  kEvaluateResult = 5,
  kShutdown = 6,
  kError = 7,
  kHeartbeat = 8,
};

// Where in a round a message belongs; carried in the frame header so stale stages can be refused.
enum class Stage : uint8_t {
  kJoin = 0,
  kTrain = 1,
  kEvaluate = 2,
  kControl = 3,
};

struct Envelope {
  uint64_t run_id = 0;
  uint32_t round = 0;
  Body body;
};

MessageType TypeOf(const Body& body);
Stage StageOf(MessageType type);
std::string_view MessageTypeName(MessageType type);

}  // namespace cartable::protocol
