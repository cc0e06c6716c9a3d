#include "protocol/internal/frame_io.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace cartable::protocol::internal {
namespace {

constexpr uint64_t kReportTransfersFrom = uint64_t{16} << 20;  // log the progress of frames ≥ 16 MiB

zmq::message_t Borrow(const char* data, size_t size, const std::shared_ptr<const std::string>& owner) {
  auto* keep = new std::shared_ptr<const std::string>(owner);
  return zmq::message_t(const_cast<char*>(data), size,
                        [](void*, void* hint) { delete static_cast<std::shared_ptr<const std::string>*>(hint); },
                        keep);
}

void Drain(zmq::socket_t& socket, bool more) {
  while (more) {
    zmq::message_t extra;
    (void)socket.recv(extra, zmq::recv_flags::none);
    more = extra.more();
  }
}

}  // namespace

void SendFrame(zmq::socket_t& socket, const std::string* routing_id,
               std::shared_ptr<const std::string> frame, size_t chunk_bytes, uint64_t transfer) {
  const std::string& bytes = *frame;
  if (bytes.size() <= chunk_bytes) {
    if (routing_id) socket.send(zmq::buffer(*routing_id), zmq::send_flags::sndmore);
    zmq::message_t whole = Borrow(bytes.data(), bytes.size(), frame);
    socket.send(whole, zmq::send_flags::none);
    return;
  }
  const uint32_t count = static_cast<uint32_t>((bytes.size() + chunk_bytes - 1) / chunk_bytes);
  for (uint32_t index = 0; index < count; ++index) {
    const size_t offset = static_cast<size_t>(index) * chunk_bytes;
    const size_t size = std::min(chunk_bytes, bytes.size() - offset);
    if (routing_id) socket.send(zmq::buffer(*routing_id), zmq::send_flags::sndmore);
    socket.send(zmq::buffer(EncodeChunkHeader({transfer, index, count, bytes.size()})),
                zmq::send_flags::sndmore);
    zmq::message_t part = Borrow(bytes.data() + offset, size, frame);
    socket.send(part, zmq::send_flags::none);
  }
}

std::optional<Frame> ReadFrame(zmq::socket_t& socket, zmq::message_t first, Reassembler& reassembler,
                               const std::string& who) {
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

}  // namespace cartable::protocol::internal
