#include "protocol/internal/chunking.h"

#include <algorithm>
#include <cstring>

namespace cartable::protocol::internal {
namespace {

constexpr char kChunkMagic[4] = {'C', 'R', 'T', 'C'};

void Put(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t Get(std::string_view in, size_t offset, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<uint64_t>(static_cast<uint8_t>(in[offset + i])) << (8 * i);
  }
  return value;
}

}  // namespace

std::string EncodeChunkHeader(const ChunkHeader& h) {
  std::string out(kChunkMagic, sizeof(kChunkMagic));
  Put(out, h.transfer, 8);
  Put(out, h.index, 4);
  Put(out, h.count, 4);
  Put(out, h.total, 8);
  return out;
}

StatusOr<ChunkHeader> DecodeChunkHeader(std::string_view bytes) {
  if (bytes.size() != kChunkHeaderBytes || std::memcmp(bytes.data(), kChunkMagic, 4) != 0) {
    return DataLossError("not a chunk header");
  }
  ChunkHeader h;
  h.transfer = Get(bytes, 4, 8);
  h.index = static_cast<uint32_t>(Get(bytes, 12, 4));
  h.count = static_cast<uint32_t>(Get(bytes, 16, 4));
  h.total = Get(bytes, 20, 8);
  return h;
}

std::string FrameBufferPool::Take(size_t bytes) {
  {
    std::lock_guard lock(mutex_);
    auto best = spare_.end();
    for (auto it = spare_.begin(); it != spare_.end(); ++it) {
      if (it->capacity() >= bytes && (best == spare_.end() || it->capacity() < best->capacity()))
        best = it;
    }
    if (best != spare_.end()) {
      std::string buffer = std::move(*best);
      spare_.erase(best);
      spare_bytes_ -= buffer.capacity();
      return buffer;
    }
  }
  std::string buffer;
  buffer.reserve(bytes);  // allocated, not zero-filled: the chunks overwrite it
  return buffer;
}

Frame FrameBufferPool::Lend(std::string buffer) {
  auto* held = new std::string(std::move(buffer));
  const std::string_view bytes = *held;
  std::shared_ptr<const std::string> owner(held,
                                           [pool = shared_from_this()](const std::string* done) {
                                             pool->Give(std::move(*const_cast<std::string*>(done)));
                                             delete done;
                                           });
  return Frame(std::move(owner), bytes);
}

size_t FrameBufferPool::spare_bytes() const {
  std::lock_guard lock(mutex_);
  return spare_bytes_;
}

void FrameBufferPool::Give(std::string buffer) {
  buffer.clear();  // keeps the capacity
  std::lock_guard lock(mutex_);
  if (spare_bytes_ + buffer.capacity() > max_spare_bytes_) return;  // freed on the way out
  spare_bytes_ += buffer.capacity();
  spare_.push_back(std::move(buffer));
}

bool ReassemblyBudget::TryReserve(size_t bytes) {
  if (bytes > cap_bytes_ - reserved_) return false;  // reserved_ never exceeds the cap
  reserved_ += bytes;
  return true;
}

void ReassemblyBudget::Release(size_t bytes) { reserved_ -= std::min(bytes, reserved_); }

void Reassembler::Abandon() {
  buffer_.reset();
  if (budget_ && reserved_ > 0) budget_->Release(reserved_);
  reserved_ = 0;
}

StatusOr<std::optional<Frame>> Reassembler::Add(const ChunkHeader& h, std::string_view data) {
  const bool starts = h.index == 0;
  if (!starts && (!buffer_ || h.transfer != header_.transfer || h.index != header_.index + 1 ||
                  h.count != header_.count || h.total != header_.total)) {
    Abandon();
    return DataLossError("chunk " + std::to_string(h.index) + " of transfer " +
                         std::to_string(h.transfer) +
                         " does not follow the chunks received; transfer abandoned");
  }
  if (starts) {
    if (h.total > max_frame_bytes_) {
      Abandon();
      return OutOfRangeError("a frame of " + std::to_string(h.total) +
                             " bytes exceeds the limit of " + std::to_string(max_frame_bytes_));
    }
    chunk_bytes_ = h.count == 1 ? static_cast<size_t>(h.total) : data.size();
    if (h.count == 0 || chunk_bytes_ == 0 ||
        (h.total + chunk_bytes_ - 1) / chunk_bytes_ != h.count) {
      Abandon();
      return DataLossError("chunk count " + std::to_string(h.count) + " does not match " +
                           std::to_string(h.total) + " bytes in chunks of " +
                           std::to_string(chunk_bytes_));
    }
    Abandon();  // a new transfer replaces one left unfinished
    if (budget_ && !budget_->TryReserve(static_cast<size_t>(h.total))) {
      return ResourceExhaustedError("a frame of " + std::to_string(h.total) +
                                    " bytes would take the memory reserved for frames " +
                                    "in transit past its cap of " + std::to_string(budget_->cap()) +
                                    " bytes (" + std::to_string(budget_->reserved()) +
                                    " reserved for other peers' transfers)");
    }
    reserved_ = budget_ ? static_cast<size_t>(h.total) : 0;
    header_ = h;
    // The whole frame's room at once (bounded by max_frame_bytes above), so no chunk moves what
    // came before.
    if (pool_) {
      buffer_.emplace(pool_->Take(static_cast<size_t>(h.total)));
    } else {
      buffer_.emplace();
      buffer_->reserve(h.total);
    }
  }
  const bool last = h.index + 1 == h.count;
  const uint64_t expected =
      last ? h.total - static_cast<uint64_t>(h.index) * chunk_bytes_ : chunk_bytes_;
  if (data.size() != expected) {
    Abandon();
    return DataLossError("chunk " + std::to_string(h.index) + " holds " +
                         std::to_string(data.size()) + " bytes, expected " +
                         std::to_string(expected));
  }
  buffer_->append(data);
  header_.index = h.index;
  if (!last) return std::optional<Frame>();
  std::string frame = std::move(*buffer_);
  Abandon();  // the frame is its reader's now: no longer in transit
  return std::optional<Frame>(pool_ ? pool_->Lend(std::move(frame)) : Frame(std::move(frame)));
}

}  // namespace cartable::protocol::internal
