// Large frames in chunks: reassembly rules, and a 100 MB model over real sockets with small message
// parts.

#include "protocol/internal/chunking.h"

#include <gtest/gtest.h>

#include "protocol/codec.h"
#include "protocol/zmq_transport.h"

namespace cartable::protocol {
namespace {

using internal::ChunkHeader;
using internal::Reassembler;

TEST(ChunkingTest, HeaderRoundTripsAndRefusesOtherBytes) {
  ChunkHeader h{7, 2, 5, 123456};
  auto back = internal::DecodeChunkHeader(internal::EncodeChunkHeader(h));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->transfer, 7u);
  EXPECT_EQ(back->index, 2u);
  EXPECT_EQ(back->count, 5u);
  EXPECT_EQ(back->total, 123456u);
  EXPECT_FALSE(internal::DecodeChunkHeader("CRTB and some more bytes...").ok());
}

TEST(ChunkingTest, ReassemblesInOrderChunks) {
  Reassembler r(100);
  EXPECT_FALSE(r.Add({1, 0, 3, 10}, "abcd").value().has_value());
  EXPECT_TRUE(r.in_progress());
  EXPECT_EQ(r.received(), 4u);
  EXPECT_FALSE(r.Add({1, 1, 3, 10}, "efgh").value().has_value());
  auto whole = r.Add({1, 2, 3, 10}, "ij");
  ASSERT_TRUE(whole.ok());
  ASSERT_TRUE(whole->has_value());
  EXPECT_EQ((*whole)->bytes(), "abcdefghij");
  EXPECT_FALSE(r.in_progress());
}

TEST(ChunkingTest, RefusesGapsForeignTransfersAndLies) {
  Reassembler r(100);
  EXPECT_FALSE(r.Add({1, 1, 3, 10}, "efgh").ok());  // no start
  ASSERT_TRUE(r.Add({1, 0, 3, 10}, "abcd").ok());
  EXPECT_FALSE(r.Add({1, 2, 3, 10}, "ij").ok());  // skipped chunk 1
  EXPECT_FALSE(r.in_progress());
  ASSERT_TRUE(r.Add({2, 0, 3, 10}, "abcd").ok());
  EXPECT_FALSE(r.Add({3, 1, 3, 10}, "efgh").ok());    // another transfer's chunk
  EXPECT_FALSE(r.Add({4, 0, 3, 1000}, "abcd").ok());  // over the 100-byte limit
  EXPECT_FALSE(r.Add({5, 0, 2, 10}, "abcd").ok());    // 10 bytes cannot be 2 chunks of 4
  ASSERT_TRUE(r.Add({6, 0, 3, 10}, "abcd").ok());
  EXPECT_FALSE(r.Add({6, 1, 3, 10}, "abc").ok());  // short middle chunk
}

TEST(ChunkingTest, AReleasedFrameLendsItsBufferToTheNextFrame) {
  auto pool = std::make_shared<internal::FrameBufferPool>(1000);
  Reassembler r(1000, pool);
  // Chunks of 32 bytes, so that frames live on the heap (not in a short string's own bytes).
  const auto chunk = [](char c) { return std::string(32, c); };
  ASSERT_FALSE(r.Add({1, 0, 2, 64}, chunk('a')).value().has_value());
  std::optional<Frame> first = r.Add({1, 1, 2, 64}, chunk('b')).value();
  ASSERT_TRUE(first.has_value());
  const char* first_bytes = first->bytes().data();

  // While the first frame is held, the next one gets its own buffer and leaves it intact.
  ASSERT_TRUE(r.Add({2, 0, 2, 64}, chunk('c')).ok());
  std::optional<Frame> second = r.Add({2, 1, 2, 64}, chunk('d')).value();
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(second->bytes().data(), first_bytes);
  EXPECT_EQ(first->bytes(), chunk('a') + chunk('b'));
  EXPECT_EQ(second->bytes(), chunk('c') + chunk('d'));

  // Once released, its buffer is reused; copies of a frame keep it alive like the frame itself.
  Frame copy = *first;
  first.reset();
  EXPECT_EQ(pool->spare_bytes(), 0u);
  copy = Frame();
  EXPECT_GE(pool->spare_bytes(), 64u);
  ASSERT_TRUE(r.Add({3, 0, 2, 64}, chunk('e')).ok());
  std::optional<Frame> third = r.Add({3, 1, 2, 64}, chunk('f')).value();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->bytes().data(), first_bytes);
  EXPECT_EQ(third->bytes(), chunk('e') + chunk('f'));
  EXPECT_EQ(pool->spare_bytes(), 0u);
}

TEST(ChunkingTest, ThePoolKeepsNoMoreIdleBytesThanItsLimit) {
  auto pool = std::make_shared<internal::FrameBufferPool>(1000);
  Frame a = pool->Lend(pool->Take(600));
  Frame b = pool->Lend(pool->Take(600));
  a = Frame();
  const size_t kept = pool->spare_bytes();
  EXPECT_GE(kept, 600u);
  b = Frame();  // 1200 idle bytes would exceed 1000: this buffer is freed
  EXPECT_EQ(pool->spare_bytes(), kept);
  // A frame may outlive the transport that owned the pool.
  Frame late = pool->Lend(std::string("late"));
  pool.reset();
  EXPECT_EQ(late.bytes(), "late");
}

