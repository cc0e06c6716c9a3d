// The frame fuzzer starts from tests/fuzz/corpus/frame: one valid frame per message type. A seed
// that no longer decodes (the wire changed and the seed did not) starts the fuzzer in the error
// paths only, so every seed must decode, and every message type must have one.
//
// The seeds are the frames SeedFrames() below encodes. After a wire change, rewrite them with
//   CARTABLE_WRITE_FRAME_SEEDS=1 build/bin/cartable_protocol_test \
//     --gtest_filter='FrameSeedCorpusTest.*'
// and commit the files; without the variable, the test checks that each file is still that frame.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "protocol/codec.h"

namespace cartable::protocol {
namespace {

template <size_t N>
std::array<uint8_t, N> Filled(uint8_t value) {
  std::array<uint8_t, N> out{};
  out.fill(value);
  return out;
}

WireModelSpec SeedModel() { return {"pfa", 4, 0, 0, {{"hidden_size", "8"}}}; }

// One small, valid body per message type (two for MaskedInput: 32- and 64-bit words), by file name.
std::map<std::string, Envelope> SeedFrames() {
  const KeyAdvert advert0{0, Filled<32>(0x11), Filled<32>(0x12), Filled<32>(0x33),
                          Filled<64>(0x22)};
  const KeyAdvert advert2{2, Filled<32>(0x13), Filled<32>(0x14), Filled<32>(0x34),
                          Filled<64>(0x22)};
  SecAggPlan plan{1, 2, 1, 32, Filled<32>(0x33), {}};
  TrainRequest private_request{
      SeedModel(), {1, 256, 0.05f, 0}, {0.5f, -0.25f, 1.0f}, {4.0, 10000}, plan};
  private_request.dp = {1, 1.1, 1.0, 0.01, 1e-5, 10};
  private_request.establishment_dp = {1, 1.0, 3, 1e-5, 10};
  for (const char* name : {"school-a", "school-b", "school-c"})
    plan.cohort.push_back({name, Filled<32>(0x11)});
  return {
      {"hello", {7, 3, Hello{"school-a", Filled<32>(0x11)}}},
      {"train_request",
       {7, 3,
        TrainRequest{SeedModel(), {1, 256, 0.05f, 0}, {0.5f, -0.25f, 1.0f}, {4.0, 10000}, plan}}},
      {"train_request_dp", {7, 3, private_request}},
      {"train_result", {7, 1, TrainResult{{0.1f, 0.2f, 0.012f, 0.0072f}}}},
      {"evaluate_request", {7, 3, EvaluateRequest{SeedModel(), {0.5f, -0.25f, 1.0f}}}},
      {"evaluate_result",
       {7, 2,
        EvaluateResult{{{1, 2, 3}, {3, 2, 1}, 4.5, 3, 12, 0, 2}, {{{1}, {0}, 0.5, 1, 1, 0, 1}}}}},
      {"shutdown", {7, 3, Shutdown{"run complete"}}},
      {"error", {7, 3, ErrorReply{3, "bad", {"school-b"}}}},
      {"heartbeat", {0, 0, Heartbeat{}}},
      {"key_advert", {7, 3, advert0}},
      {"key_list", {7, 3, KeyList{{advert0, advert2}}}},
      {"share_keys",
       {7, 3,
        ShareKeys{{{0, 1, Filled<32>(0x55), Filled<32>(0x66), {0, 1, 2, 3}},
                   {0, 2, Filled<32>(0x57), Filled<32>(0x68), {5, 6}}}}}},
      {"share_delivery",
       {7, 3, ShareDelivery{{{1, 0, Filled<32>(0x55), Filled<32>(0x66), {9, 8, 7}}}}}},
      {"masked_input", {7, 3, MaskedInput{{1, 2, 3, 0xffffffff}, {}, {2}}}},
      {"masked_input64", {7, 3, MaskedInput{{}, {1, 2, ~uint64_t{0}}, {}}}},
      {"survivor_list", {7, 3, SurvivorList{{0, 1, 2}}}},
      {"survivor_signature", {7, 3, SurvivorSignature{Filled<64>(0x22)}}},
      {"unmask_request", {7, 3, UnmaskRequest{{{0, Filled<64>(0x22)}, {2, Filled<64>(0x22)}}}}},
      {"unmask_response", {7, 3, UnmaskResponse{{{0, {1, 2}}}, {{2, {3, 4, 5}}}}}},
      {"admin_request", {7, 3, AdminRequest{"status"}}},
      {"admin_reply", {7, 3, AdminReply{0, "ok", {'{', '}'}}}},
  };
}

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

TEST(FrameSeedCorpusTest, EachSeedIsTheFrameItsNameStandsFor) {
  const std::filesystem::path dir = CARTABLE_FRAME_SEEDS;
  const bool write = std::getenv("CARTABLE_WRITE_FRAME_SEEDS") != nullptr;
  for (const auto& [name, envelope] : SeedFrames()) {
    const std::string frame = Encode(envelope);
    if (write) {
      std::ofstream(dir / name, std::ios::binary | std::ios::trunc) << frame;
    }
    EXPECT_EQ(Slurp(dir / name), frame)
        << name
        << " is stale: rewrite the seeds with CARTABLE_WRITE_FRAME_SEEDS=1 (see the top of this "
           "file)";
  }
}

TEST(FrameSeedCorpusTest, EverySeedDecodesAndEveryMessageTypeHasOne) {
  std::set<MessageType> seen;
  int seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(CARTABLE_FRAME_SEEDS)) {
    StatusOr<Envelope> envelope = Decode(Slurp(entry.path()));
    ASSERT_TRUE(envelope.ok()) << entry.path().filename() << ": " << envelope.status();
    seen.insert(TypeOf(envelope->body));
    ++seeds;
  }
  EXPECT_GE(seeds, 21);
  for (int type = static_cast<int>(MessageType::kHello);
       type <= static_cast<int>(MessageType::kAdminReply); ++type) {
    EXPECT_TRUE(seen.contains(static_cast<MessageType>(type)))
        << "no seed of type " << type << " (" << MessageTypeName(static_cast<MessageType>(type))
        << ")";
  }
}

}  // namespace
}  // namespace cartable::protocol
