#pragma once

// Encodes an Envelope into one frame and decodes frames from untrusted peers. A frame is a 24-byte
// header (magic "CRTB", version, type, stage, flags, run id, round, payload length; little-endian)
// followed by the payload in cereal's portable binary format. docs/wire-format.md describes it byte
// by byte.
//
// Decode treats its input as hostile: the header is checked before the payload is touched, the
// payload length must match exactly, and no count read from the payload can make it allocate more
// than the bytes actually present. Every failure is a Status naming what was wrong; nothing throws.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"
#include "protocol/messages.h"

namespace cartable::protocol {

inline constexpr size_t kHeaderBytes = 24;
inline constexpr size_t kDefaultMaxPayloadBytes = size_t{256} << 20;  // 256 MiB
inline constexpr size_t kMaxTextBytes = 4096;  // names, reasons, error messages

struct FrameHeader {
  uint8_t version = 0;
  MessageType type = MessageType::kError;
  Stage stage = Stage::kControl;
  uint64_t run_id = 0;
  uint32_t round = 0;
  uint32_t payload_bytes = 0;
};

std::string Encode(const Envelope& envelope);

// Parses and validates only the header (cheap; lets a receiver refuse a frame early).
StatusOr<FrameHeader> DecodeHeader(std::string_view frame, size_t max_payload_bytes);

StatusOr<Envelope> Decode(std::string_view frame,
                          size_t max_payload_bytes = kDefaultMaxPayloadBytes);

// True when `frame` is an Error frame of any protocol version: the magic and the type byte (offset
// 5) keep their places in every version. A receiver answers a frame it cannot decode with an Error,
// but never an Error frame: two peers of different versions would otherwise answer each other's
// refusals forever.
bool IsErrorFrame(std::string_view frame);
// True when `frame` claims to be a Heartbeat of this protocol version (its header alone is read: a
// receiver still decodes it).
bool IsHeartbeatFrame(std::string_view frame);

}  // namespace cartable::protocol
