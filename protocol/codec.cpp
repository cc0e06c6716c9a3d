#include "protocol/codec.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cereal/archives/portable_binary.hpp>
#include <cstring>
#include <istream>
#include <iterator>
#include <sstream>
#include <streambuf>
#include <type_traits>

namespace cartable::protocol {
namespace {

constexpr char kMagic[4] = {'C', 'R', 'T', 'B'};

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};
// Fixed-size byte strings (keys, signatures, hashes) travel as their bytes, with no length.
template <typename T>
struct IsByteArray : std::false_type {};
template <size_t N>
struct IsByteArray<std::array<uint8_t, N>> : std::true_type {};
// A list of numbers with a bound of its own on its count, checked before anything is allocated
// (lists of members have at most kMaxSecAggMembers entries, however large the payload). On the wire
// it is a vector of numbers like any other.
template <typename T, size_t Max>
struct Capped {
  static constexpr size_t kMax = Max;
  std::vector<T>& list;
};
template <typename T>
struct IsCapped : std::false_type {};
template <typename T, size_t Max>
struct IsCapped<Capped<T, Max>> : std::true_type {};
// Vectors of numbers are one block of bytes; vectors of anything else are a count and then each
// element.
template <typename T>
constexpr bool IsBlockVector() {
  if constexpr (IsVector<T>::value) {
    return std::is_arithmetic_v<typename T::value_type>;
  } else {
    return false;
  }
}

// An istream over bytes we do not own, without copying them.
class ViewBuffer : public std::streambuf {
 public:
  explicit ViewBuffer(std::string_view bytes) {
    char* begin = const_cast<char*>(bytes.data());
    setg(begin, begin, begin + bytes.size());
  }
  size_t remaining() const { return static_cast<size_t>(egptr() - gptr()); }
  // The next n bytes, consumed in place (the caller checked remaining()).
  const char* Take(size_t n) {
    const char* at = gptr();
    setg(eback(), gptr() + n, egptr());
    return at;
  }
};

// Walks the elements stored in a block of bytes at any alignment (a vector's bytes follow a length
// and whatever came before them), so that vector::assign can size its vector once and fill it in
// one pass.
template <typename Element>
struct UnalignedElements {
  using iterator_category = std::forward_iterator_tag;
  using value_type = Element;
  using difference_type = std::ptrdiff_t;
  using pointer = const Element*;
  using reference = Element;

  const char* at = nullptr;

  Element operator*() const {
    Element element;
    std::memcpy(&element, at, sizeof(Element));
    return element;
  }
  UnalignedElements& operator++() {
    at += sizeof(Element);
    return *this;
  }
  UnalignedElements operator++(int) {
    UnalignedElements before = *this;
    at += sizeof(Element);
    return before;
  }
  bool operator==(const UnalignedElements&) const = default;
};

// An ostream that appends to a string reserved to the frame's final size: the payload is written
// once, in place, after the header.
class AppendBuffer : public std::streambuf {
 public:
  explicit AppendBuffer(std::string& out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* data, std::streamsize n) override {
    out_.append(data, static_cast<size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) out_.push_back(static_cast<char>(c));
    return c;
  }

