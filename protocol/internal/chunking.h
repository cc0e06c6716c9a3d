#pragma once

// Large frames travel as a sequence of chunks, each a two-part ZeroMQ message: a 28-byte chunk
// header ("CRTC", transfer id, index, count, total bytes; little-endian) and up to chunk_bytes of
// the frame. So no single ZeroMQ message exceeds ZMQ_MAXMSGSIZE, the receiver can report progress
// and stay alive while a 100 MB model arrives, and the sender borrows every chunk from the frame
// without copying it. A Reassembler rebuilds one peer's frames; ZeroMQ keeps one connection's
// messages in order, so chunks must arrive in order, and anything else abandons the transfer with a
// reason. The room a transfer declares is reserved from a ReassemblyBudget shared by all the peers
// of one socket, so the sum of what strangers' first chunks can make a receiver reserve is capped.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "protocol/transport.h"

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

// Keeps the buffers of reassembled frames once their last reader lets go, for the next large
// frames: a 100 MB frame copied into pages already mapped costs the copy; into fresh pages, a page
// fault every 4 KiB as well (more than the copy itself). Idle buffers never exceed
// `max_spare_bytes` in all; beyond that they are freed. Thread safe: a frame may be released on any
// thread, after its transport is gone.
class FrameBufferPool : public std::enable_shared_from_this<FrameBufferPool> {
 public:
  // Lend needs the pool owned by a shared_ptr (std::make_shared).
  explicit FrameBufferPool(size_t max_spare_bytes) : max_spare_bytes_(max_spare_bytes) {}

  // An empty buffer with room for `bytes`: the smallest spare one that fits, else a new one.
  std::string Take(size_t bytes);
  // The frame of a filled buffer; the buffer comes back to the pool when the frame's last copy is
  // gone.
  Frame Lend(std::string buffer);

  size_t spare_bytes() const;

 private:
  void Give(std::string buffer);

  const size_t max_spare_bytes_;
  mutable std::mutex mutex_;
  size_t spare_bytes_ = 0;  // capacity of spare_
  std::vector<std::string> spare_;
};

// Bytes reserved for the frames being reassembled from all the peers of one socket, against a cap.
// Used by the socket's one thread (Reassemblers release what they reserved when they finish,
// abandon or are destroyed), so it needs no lock.
class ReassemblyBudget {
 public:
  explicit ReassemblyBudget(size_t cap_bytes) : cap_bytes_(cap_bytes) {}

  // Reserves `bytes` unless that would take the total above the cap.
  bool TryReserve(size_t bytes);
  void Release(size_t bytes);

  size_t reserved() const { return reserved_; }
  size_t cap() const { return cap_bytes_; }

 private:
  const size_t cap_bytes_;
  size_t reserved_ = 0;
};

class Reassembler {
 public:
  // The chunk size is the sender's: the first chunk of a transfer sets it (ZMQ_MAXMSGSIZE bounds
  // it). Frames are built in buffers from `pool` when there is one. A transfer reserves the size it
  // declares from `budget`, when there is one, and is refused when the budget cannot cover it.
  explicit Reassembler(size_t max_frame_bytes, std::shared_ptr<FrameBufferPool> pool = nullptr,
                       std::shared_ptr<ReassemblyBudget> budget = nullptr)
      : max_frame_bytes_(max_frame_bytes), pool_(std::move(pool)), budget_(std::move(budget)) {}
  ~Reassembler() { Abandon(); }
  Reassembler(const Reassembler&) = delete;
  Reassembler& operator=(const Reassembler&) = delete;

  // Adds one chunk; returns the frame once its last chunk is in. An inconsistent chunk, or a first
  // chunk whose frame the budget cannot cover, abandons the transfer in progress and returns why.
  StatusOr<std::optional<Frame>> Add(const ChunkHeader& header, std::string_view data);
  // Drops the transfer in progress, if any, freeing its buffer and its reservation.
  void Abandon();

  bool in_progress() const { return buffer_.has_value(); }
  uint64_t received() const { return buffer_ ? buffer_->size() : 0; }
  uint64_t total() const { return header_.total; }
  // Bytes this reassembler holds reserved from its budget (the declared size of its transfer).
  size_t reserved() const { return reserved_; }

 private:
  size_t max_frame_bytes_;
  std::shared_ptr<FrameBufferPool> pool_;
  std::shared_ptr<ReassemblyBudget> budget_;
  size_t reserved_ = 0;     // from budget_, for the transfer in progress
  size_t chunk_bytes_ = 0;  // of the transfer in progress
  ChunkHeader header_;
  std::optional<std::string> buffer_;
};

}  // namespace cartable::protocol::internal
