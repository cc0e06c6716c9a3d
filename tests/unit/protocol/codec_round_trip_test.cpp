// Encode → Decode round trips of every message type, and the frame layout docs/wire-format.md
// promises.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "protocol/codec.h"
#include "protocol/messages.h"

using namespace cartable::protocol;  // NOLINT: test code

namespace {

// Bitwise, so that -0.0, NaN payloads and denormals must survive unchanged.
::testing::AssertionResult SameFloats(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) {
    return ::testing::AssertionFailure() << "sizes differ: " << a.size() << " vs " << b.size();
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) {
      return ::testing::AssertionFailure()
             << "element " << i << " differs: " << a[i] << " vs " << b[i];
    }
  }
  return ::testing::AssertionSuccess();
}

void ExpectSame(const WireModelSpec& a, const WireModelSpec& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.num_skills, b.num_skills);
}
void ExpectSame(const Hello& a, const Hello& b) { EXPECT_EQ(a.node_name, b.node_name); }
void ExpectSame(const TrainRequest& a, const TrainRequest& b) {
  ExpectSame(a.model, b.model);
  EXPECT_EQ(a.config.local_epochs, b.config.local_epochs);
  EXPECT_EQ(a.config.batch_size, b.config.batch_size);
  EXPECT_EQ(a.config.learning_rate, b.config.learning_rate);
  EXPECT_EQ(a.config.seed, b.config.seed);
  EXPECT_TRUE(SameFloats(a.global_parameters, b.global_parameters));
  EXPECT_EQ(a.establishment_dp.enabled, b.establishment_dp.enabled);
  EXPECT_EQ(a.establishment_dp.noise_multiplier, b.establishment_dp.noise_multiplier);
  EXPECT_EQ(a.establishment_dp.min_contributors, b.establishment_dp.min_contributors);
  EXPECT_EQ(a.establishment_dp.delta, b.establishment_dp.delta);
  EXPECT_EQ(a.establishment_dp.rounds, b.establishment_dp.rounds);
}
void ExpectSame(const TrainResult& a, const TrainResult& b) {
  EXPECT_TRUE(SameFloats(a.contribution, b.contribution));
}
void ExpectSame(const EvaluateRequest& a, const EvaluateRequest& b) {
  ExpectSame(a.model, b.model);
  EXPECT_TRUE(SameFloats(a.parameters, b.parameters));
  ASSERT_EQ(a.groups.size(), b.groups.size());
  for (size_t i = 0; i < a.groups.size(); ++i) {
    EXPECT_EQ(a.groups[i].name, b.groups[i].name);
    EXPECT_EQ(a.groups[i].values, b.groups[i].values);
  }
  EXPECT_EQ(a.min_group_pupils, b.min_group_pupils);
}
void ExpectSame(const WireGroupStatistics& a, const WireGroupStatistics& b) {
  EXPECT_EQ(a.positive_histogram, b.positive_histogram);
  EXPECT_EQ(a.negative_histogram, b.negative_histogram);
  EXPECT_EQ(a.log_loss_sum, b.log_loss_sum);
  EXPECT_EQ(a.correct, b.correct);
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.squared_error_sum, b.squared_error_sum);
  EXPECT_EQ(a.pupils, b.pupils);
}
void ExpectSame(const EvaluateResult& a, const EvaluateResult& b) {
  ExpectSame(a.all, b.all);
  ASSERT_EQ(a.groups.size(), b.groups.size());
  for (size_t i = 0; i < a.groups.size(); ++i) ExpectSame(a.groups[i], b.groups[i]);
}
void ExpectSame(const Shutdown& a, const Shutdown& b) { EXPECT_EQ(a.reason, b.reason); }
void ExpectSame(const ErrorReply& a, const ErrorReply& b) {
  EXPECT_EQ(a.code, b.code);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.accused, b.accused);
}
void ExpectSame(const Heartbeat&, const Heartbeat&) {}

// Encodes, decodes, and checks the envelope and its body of type T came back unchanged.
template <typename T>
void ExpectRoundTrip(uint64_t run_id, uint32_t round, const T& body) {
  const std::string frame = Encode(Envelope{run_id, round, body});
  auto decoded = Decode(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->run_id, run_id);
  EXPECT_EQ(decoded->round, round);
  ASSERT_EQ(TypeOf(decoded->body), TypeOf(Body(body)));
  const T* back = std::get_if<T>(&decoded->body);
  ASSERT_NE(back, nullptr);
  ExpectSame(body, *back);
  // Decoding is canonical: re-encoding yields the very same bytes.
  EXPECT_EQ(Encode(*decoded), frame);
}

TEST(CodecRoundTripTest, Hello) {
  ExpectRoundTrip(0, 0, Hello{"école-saint-exupéry-3"});
  ExpectRoundTrip(0, 0, Hello{""});
}