 private:
  std::string& out_;
};

size_t TextBytes(const std::string& value) {
  // Text longer than a receiver accepts is cut (at a UTF-8 boundary) rather than sent unreadable.
  size_t size = std::min(value.size(), kMaxTextBytes);
  while (size < value.size() && size > 0 && (static_cast<uint8_t>(value[size]) & 0xC0) == 0x80)
    --size;
  return size;
}

// Counts the payload bytes Writer will produce, so the frame is allocated once.
struct Sizer {
  size_t bytes = 1;  // cereal's byte-order marker
  template <typename T>
  void operator()(const T& value) {
    if constexpr (std::is_arithmetic_v<T>) {
      bytes += sizeof(T);
    } else if constexpr (std::is_same_v<T, std::string>) {
      bytes += sizeof(uint64_t) + TextBytes(value);
    } else if constexpr (IsByteArray<T>::value) {
      bytes += value.size();
    } else if constexpr (IsCapped<T>::value) {
      (*this)(value.list);
    } else if constexpr (IsBlockVector<T>()) {
      bytes += sizeof(uint64_t) + value.size() * sizeof(typename T::value_type);
    } else if constexpr (IsVector<T>::value) {
      bytes += sizeof(uint64_t);
      for (const auto& element : value) (*this)(element);
    } else {
      VisitFields(const_cast<T&>(value), *this);
    }
  }
};

// The fewest payload bytes one T can take: what a forged element count is checked against.
template <typename T>
size_t MinWireBytes() {
  Sizer sizer;
  sizer.bytes = 0;
  sizer(T{});
  return std::max<size_t>(sizer.bytes, 1);
}

struct Writer {
  cereal::PortableBinaryOutputArchive& ar;
  template <typename T>
  void operator()(const T& value) {
    if constexpr (std::is_arithmetic_v<T>) {
      ar(value);
    } else if constexpr (std::is_same_v<T, std::string>) {
      const size_t size = TextBytes(value);
      ar(static_cast<uint64_t>(size));
      ar(cereal::binary_data(value.data(), size));
    } else if constexpr (IsByteArray<T>::value) {
      ar(cereal::binary_data(value.data(), value.size()));
    } else if constexpr (IsCapped<T>::value) {
      (*this)(value.list);
    } else if constexpr (IsBlockVector<T>()) {
      ar(static_cast<uint64_t>(value.size()));
      ar(cereal::binary_data(value.data(), value.size() * sizeof(typename T::value_type)));
    } else if constexpr (IsVector<T>::value) {
      ar(static_cast<uint64_t>(value.size()));
      for (const auto& element : value) (*this)(element);
    } else {
      VisitFields(const_cast<T&>(value), *this);
    }
  }
};

struct Reader {
  cereal::PortableBinaryInputArchive& ar;
  ViewBuffer& buffer;
  template <typename T>
  void operator()(T& value) {
    if constexpr (std::is_arithmetic_v<T>) {
      ar(value);
    } else if constexpr (std::is_same_v<T, std::string>) {
      uint64_t size = 0;
      ar(size);
      if (size > kMaxTextBytes) throw std::length_error("text field longer than 4096 bytes");
      if (size > buffer.remaining()) throw std::length_error("text field longer than the payload");
      value.resize(size);
      ar(cereal::binary_data(value.data(), size));
    } else if constexpr (IsByteArray<T>::value) {
      if (value.size() > buffer.remaining())
        throw std::length_error("fixed-size field longer than the payload");
      ar(cereal::binary_data(value.data(), value.size()));
    } else if constexpr (IsVector<T>::value && !IsBlockVector<T>()) {
      uint64_t size = 0;
      ar(size);
      // Each element takes at least MinWireBytes: a forged count cannot make us allocate past the
      // payload.
      if (size > buffer.remaining() / MinWireBytes<typename T::value_type>()) {
        throw std::length_error("list of " + std::to_string(size) +
                                " elements is longer than the payload");
      }
      value.resize(size);
      for (auto& element : value) (*this)(element);
    } else if constexpr (IsCapped<T>::value) {
      uint64_t size = 0;
      ar(size);
      if (size > T::kMax) {
        throw std::length_error("list of " + std::to_string(size) + " members is longer than the " +
                                std::to_string(T::kMax) + " a round can have");
      }
      ReadNumbers(value.list, size);
    } else if constexpr (IsVector<T>::value) {
      uint64_t size = 0;
      ar(size);
      ReadNumbers(value, size);
    } else {
      VisitFields(value, *this);
    }
  }

  // `size` numbers into `value`. A count is believed only if the bytes are there: a forged one
  // cannot make us allocate.
  template <typename Element>
  void ReadNumbers(std::vector<Element>& value, uint64_t size) {
    if (size > buffer.remaining() / sizeof(Element)) {
      throw std::length_error("vector of " + std::to_string(size) +
                              " elements is longer than the payload");
    }
    if constexpr (std::endian::native == std::endian::little) {
      // The payload is little-endian like this machine: copy straight from the frame, once, into a
      // vector allocated once and not zero-filled first (resize would write every byte twice).
      const char* bytes = buffer.Take(size * sizeof(Element));
      const char* end = bytes + size * sizeof(Element);
      value.assign(UnalignedElements<Element>{bytes}, UnalignedElements<Element>{end});
    } else {
      value.resize(size);
      ar(cereal::binary_data(value.data(), size * sizeof(Element)));
    }
  }
};

}  // namespace

