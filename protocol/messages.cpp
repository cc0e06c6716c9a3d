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
    MessageType operator()(const KeyAdvert&) { return MessageType::kKeyAdvert; }
    MessageType operator()(const KeyList&) { return MessageType::kKeyList; }
    MessageType operator()(const ShareKeys&) { return MessageType::kShareKeys; }
    MessageType operator()(const ShareDelivery&) { return MessageType::kShareDelivery; }
    MessageType operator()(const MaskedInput&) { return MessageType::kMaskedInput; }
    MessageType operator()(const SurvivorList&) { return MessageType::kSurvivorList; }
    MessageType operator()(const SurvivorSignature&) { return MessageType::kSurvivorSignature; }
    MessageType operator()(const UnmaskRequest&) { return MessageType::kUnmaskRequest; }
    MessageType operator()(const UnmaskResponse&) { return MessageType::kUnmaskResponse; }
    MessageType operator()(const AdminRequest&) { return MessageType::kAdminRequest; }
    MessageType operator()(const AdminReply&) { return MessageType::kAdminReply; }
  };
  return std::visit(Visitor{}, body);
}

Stage StageOf(MessageType type) {
  switch (type) {
    case MessageType::kHello:
      return Stage::kJoin;
    case MessageType::kTrainRequest:
    case MessageType::kTrainResult:
      return Stage::kTrain;
    case MessageType::kEvaluateRequest:
    case MessageType::kEvaluateResult:
      return Stage::kEvaluate;
    case MessageType::kShutdown:
    case MessageType::kError:
    case MessageType::kHeartbeat:
    case MessageType::kAdminRequest:
    case MessageType::kAdminReply:
      return Stage::kControl;
    case MessageType::kKeyAdvert:
      return Stage::kAdvertiseKeys;
    case MessageType::kKeyList:
    case MessageType::kShareKeys:
      return Stage::kShareKeys;
    case MessageType::kShareDelivery:
    case MessageType::kMaskedInput:
      return Stage::kMaskedInput;
    case MessageType::kSurvivorList:
    case MessageType::kSurvivorSignature:
      return Stage::kConsistencyCheck;
    case MessageType::kUnmaskRequest:
    case MessageType::kUnmaskResponse:
      return Stage::kUnmask;
  }
  return Stage::kControl;
}

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kHello:
      return "Hello";
    case MessageType::kTrainRequest:
      return "TrainRequest";
    case MessageType::kTrainResult:
      return "TrainResult";
    case MessageType::kEvaluateRequest:
      return "EvaluateRequest";
    case MessageType::kEvaluateResult:
      return "EvaluateResult";
    case MessageType::kShutdown:
      return "Shutdown";
    case MessageType::kError:
      return "Error";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kKeyAdvert:
      return "KeyAdvert";
    case MessageType::kKeyList:
      return "KeyList";
    case MessageType::kShareKeys:
      return "ShareKeys";
    case MessageType::kShareDelivery:
      return "ShareDelivery";
    case MessageType::kMaskedInput:
      return "MaskedInput";
    case MessageType::kSurvivorList:
      return "SurvivorList";
    case MessageType::kSurvivorSignature:
      return "SurvivorSignature";
    case MessageType::kUnmaskRequest:
      return "UnmaskRequest";
    case MessageType::kUnmaskResponse:
      return "UnmaskResponse";
    case MessageType::kAdminRequest:
      return "AdminRequest";
    case MessageType::kAdminReply:
      return "AdminReply";
  }
  return "Unknown";
}

}  // namespace cartable::protocol
