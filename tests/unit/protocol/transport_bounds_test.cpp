// The ZeroMQ transport's bounds, on real sockets: a peer that never reads can neither make the
// coordinator's send wait nor make it queue more than its cap; a coordinator that never reads
// cannot block a node for longer than its send timeout; a chunked frame left unfinished (its sender
// stopped, or vanished) is freed after its deadline; the memory reserved for frames in transit is
// capped across peers. The figures checked are the transport's own accounting, not the process's
// memory.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "protocol/internal/chunking.h"
#include "protocol/zmq_transport.h"

namespace cartable::protocol {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

// Bounds every wait, so that a regression fails instead of hanging; never asserted as a duration.
constexpr auto kPatience = std::chrono::seconds(30);

// A raw ZeroMQ socket that reads nothing unless told to: ZeroMQ on its side buffers one message and
// the kernel a few KiB, so whatever is sent to it piles up at the sender.
class RawPeer {
 public:
  static std::unique_ptr<RawPeer> Dealer(const std::string& endpoint) {
    auto peer = std::unique_ptr<RawPeer>(new RawPeer(zmq::socket_type::dealer));
    peer->socket_.connect(endpoint);
    return peer;
  }
  static std::unique_ptr<RawPeer> Router() {
    auto peer = std::unique_ptr<RawPeer>(new RawPeer(zmq::socket_type::router));
    peer->socket_.bind("tcp://127.0.0.1:*");
    return peer;
  }

  std::string endpoint() { return socket_.get(zmq::sockopt::last_endpoint); }
  void Send(std::string_view bytes) {
    (void)socket_.send(zmq::buffer(bytes), zmq::send_flags::none);
  }
  // One chunk of a transfer, laid out as the transport sends it (docs/wire-format.md).
  void SendChunk(const internal::ChunkHeader& header, std::string_view data) {
    (void)socket_.send(zmq::buffer(internal::EncodeChunkHeader(header)), zmq::send_flags::sndmore);
    (void)socket_.send(zmq::buffer(data), zmq::send_flags::none);
  }
  // Reads whatever arrives until `done` (to unblock a sender that waits on this peer).
  void DrainUntil(const std::function<bool()>& done) {
    while (!done()) {
      zmq::message_t part;
      while (socket_.recv(part, zmq::recv_flags::dontwait)) {
      }
      std::this_thread::sleep_for(milliseconds(1));
    }
  }
  void Close() { socket_.close(); }