// The field lists: one place per message says what it carries and in which order.
template <typename F>
void VisitFields(ModelOption& m, F& f) {
  f(m.key);
  f(m.value);
}
template <typename F>
void VisitFields(WireModelSpec& m, F& f) {
  f(m.name);
  f(m.num_skills);
  f(m.num_items);
  f(m.num_features);
  f(m.options);
}
template <typename F>
void VisitFields(WireTrainConfig& m, F& f) {
  f(m.local_epochs);
  f(m.batch_size);
  f(m.learning_rate);
  f(m.seed);
}
template <typename F>
void VisitFields(Hello& m, F& f) {
  f(m.node_name);
  f(m.signing_key);
}
template <typename F>
void VisitFields(CohortMember& m, F& f) {
  f(m.name);
  f(m.signing_key);
}
template <typename F>
void VisitFields(SecAggPlan& m, F& f) {
  f(m.enabled);
  f(m.neighbours);
  f(m.corrupt_allowance);
  f(m.modulus_bits);
  f(m.graph_seed);
  f(m.cohort);
}
template <typename F>
void VisitFields(WireContribution& m, F& f) {
  f(m.value_range);
  f(m.weight_cap);
  f(m.max_norm);
}
template <typename F>
void VisitFields(WirePupilDp& m, F& f) {
  f(m.enabled);
  f(m.noise_multiplier);
  f(m.clip_norm);
  f(m.sampling_rate);
  f(m.delta);
  f(m.rounds);
}
template <typename F>
void VisitFields(WireEstablishmentDp& m, F& f) {
  f(m.enabled);
  f(m.noise_multiplier);
  f(m.min_contributors);
  f(m.delta);
  f(m.rounds);
}
template <typename F>
void VisitFields(TrainRequest& m, F& f) {
  f(m.model);
  f(m.config);
  f(m.global_parameters);
  f(m.contribution);
  f(m.secagg);
  f(m.plan_hash);
  f(m.proximal_mu);
  f(m.dp);
  f(m.establishment_dp);
}
template <typename F>
void VisitFields(TrainResult& m, F& f) {
  f(m.contribution);
}
template <typename F>
void VisitFields(WireAttribute& m, F& f) {
  f(m.name);
  f(m.values);
}
template <typename F>
void VisitFields(EvaluateRequest& m, F& f) {
  f(m.model);
  f(m.parameters);
  f(m.secagg);
  f(m.groups);
  f(m.min_group_pupils);
}
template <typename F>
void VisitFields(WireGroupStatistics& m, F& f) {
  f(m.positive_histogram);
  f(m.negative_histogram);
  f(m.log_loss_sum);
  f(m.correct);
  f(m.count);
  f(m.squared_error_sum);
  f(m.pupils);
}
template <typename F>
void VisitFields(EvaluateResult& m, F& f) {
  f(m.all);
  f(m.groups);
}
template <typename F>
void VisitFields(Shutdown& m, F& f) {
  f(m.reason);
}
template <typename F>
void VisitFields(ErrorReply& m, F& f) {
  f(m.code);
  f(m.message);
  f(m.accused);
}
template <typename F>
void VisitFields(Heartbeat&, F&) {}
template <typename F>
void VisitFields(KeyAdvert& m, F& f) {
  f(m.member);
  f(m.mask_key);
  f(m.share_key);
  f(m.seed_commitment);
  f(m.signature);
}
template <typename F>
void VisitFields(KeyList& m, F& f) {
  f(m.adverts);
}
template <typename F>
void VisitFields(SealedShare& m, F& f) {
  f(m.from);
  f(m.to);
  f(m.self_seed_commitment);
  f(m.mask_key_commitment);
  f(m.ciphertext);
}
template <typename F>
void VisitFields(ShareKeys& m, F& f) {
  f(m.shares);
}
template <typename F>
void VisitFields(ShareDelivery& m, F& f) {
  f(m.shares);
}
template <typename F>
void VisitFields(MaskedInput& m, F& f) {
  Capped<uint32_t, kMaxSecAggMembers> unusable_from{m.unusable_from};
  f(m.words32);
  f(m.words64);
  f(unusable_from);
}
template <typename F>
void VisitFields(SurvivorList& m, F& f) {
  f(m.survivors);
}
template <typename F>
void VisitFields(SurvivorSignature& m, F& f) {
  f(m.signature);
}
template <typename F>
void VisitFields(MemberSignature& m, F& f) {
  f(m.member);
  f(m.signature);
}
template <typename F>
void VisitFields(UnmaskRequest& m, F& f) {
  f(m.signatures);
}
template <typename F>
void VisitFields(RevealedShare& m, F& f) {
  f(m.of);
  f(m.share);
}
template <typename F>
void VisitFields(UnmaskResponse& m, F& f) {
  f(m.self_seed_shares);
  f(m.mask_key_shares);
}
template <typename F>
void VisitFields(AdminRequest& m, F& f) {
  f(m.command);
  f(m.run_id);
  f(m.offset);
  f(m.document);
}
template <typename F>
void VisitFields(AdminReply& m, F& f) {
  f(m.code);
  f(m.message);
  f(m.json);
}