TEST(CodecRoundTripTest, TrainRequest) {
  TrainRequest request;
  request.model = WireModelSpec{"logistic-bkt", 37};
  request.config = WireTrainConfig{5, 128, 0.0125f, 0xdeadbeefcafef00dULL};
  request.global_parameters = {0.5f, -1.25f, 3e-8f, 1e30f, -0.0f, 0.0f};
  request.establishment_dp = {1, 0.75, 4, 1e-6, 12};
  ExpectRoundTrip(123456789012345ULL, 17, request);
}

TEST(CodecRoundTripTest, MillionFloatTrainRequest) {
  TrainRequest request;
  request.model = WireModelSpec{"mlp", 1000};
  request.config = WireTrainConfig{2, 64, 0.1f, 7};
  request.global_parameters.resize(1'000'000);
  for (size_t i = 0; i < request.global_parameters.size(); ++i) {
    request.global_parameters[i] = static_cast<float>(std::sin(static_cast<double>(i)) * 1e3);
  }
  const std::string frame = Encode(Envelope{9, 3, request});
  EXPECT_GT(frame.size(), 4'000'000u);
  ExpectRoundTrip(9, 3, request);
}

TEST(CodecRoundTripTest, TrainResultKeepsSpecialFloatsBitExact) {
  TrainResult result;
  result.contribution = {1.0f,
                         -0.0f,
                         std::numeric_limits<float>::infinity(),
                         -std::numeric_limits<float>::infinity(),
                         std::numeric_limits<float>::denorm_min(),
                         std::numeric_limits<float>::max(),
                         std::numeric_limits<float>::quiet_NaN()};
  ExpectRoundTrip(42, 1, result);
}

// Received frames sit wherever their buffer put them, and a vector's bytes follow fields of any
// length: decoding copies elements from every alignment.
TEST(CodecRoundTripTest, VectorsDecodeFromFramesAtAnyAlignment) {
  TrainResult result{{1.5f, -2.25f, 3.0f, 1e-30f, 7.0f}};
  EvaluateResult counts;
  counts.all.positive_histogram = {1, 1ULL << 40, 3};
  const std::string frames[] = {Encode(Envelope{1, 1, result}), Encode(Envelope{1, 1, counts})};
  for (const std::string& frame : frames) {
    for (size_t shift = 0; shift < 8; ++shift) {
      const std::string padded = std::string(shift, 'p') + frame;
      auto decoded = Decode(std::string_view(padded).substr(shift));
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      EXPECT_EQ(Encode(*decoded), frame) << "shift " << shift;
    }
  }
}

TEST(CodecRoundTripTest, TrainResultWithEmptyContribution) {
  ExpectRoundTrip(42, 2, TrainResult{{}});
}

TEST(CodecRoundTripTest, EvaluateRequest) {
  EvaluateRequest request;
  request.model = WireModelSpec{"logistic", 4};
  request.parameters = {0.1f, 0.2f, 0.3f, -0.4f, 5.0f, 60.0f, -700.0f, 8000.0f, 0.009f};
  request.groups = {{"gender", {"F", "M"}}, {"age_band", {"0-35", "35-55", "55<="}}};
  request.min_group_pupils = 12;
  ExpectRoundTrip(std::numeric_limits<uint64_t>::max(), std::numeric_limits<uint32_t>::max(),
                  request);
}

TEST(CodecRoundTripTest, EvaluateResult) {
  EvaluateResult result;
  result.all.positive_histogram = {0, 1, 2, 3, std::numeric_limits<uint64_t>::max(), 1ULL << 40};
  result.all.negative_histogram = {9, 8, 7};
  result.all.log_loss_sum = 1234.5678;
  result.all.correct = 987654;
  result.all.count = 1000000;
  result.all.squared_error_sum = 210.25;
  result.all.pupils = 4321;
  result.groups = {result.all, {{1}, {2}, 0.5, 1, 3, 0.25, 2}};
  ExpectRoundTrip(5, 8, result);
}

TEST(CodecRoundTripTest, Shutdown) {
  ExpectRoundTrip(5, 10, Shutdown{"run finished after 10 rounds"});
  ExpectRoundTrip(5, 10, Shutdown{std::string(kMaxTextBytes, 'x')});  // exactly at the limit
}

TEST(CodecRoundTripTest, ErrorReply) {
  ExpectRoundTrip(5, 4, ErrorReply{8, "cannot train: dataset school-3.csv has no rows"});
  std::string binary_text("nul\0inside\xff", 11);
  ExpectRoundTrip(5, 4, ErrorReply{0xffffffffu, binary_text});
  ExpectRoundTrip(
      5, 4, ErrorReply{7, "cohort member 'b' comes with another identity key", {"b", "lycée-c"}});
}

TEST(CodecRoundTripTest, Heartbeat) {
  ExpectRoundTrip(77, 12, Heartbeat{});
  // The payload is just the endianness byte.
  EXPECT_EQ(Encode(Envelope{77, 12, Heartbeat{}}).size(), kHeaderBytes + 1);
}