TEST(ChunkingTest, ATransferHoldsItsDeclaredSizeFromTheBudgetUntilItEndsOneWayOrAnother) {
  auto budget = std::make_shared<internal::ReassemblyBudget>(15);
  {
    Reassembler a(100, nullptr, budget);
    Reassembler b(100, nullptr, budget);
    ASSERT_TRUE(a.Add({1, 0, 3, 10}, "abcd").ok());
    EXPECT_EQ(budget->reserved(), 10u);
    auto refused = b.Add({1, 0, 2, 8}, "abcd");  // 10 + 8 > 15
    EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
    EXPECT_FALSE(b.in_progress());
    ASSERT_TRUE(b.Add({2, 0, 2, 5}, "abc").ok());  // 10 + 5 fits
    EXPECT_EQ(budget->reserved(), 15u);

    // Completed: the frame is its reader's, and the budget gets its bytes back.
    ASSERT_TRUE(a.Add({1, 1, 3, 10}, "efgh").ok());
    auto whole = a.Add({1, 2, 3, 10}, "ij");
    ASSERT_TRUE(whole.ok() && whole->has_value());
    EXPECT_EQ(budget->reserved(), 5u);
    // Abandoned on a chunk that does not follow.
    EXPECT_FALSE(b.Add({2, 3, 2, 5}, "xx").ok());
    EXPECT_EQ(budget->reserved(), 0u);
    // A new transfer replaces one left unfinished, and its reservation.
    ASSERT_TRUE(a.Add({3, 0, 3, 10}, "abcd").ok());
    ASSERT_TRUE(a.Add({4, 0, 2, 6}, "abc").ok());
    EXPECT_EQ(budget->reserved(), 6u);
    ASSERT_TRUE(b.Add({5, 0, 2, 8}, "abcd").ok());
    EXPECT_EQ(budget->reserved(), 14u);
    a.Abandon();
    EXPECT_EQ(budget->reserved(), 8u);
  }
  // Destroyed with a transfer in progress (its peer was forgotten).
  EXPECT_EQ(budget->reserved(), 0u);
}

TEST(ChunkingTest, HundredMegabyteModelCrossesRealSocketsInSmallParts) {
  ZmqOptions options;
  options.chunk_bytes = 4 << 20;  // no message part above 4 MiB
  auto server = ZmqServerTransport::Bind("tcp://127.0.0.1:*", options).value();
  auto client = ZmqClientTransport::Connect(server->endpoint(), options).value();
  ASSERT_TRUE(client->Send(Encode({0, 0, Hello{"big"}})).ok());
  auto hello = server->Receive(std::chrono::seconds(10)).value();
  ASSERT_TRUE(hello.has_value());

  TrainRequest request{{"pfa", 1}, {}, std::vector<float>(25'000'000)};
  for (size_t i = 0; i < request.global_parameters.size(); ++i)
    request.global_parameters[i] = float(i % 9973);
  ASSERT_TRUE(server->Send(hello->peer, Encode({1, 1, request})).ok());
  std::optional<Frame> frame;
  for (int i = 0; i < 100 && !frame; ++i)
    frame = client->Receive(std::chrono::milliseconds(200)).value();
  ASSERT_TRUE(frame.has_value());
  EXPECT_TRUE(client->last_activity().has_value());
  auto decoded = Decode(*frame);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const auto& got = std::get<TrainRequest>(decoded->body).global_parameters;
  ASSERT_EQ(got.size(), request.global_parameters.size());
  EXPECT_EQ(got, request.global_parameters);

  // And back: the node's update of the same size.
  ASSERT_TRUE(client->SendOwned(Encode({1, 1, TrainResult{got}})).ok());
  std::optional<Delivery> update;
  for (int i = 0; i < 100 && !update; ++i)
    update = server->Receive(std::chrono::milliseconds(200)).value();
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->frame.size(), kHeaderBytes + 1 + 8 + 25'000'000 * 4);
}

TEST(ChunkingTest, AFrameAboveTheReceiversLimitIsDropped) {
  ZmqOptions receiver;
  receiver.chunk_bytes = 1 << 20;
  receiver.max_frame_bytes = 3 << 20;
  ZmqOptions sender;
  sender.chunk_bytes = 1 << 20;
  auto server = ZmqServerTransport::Bind("tcp://127.0.0.1:*", receiver).value();
  auto client = ZmqClientTransport::Connect(server->endpoint(), sender).value();
  ASSERT_TRUE(client->Send(std::string(5 << 20, 'x')).ok());  // 5 chunks, 5 MiB: over the limit
  ASSERT_TRUE(client->Send(std::string(2 << 20, 'y')).ok());  // 2 MiB: fine
  std::optional<Delivery> got;
  for (int i = 0; i < 50 && !got; ++i)
    got = server->Receive(std::chrono::milliseconds(100)).value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->frame.size(), size_t{2} << 20);
  EXPECT_EQ(got->frame.bytes()[0], 'y');
}

}  // namespace
}  // namespace cartable::protocol
