#pragma once

// Large frames travel as a sequence of chunks, each a two-part ZeroMQ message: a 28-byte chunk header
// ("CRTC", transfer id, index, count, total bytes; little-endian) and up to chunk_bytes of the frame. So no
// single ZeroMQ message exceeds ZMQ_MAXMSGSIZE, the receiver can report progress and stay alive while a
// 100 MB model arrives, and the sender borrows every chunk from the frame without copying it.
// A Reassembler rebuilds one peer's frames; ZeroMQ keeps one connection's messages in order, so chunks
// must arrive in order, and anything else abandons the transfer with a reason.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cartable::protocol::internal {

inline constexpr size_t kChunkHeaderBytes = 28;

struct ChunkHeader {
  uint64_t transfer = 0;
  uint32_t index = 0;
  uint32_t count = 0;
  uint64_t total = 0;  // bytes of the whole frame
};

std::string EncodeChunkHeader(const ChunkHeader& header);
StatusOr<ChunkHeader> DecodeChunkHeader(std::string_view bytes);

class Reassembler {
 public:
  // The chunk size is the sender's: the first chunk of a transfer sets it (ZMQ_MAXMSGSIZE bounds it).
  explicit Reassembler(size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  // Adds one chunk; returns the frame once its last chunk is in. An inconsistent chunk abandons the
  // transfer in progress and returns why.
  StatusOr<std::optional<std::string>> Add(const ChunkHeader& header, std::string_view data);

  bool in_progress() const { return buffer_.has_value(); }
  uint64_t received() const { return buffer_ ? buffer_->size() : 0; }
  uint64_t total() const { return header_.total; }

 private:
  size_t max_frame_bytes_;
  size_t chunk_bytes_ = 0;  // of the transfer in progress
  ChunkHeader header_;
  std::optional<std::string> buffer_;
};

}  // namespace cartable::protocol::internal