// Little-endian helpers to read a frame as docs/wire-format.md lays it out.
uint64_t Le(const std::string& frame, size_t offset, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<uint64_t>(static_cast<uint8_t>(frame[offset + i])) << (8 * i);
  }
  return value;
}

TEST(CodecLayoutTest, HeaderFieldsAreWhereTheDocSays) {
  const std::string frame =
      Encode(Envelope{0x0102030405060708ULL, 0x0a0b0c0d, TrainResult{{1.0f}}});
  ASSERT_GE(frame.size(), kHeaderBytes);
  EXPECT_EQ(frame.substr(0, 4), "CRTB");
  EXPECT_EQ(static_cast<uint8_t>(frame[4]), kProtocolVersion);
  EXPECT_EQ(static_cast<uint8_t>(frame[5]), static_cast<uint8_t>(MessageType::kTrainResult));
  EXPECT_EQ(static_cast<uint8_t>(frame[6]), static_cast<uint8_t>(Stage::kTrain));
  EXPECT_EQ(frame[7], 0);
  EXPECT_EQ(Le(frame, 8, 8), 0x0102030405060708ULL);
  EXPECT_EQ(Le(frame, 16, 4), 0x0a0b0c0du);
  EXPECT_EQ(Le(frame, 20, 4), frame.size() - kHeaderBytes);
  // Payload: endianness byte, u64 count, one f32.
  EXPECT_EQ(frame.size() - kHeaderBytes, 1u + 8 + 4);
  EXPECT_EQ(frame[kHeaderBytes], 1);
  EXPECT_EQ(Le(frame, kHeaderBytes + 1, 8), 1u);
}

TEST(CodecLayoutTest, HelloFrameIsByteExact) {
  const std::string expected =
      std::string("CRTB\x08\x01\x00\x00", 8) + std::string(8, '\0') + std::string(4, '\0') +
      std::string("\x2b\x00\x00\x00", 4) +                         // payload length 43
      std::string("\x01", 1) +                                     // little-endian writer
      std::string("\x02\x00\x00\x00\x00\x00\x00\x00", 8) + "ab" +  // text: u64 count, bytes
      std::string(31, '\0') + "\x07";  // signing key: 32 bytes, no count
  PublicKeyBytes key{};
  key[31] = 7;
  EXPECT_EQ(Encode(Envelope{0, 0, Hello{"ab", key}}), expected);
}

TEST(CodecLayoutTest, DecodeHeaderReportsTheFields) {
  const std::string frame = Encode(Envelope{77, 6, EvaluateRequest{{"m", 2}, {1, 2, 3}}});
  auto header = DecodeHeader(frame, kDefaultMaxPayloadBytes);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->version, kProtocolVersion);
  EXPECT_EQ(header->type, MessageType::kEvaluateRequest);
  EXPECT_EQ(header->stage, Stage::kEvaluate);
  EXPECT_EQ(header->run_id, 77u);
  EXPECT_EQ(header->round, 6u);
  EXPECT_EQ(header->payload_bytes, frame.size() - kHeaderBytes);
}

TEST(MessagesTest, TypesStagesAndNames) {
  struct Case {
    Body body;
    MessageType type;
    Stage stage;
    const char* name;
  };
  const std::vector<Case> cases = {
      {Hello{}, MessageType::kHello, Stage::kJoin, "Hello"},
      {TrainRequest{}, MessageType::kTrainRequest, Stage::kTrain, "TrainRequest"},
      {TrainResult{}, MessageType::kTrainResult, Stage::kTrain, "TrainResult"},
      {EvaluateRequest{}, MessageType::kEvaluateRequest, Stage::kEvaluate, "EvaluateRequest"},
      {EvaluateResult{}, MessageType::kEvaluateResult, Stage::kEvaluate, "EvaluateResult"},
      {Shutdown{}, MessageType::kShutdown, Stage::kControl, "Shutdown"},
      {ErrorReply{}, MessageType::kError, Stage::kControl, "Error"},
      {Heartbeat{}, MessageType::kHeartbeat, Stage::kControl, "Heartbeat"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(TypeOf(c.body), c.type) << c.name;
    EXPECT_EQ(StageOf(c.type), c.stage) << c.name;
    EXPECT_EQ(MessageTypeName(c.type), c.name);
  }
  EXPECT_EQ(MessageTypeName(static_cast<MessageType>(99)), "Unknown");
}

TEST(MessagesTest, DefaultBodiesRoundTrip) {
  for (const Body& body :
       std::vector<Body>{Hello{}, TrainRequest{}, TrainResult{}, EvaluateRequest{},
                         EvaluateResult{}, Shutdown{}, ErrorReply{}, Heartbeat{}}) {
    auto decoded = Decode(Encode(Envelope{1, 1, body}));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(TypeOf(decoded->body), TypeOf(body));
  }
}

}  // namespace