namespace {

void PutLe(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t GetLe(std::string_view in, size_t offset, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<uint64_t>(static_cast<uint8_t>(in[offset + i])) << (8 * i);
  }
  return value;
}

Body EmptyBodyOf(MessageType type) {
  switch (type) {
    case MessageType::kHello:
      return Hello{};
    case MessageType::kTrainRequest:
      return TrainRequest{};
    case MessageType::kTrainResult:
      return TrainResult{};
    case MessageType::kEvaluateRequest:
      return EvaluateRequest{};
    case MessageType::kEvaluateResult:
      return EvaluateResult{};
    case MessageType::kShutdown:
      return Shutdown{};
    case MessageType::kError:
      return ErrorReply{};
    case MessageType::kHeartbeat:
      return Heartbeat{};
    case MessageType::kKeyAdvert:
      return KeyAdvert{};
    case MessageType::kKeyList:
      return KeyList{};
    case MessageType::kShareKeys:
      return ShareKeys{};
    case MessageType::kShareDelivery:
      return ShareDelivery{};
    case MessageType::kMaskedInput:
      return MaskedInput{};
    case MessageType::kSurvivorList:
      return SurvivorList{};
    case MessageType::kSurvivorSignature:
      return SurvivorSignature{};
    case MessageType::kUnmaskRequest:
      return UnmaskRequest{};
    case MessageType::kUnmaskResponse:
      return UnmaskResponse{};
    case MessageType::kAdminRequest:
      return AdminRequest{};
    case MessageType::kAdminReply:
      return AdminReply{};
  }
  return ErrorReply{};
}

bool IsKnownType(uint8_t type) { return type >= 1 && type <= kLastMessageType; }

}  // namespace

std::string Encode(const Envelope& envelope) {
  Sizer sizer;
  std::visit([&](const auto& body) { sizer(body); }, envelope.body);
  const MessageType type = TypeOf(envelope.body);
  std::string frame;
  frame.reserve(kHeaderBytes + sizer.bytes);
  frame.append(kMagic, sizeof(kMagic));
  frame.push_back(static_cast<char>(kProtocolVersion));
  frame.push_back(static_cast<char>(type));
  frame.push_back(static_cast<char>(StageOf(type)));
  frame.push_back(0);  // flags, reserved
  PutLe(frame, envelope.run_id, 8);
  PutLe(frame, envelope.round, 4);
  PutLe(frame, sizer.bytes, 4);
  AppendBuffer buffer(frame);
  std::ostream out(&buffer);
  {
    cereal::PortableBinaryOutputArchive archive(out);
    Writer writer{archive};
    std::visit([&](const auto& body) { writer(body); }, envelope.body);
  }
  CARTABLE_CHECK(frame.size() == kHeaderBytes + sizer.bytes) << "payload size mismatch";
  return frame;
}