 private:
  explicit RawPeer(zmq::socket_type type) : socket_(context_, type) {
    socket_.set(zmq::sockopt::rcvhwm, 1);
    socket_.set(zmq::sockopt::rcvbuf, 4096);
    socket_.set(zmq::sockopt::linger, 0);
  }
  zmq::context_t context_{1};
  zmq::socket_t socket_;
};

// Chunks of 32 KiB (ZeroMQ drops larger message parts), frames up to 1 MiB.
constexpr size_t kChunk = 32 << 10;

ZmqOptions SmallOptions() {
  ZmqOptions options;
  options.linger_ms = 0;
  options.chunk_bytes = kChunk;
  options.max_frame_bytes = 1 << 20;
  return options;
}

// Offers frames on another thread until the receiver's queue stays full (`stuck_after` refusals in
// a row, a few milliseconds apart: the kernel's buffers and the receiver's own ZeroMQ have taken
// what they could) or `most` frames went out; returns the last refusal (OK if there was none). A
// sender that blocks is unblocked by draining `receiver`, and the test fails.
Status OfferUntilStuck(const std::function<Status()>& send, int most, int stuck_after,
                       RawPeer& receiver) {
  auto sending = std::async(std::launch::async, [&] {
    Status last;
    for (int sent = 0, refused = 0; sent < most && refused < stuck_after;) {
      Status attempt = send();
      if (attempt.ok()) {
        ++sent;
        refused = 0;
        continue;
      }
      if (attempt.code() != StatusCode::kResourceExhausted) return attempt;
      last = attempt;
      ++refused;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return last;
  });
  if (sending.wait_for(kPatience) != std::future_status::ready) {
    ADD_FAILURE() << "a send blocked on a peer that does not read";
    receiver.DrainUntil(
        [&] { return sending.wait_for(milliseconds(0)) == std::future_status::ready; });
  }
  return sending.get();
}

TEST(TransportBoundsTest, ASendToAPeerThatNeverReadsFailsAtOnceAndItsQueueStaysUnderTheCap) {
  ZmqOptions options = SmallOptions();
  options.max_queued_bytes_per_peer = 256 << 10;
  auto server = ZmqServerTransport::Bind("tcp://127.0.0.1:*", options).value();
  auto silent = RawPeer::Dealer(server->endpoint());
  silent->Send("hello");
  auto hello = server->Receive(kPatience);
  ASSERT_TRUE(hello.ok() && hello->has_value());
  const PeerId peer = (*hello)->peer;

  // Three chunks per frame; 2000 of them would be 190 MiB.
  auto frame = std::make_shared<const std::string>(96 << 10, 'm');
  Status refused =
      OfferUntilStuck([&] { return server->SendShared(peer, frame); }, 2000, 100, *silent);
  ASSERT_FALSE(refused.ok()) << "2000 frames were queued for a peer that reads nothing";
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("is not reading"));
  EXPECT_THAT(refused.message(), HasSubstr("queued for it"));
  EXPECT_GT(server->queued_bytes(peer), 0u) << refused;
  EXPECT_LE(server->queued_bytes(peer), options.max_queued_bytes_per_peer);
  // Still refused, at once, for as long as the peer does not read.
  Status again = server->SendShared(peer, frame);
  EXPECT_EQ(again.code(), StatusCode::kResourceExhausted) << again;
  EXPECT_LE(server->queued_bytes(peer), options.max_queued_bytes_per_peer);

  // Once the peer is gone, ZeroMQ lets go of what was queued for it, and sends say it is gone.
  silent->Close();
  Status gone;
  const auto end = std::chrono::steady_clock::now() + kPatience;
  while (std::chrono::steady_clock::now() < end) {
    (void)server->Receive(milliseconds(10));
    gone = server->Send(peer, "anyone there?");
    if (gone.code() == StatusCode::kUnavailable && server->queued_bytes(peer) == 0) break;
  }
  EXPECT_EQ(gone.code(), StatusCode::kUnavailable) << gone;
  EXPECT_EQ(server->queued_bytes(peer), 0u);
}

TEST(TransportBoundsTest, AFrameLargerThanThePerPeerCapIsRefusedBeforeItsFirstChunk) {
  ZmqOptions options = SmallOptions();
  options.max_queued_bytes_per_peer = 64 << 10;
  auto server = ZmqServerTransport::Bind("tcp://127.0.0.1:*", options).value();
  auto peer = RawPeer::Dealer(server->endpoint());
  peer->Send("hello");
  auto hello = server->Receive(kPatience);
  ASSERT_TRUE(hello.ok() && hello->has_value());
  Status sent = server->Send((*hello)->peer, std::string(65 << 10, 'x'));
  EXPECT_EQ(sent.code(), StatusCode::kResourceExhausted) << sent;
  EXPECT_THAT(sent.message(), HasSubstr("exceeds the cap"));
  EXPECT_EQ(server->queued_bytes((*hello)->peer), 0u);
}

TEST(TransportBoundsTest, ANodesSendToACoordinatorThatNeverReadsTimesOut) {
  auto coordinator = RawPeer::Router();
  ZmqOptions options = SmallOptions();
  options.send_timeout_ms = 50;
  auto client = ZmqClientTransport::Connect(coordinator->endpoint(), options).value();
  // ZeroMQ queues 1000 messages before a send has to wait; 3000 frames of 64 KiB go well past that.
  const std::string frame(64 << 10, 'n');
  Status refused = OfferUntilStuck([&] { return client->Send(frame); }, 3000, 10, *coordinator);
  ASSERT_FALSE(refused.ok()) << "3000 frames were queued for a coordinator that reads nothing";
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("the coordinator is not reading"));
  EXPECT_GT(client->queued_bytes(), 0u);
}

// Waits, receiving, until the server's reassembly figure is `bytes`; returns the last figure seen.
size_t ReceiveUntilReassembly(ZmqServerTransport& server, size_t bytes) {
  const auto end = std::chrono::steady_clock::now() + kPatience;
  while (server.reassembly_bytes() != bytes && std::chrono::steady_clock::now() < end) {
    (void)server.Receive(milliseconds(20));
  }
  return server.reassembly_bytes();
}

