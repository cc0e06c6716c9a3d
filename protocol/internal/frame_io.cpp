#include "protocol/internal/frame_io.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace cartable::protocol::internal {
namespace {

constexpr uint64_t kReportTransfersFrom = uint64_t{16}
                                          << 20;  // log the progress of frames ≥ 16 MiB

// What a borrowed message keeps alive until ZeroMQ lets go of it.
struct Loan {
  std::shared_ptr<const std::string> owner;
  std::shared_ptr<SendQueue> queue;
  size_t size;
};

// A message over `size` bytes of `owner`, counted in `queue` until ZeroMQ (or our own destructor,
// when ZeroMQ refused it) frees it, on whatever thread that happens.
zmq::message_t Borrow(const char* data, size_t size,
                      const std::shared_ptr<const std::string>& owner,
                      const std::shared_ptr<SendQueue>& queue) {
  queue->bytes.fetch_add(size);
  queue->messages.fetch_add(1);
  auto* loan = new Loan{owner, queue, size};
  return zmq::message_t(
      const_cast<char*>(data), size,
      [](void*, void* hint) {
        auto* done = static_cast<Loan*>(hint);
        done->queue->bytes.fetch_sub(done->size);
        done->queue->messages.fetch_sub(1);
        delete done;
      },
      loan);
}

void Drain(zmq::socket_t& socket, bool more) {
  while (more) {
    zmq::message_t extra;
    (void)socket.recv(extra, zmq::recv_flags::none);
    more = extra.more();
  }
}

}  // namespace

SendProgress SendFrame(zmq::socket_t& socket, const std::string* routing_id,
                       const std::shared_ptr<const std::string>& frame, size_t chunk_bytes,
                       uint64_t transfer, const std::shared_ptr<SendQueue>& queue,
                       zmq::send_flags flags) {
  const std::string& bytes = *frame;
  const zmq::send_flags more = flags | zmq::send_flags::sndmore;
  if (bytes.size() <= chunk_bytes) {
    if (routing_id && !socket.send(zmq::buffer(*routing_id), more)) return {0, 1};
    zmq::message_t whole = Borrow(bytes.data(), bytes.size(), frame, queue);
    return {socket.send(whole, flags) ? 1u : 0u, 1};
  }
  const uint32_t count = static_cast<uint32_t>((bytes.size() + chunk_bytes - 1) / chunk_bytes);
  for (uint32_t index = 0; index < count; ++index) {
    const size_t offset = static_cast<size_t>(index) * chunk_bytes;
    const size_t size = std::min(chunk_bytes, bytes.size() - offset);
    // Only a message's first part can be refused for a full queue; the rest follow it.
    if (routing_id && !socket.send(zmq::buffer(*routing_id), more)) return {index, count};
    if (!socket.send(zmq::buffer(EncodeChunkHeader({transfer, index, count, bytes.size()})),
                     more)) {
      return {index, count};
    }
    zmq::message_t part = Borrow(bytes.data() + offset, size, frame, queue);
    if (!socket.send(part, flags)) return {index, count};
  }
  return {count, count};
}

std::optional<Frame> ReadFrame(zmq::socket_t& socket, zmq::message_t first,
                               Reassembler& reassembler, const std::string& who) {
  if (!first.more()) {
    auto owned = std::make_shared<zmq::message_t>(std::move(first));
    const std::string_view view(static_cast<const char*>(owned->data()), owned->size());
    return Frame(std::move(owned), view);
  }
  auto header = DecodeChunkHeader(first.to_string_view());
  zmq::message_t data;
  (void)socket.recv(data, zmq::recv_flags::none);
  if (!header.ok() || data.more()) {
    Drain(socket, data.more());
    spdlog::warn("dropping a message from {} that is not a cartable frame or chunk", who);
    return std::nullopt;
  }
  auto frame = reassembler.Add(*header, data.to_string_view());
  if (!frame.ok()) {
    spdlog::warn("dropping a transfer from {}: {}", who, frame.status().message());
    return std::nullopt;
  }
  if (header->total >= kReportTransfersFrom) {
    const uint32_t step = std::max<uint32_t>(1, header->count / 4);
    if (header->index % step == step - 1 || *frame) {
      spdlog::info("receiving a {:.0f} MB frame from {}: {:.0f} %", header->total / 1e6, who,
                   100.0 * (header->index + 1) / header->count);
    }
  }
  return std::move(*frame);
}

std::string PeerLabel(const std::string& routing_id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string label = "peer ";
  for (unsigned char c : routing_id) {
    label.push_back(kDigits[c >> 4]);
    label.push_back(kDigits[c & 0xf]);
  }
  return label;
}

}  // namespace cartable::protocol::internal