StatusOr<FrameHeader> DecodeHeader(std::string_view frame, size_t max_payload_bytes) {
  if (frame.size() < kHeaderBytes) {
    return DataLossError("frame of " + std::to_string(frame.size()) +
                         " bytes is shorter than the " + std::to_string(kHeaderBytes) +
                         "-byte header");
  }
  if (std::memcmp(frame.data(), kMagic, sizeof(kMagic)) != 0) {
    return DataLossError("frame does not start with the magic 'CRTB'");
  }
  FrameHeader header;
  header.version = static_cast<uint8_t>(frame[4]);
  if (header.version != kProtocolVersion) {
    return FailedPreconditionError("unsupported protocol version " +
                                   std::to_string(header.version) + " (this build speaks " +
                                   std::to_string(kProtocolVersion) + ")");
  }
  const uint8_t type = static_cast<uint8_t>(frame[5]);
  if (!IsKnownType(type))
    return InvalidArgumentError("unknown message type " + std::to_string(type));
  header.type = static_cast<MessageType>(type);
  header.stage = static_cast<Stage>(static_cast<uint8_t>(frame[6]));
  if (header.stage != StageOf(header.type)) {
    return InvalidArgumentError(std::string(MessageTypeName(header.type)) + " carries stage " +
                                std::to_string(static_cast<int>(header.stage)) + ", expected " +
                                std::to_string(static_cast<int>(StageOf(header.type))));
  }
  if (frame[7] != 0) return InvalidArgumentError("reserved flags are not zero");
  header.run_id = GetLe(frame, 8, 8);
  header.round = static_cast<uint32_t>(GetLe(frame, 16, 4));
  header.payload_bytes = static_cast<uint32_t>(GetLe(frame, 20, 4));
  if (header.payload_bytes > max_payload_bytes) {
    return OutOfRangeError("payload of " + std::to_string(header.payload_bytes) +
                           " bytes exceeds the limit of " + std::to_string(max_payload_bytes));
  }
  if (frame.size() - kHeaderBytes != header.payload_bytes) {
    return DataLossError("header announces " + std::to_string(header.payload_bytes) +
                         " payload bytes but the frame holds " +
                         std::to_string(frame.size() - kHeaderBytes));
  }
  return header;
}

StatusOr<Envelope> Decode(std::string_view frame, size_t max_payload_bytes) {
  CARTABLE_ASSIGN_OR_RETURN(FrameHeader header, DecodeHeader(frame, max_payload_bytes));
  Envelope envelope;
  envelope.run_id = header.run_id;
  envelope.round = header.round;
  envelope.body = EmptyBodyOf(header.type);
  // cereal's portable format opens with the writer's byte order; cartable always writes
  // little-endian (1), and accepting another value would let two byte strings mean one message.
  if (frame.size() == kHeaderBytes || frame[kHeaderBytes] != 1) {
    return DataLossError(std::string(MessageTypeName(header.type)) +
                         " payload does not start with the little-endian marker 1");
  }
  ViewBuffer buffer(frame.substr(kHeaderBytes));
  std::istream in(&buffer);
  try {
    cereal::PortableBinaryInputArchive archive(in);
    Reader reader{archive, buffer};
    std::visit([&](auto& body) { reader(body); }, envelope.body);
  } catch (const std::exception& e) {
    return DataLossError(std::string("malformed ") + std::string(MessageTypeName(header.type)) +
                         " payload: " + e.what());
  }
  if (in.peek() != std::char_traits<char>::eof()) {
    return DataLossError(std::string(MessageTypeName(header.type)) +
                         " payload has trailing bytes after its last field");
  }
  if (const auto* reply = std::get_if<AdminReply>(&envelope.body);
      reply && reply->json.size() > kMaxAdminDocumentBytes) {
    return OutOfRangeError("AdminReply document of " + std::to_string(reply->json.size()) +
                           " bytes exceeds the limit of " + std::to_string(kMaxAdminDocumentBytes));
  }
  if (const auto* request = std::get_if<AdminRequest>(&envelope.body);
      request && request->document.size() > kMaxAdminDocumentBytes) {
    return OutOfRangeError("AdminRequest document of " + std::to_string(request->document.size()) +
                           " bytes exceeds the limit of " + std::to_string(kMaxAdminDocumentBytes));
  }
  return envelope;
}

bool IsErrorFrame(std::string_view frame) {
  return frame.size() >= 6 && std::memcmp(frame.data(), kMagic, sizeof(kMagic)) == 0 &&
         static_cast<uint8_t>(frame[5]) == static_cast<uint8_t>(MessageType::kError);
}

bool IsHeartbeatFrame(std::string_view frame) {
  return frame.size() >= 6 && std::memcmp(frame.data(), kMagic, sizeof(kMagic)) == 0 &&
         static_cast<uint8_t>(frame[4]) == kProtocolVersion &&
         static_cast<uint8_t>(frame[5]) == static_cast<uint8_t>(MessageType::kHeartbeat);
}

}  // namespace cartable::protocol