class UnfinishedTransferTest : public ::testing::TestWithParam<bool> {};

TEST_P(UnfinishedTransferTest, IsFreedAfterItsDeadline) {
  const bool sender_vanishes = GetParam();
  ZmqOptions options = SmallOptions();
  options.transfer_idle_timeout_ms = 300;
  auto server = ZmqServerTransport::Bind("tcp://127.0.0.1:*", options).value();
  auto sender = RawPeer::Dealer(server->endpoint());
  constexpr size_t kTotal = 4 * kChunk;
  sender->SendChunk({1, 0, 4, kTotal}, std::string(kChunk, 'a'));  // then nothing more
  ASSERT_EQ(ReceiveUntilReassembly(*server, kTotal), kTotal);
  if (sender_vanishes) sender->Close();

  EXPECT_EQ(ReceiveUntilReassembly(*server, 0), 0u);
  if (sender_vanishes) return;
  // The transfer is gone: its next chunk does not follow anything, and no frame comes of it.
  sender->SendChunk({1, 1, 4, kTotal}, std::string(kChunk, 'b'));
  sender->SendChunk({1, 2, 4, kTotal}, std::string(kChunk, 'c'));
  sender->SendChunk({1, 3, 4, kTotal}, std::string(kChunk, 'd'));
  sender->Send("after");
  auto next = server->Receive(kPatience);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->frame, "after");
  EXPECT_EQ(server->reassembly_bytes(), 0u);
}

INSTANTIATE_TEST_SUITE_P(SenderStopsOrVanishes, UnfinishedTransferTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Vanishes" : "Stops"; });

TEST(TransportBoundsTest, MemoryForFramesInTransitIsCappedAcrossPeers) {
  ZmqOptions options = SmallOptions();
  options.max_frame_bytes = 4 * kChunk;
  options.max_reassembly_bytes = 6 * kChunk;  // one frame of four chunks, not two
  auto server = ZmqServerTransport::Bind("tcp://127.0.0.1:*", options).value();
  auto a = RawPeer::Dealer(server->endpoint());
  auto b = RawPeer::Dealer(server->endpoint());
  constexpr size_t kTotal = 4 * kChunk;
  a->SendChunk({1, 0, 4, kTotal}, std::string(kChunk, 'a'));
  ASSERT_EQ(ReceiveUntilReassembly(*server, kTotal), kTotal);

  // b's transfer would take the total past the cap: refused. Its next message shows b was heard.
  b->SendChunk({1, 0, 4, kTotal}, std::string(kChunk, 'b'));
  b->Send("b was heard");
  auto heard = server->Receive(kPatience);
  ASSERT_TRUE(heard.ok() && heard->has_value());
  EXPECT_EQ((*heard)->frame, "b was heard");
  EXPECT_EQ(server->reassembly_bytes(), kTotal);

  // a's frame completes and leaves the budget; b may start again.
  for (uint32_t i = 1; i < 4; ++i) a->SendChunk({1, i, 4, kTotal}, std::string(kChunk, 'a'));
  auto from_a = server->Receive(kPatience);
  ASSERT_TRUE(from_a.ok() && from_a->has_value());
  EXPECT_EQ((*from_a)->frame, std::string(kTotal, 'a'));
  EXPECT_EQ(server->reassembly_bytes(), 0u);
  for (uint32_t i = 0; i < 4; ++i) b->SendChunk({2, i, 4, kTotal}, std::string(kChunk, 'b'));
  auto from_b = server->Receive(kPatience);
  ASSERT_TRUE(from_b.ok() && from_b->has_value());
  EXPECT_EQ((*from_b)->frame, std::string(kTotal, 'b'));
  EXPECT_EQ(server->reassembly_bytes(), 0u);
}

TEST(TransportBoundsTest, TheReassemblyCapMustHoldOneLargestFrame) {
  ZmqOptions options = SmallOptions();
  options.max_reassembly_bytes = options.max_frame_bytes - 1;
  auto server = ZmqServerTransport::Bind("tcp://127.0.0.1:*", options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("at least one largest frame"));
}

}  // namespace
}  // namespace cartable::protocol
