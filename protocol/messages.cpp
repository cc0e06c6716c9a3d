#include "protocol/messages.h"

namespace cartable::protocol {

MessageType TypeOf(const Body& body) {
  struct Visitor {
    MessageType operator()(const Hello&) { return MessageType::kHello; }
    MessageType operator()(const TrainRequest&) { return MessageType::kTrainRequest; }
    MessageType operator()(const TrainResult&) { return MessageType::kTrainResult; }
    MessageType operator()(const EvaluateRequest&) { return MessageType::kEvaluateRequest; }
    MessageType operator()(const EvaluateResult&) { return MessageType::kEvaluateResult; }
    MessageType operator()(const Shutdown&) { return MessageType::kShutdown; }
    MessageType operator()(const ErrorReply&) { return MessageType::kError; }
    MessageType operator()(const Heartbeat&) { return MessageType::kHeartbeat; }
  };
  return std::visit(Visitor{}, body);
}

Stage StageOf(MessageType type) {
  switch (type) {
    case MessageType::kHello: return Stage::kJoin;
    case MessageType::kTrainRequest:
    case MessageType::kTrainResult: return Stage::kTrain;
    case MessageType::kEvaluateRequest:
    case MessageType::kEvaluateResult: return Stage::kEvaluate;
    case MessageType::kShutdown:
    case MessageType::kError:
    case MessageType::kHeartbeat: return Stage::kControl;
  }
  return Stage::kControl;
}

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kHello: return "Hello";
    case MessageType::kTrainRequest: return "TrainRequest";
    case MessageType::kTrainResult: return "TrainResult";
    case MessageType::kEvaluateRequest: return "EvaluateRequest";
    case MessageType::kEvaluateResult: return "EvaluateResult";
    case MessageType::kShutdown: return "Shutdown";
    case MessageType::kError: return "Error";
    case MessageType::kHeartbeat: return "Heartbeat";
  }
  return "Unknown";
}

}  // namespace cartable::protocol
