// The frame fuzzer starts from tests/fuzz/corpus/frame: one valid frame per message type. A seed that
// no longer decodes (the wire changed and the seed did not) starts the fuzzer in the error paths only,
// so every seed must decode, and every message type must have one.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "protocol/codec.h"

namespace cartable::protocol {
namespace {

TEST(FrameSeedCorpusTest, EverySeedDecodesAndEveryMessageTypeHasOne) {
  std::set<MessageType> seen;
  int seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(CARTABLE_FRAME_SEEDS)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    StatusOr<Envelope> envelope = Decode(bytes.str());
    ASSERT_TRUE(envelope.ok()) << entry.path().filename() << ": " << envelope.status();
    seen.insert(TypeOf(envelope->body));
    ++seeds;
  }
  EXPECT_GE(seeds, 19);
  for (int type = static_cast<int>(MessageType::kHello); type <= static_cast<int>(MessageType::kAdminReply);
       ++type) {
    EXPECT_TRUE(seen.contains(static_cast<MessageType>(type)))
        << "no seed of type " << type << " (" << MessageTypeName(static_cast<MessageType>(type)) << ")";
  }
}

}  // namespace
}  // namespace cartable::protocol
