#include "models/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "core/check.h"
#include "core/files.h"

namespace cartable::models {
namespace {

using Json = nlohmann::json;
// The writer keeps insertion order so that the header lists "__metadata__" first and the tensors in
// the order of their data, as the reference writer does; the output is then byte-for-byte
// reproducible.
using OrderedJson = nlohmann::ordered_json;

constexpr size_t kSizePrefixBytes = 8;
constexpr size_t kBufferAlignment = 8;
constexpr uint64_t kF32Bytes = 4;
constexpr std::string_view kMetadataKey = "__metadata__";

std::string Quoted(std::string_view name) { return "'" + std::string(name) + "'"; }

template <typename Int>
std::string ShapeText(const std::vector<Int>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// The byte size of an F32 tensor of this shape, or nullopt when it does not fit in 64 bits. Dims
// are non-negative here; a 0 dim makes any other dim harmless, as the format allows.
std::optional<uint64_t> F32ByteSize(const std::vector<int64_t>& shape) {
  uint64_t bytes = kF32Bytes;
  for (int64_t dim : shape) {
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes)) return std::nullopt;
  }
  return bytes;
}

// Invalid UTF-8 would make the JSON dump throw; checking each string first lets the error name it.
Status CheckUtf8(const std::string& text, const std::string& what) {
  try {
    (void)OrderedJson(text).dump();
  } catch (const Json::exception&) {
    return InvalidArgumentError(what + " is not valid UTF-8");
  }
  return Status::Ok();
}

Status CheckWritable(const NamedTensor& tensor, std::set<std::string_view>& seen) {
  const std::string what = "tensor " + Quoted(tensor.name);
  if (tensor.name.empty()) return InvalidArgumentError("a tensor has an empty name");
  if (tensor.name.starts_with("__")) {
    return InvalidArgumentError(what + ": names beginning with '__' are reserved by the format");
  }
  if (!seen.insert(tensor.name).second) return InvalidArgumentError(what + " appears twice");
  CARTABLE_RETURN_IF_ERROR(CheckUtf8(tensor.name, what + "'s name"));
  for (int64_t dim : tensor.shape) {
    if (dim < 0) {
      return InvalidArgumentError(what + " has a negative dimension in shape " +
                                  ShapeText(tensor.shape));
    }
  }
  const std::optional<uint64_t> bytes = F32ByteSize(tensor.shape);
  if (!bytes || *bytes / kF32Bytes != tensor.values.size()) {
    return InvalidArgumentError(what + " has shape " + ShapeText(tensor.shape) + " but " +
                                std::to_string(tensor.values.size()) + " values");
  }
  return Status::Ok();
}

void AppendLittleEndian(std::string& out, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

StatusOr<std::string> EncodeSafetensors(const std::vector<NamedTensor>& tensors,
                                        const std::map<std::string, std::string>& metadata) {
  OrderedJson header = OrderedJson::object();
  if (!metadata.empty()) {
    OrderedJson entries = OrderedJson::object();
    for (const auto& [key, value] : metadata) {
      CARTABLE_RETURN_IF_ERROR(CheckUtf8(key, "metadata key " + Quoted(key)));
      CARTABLE_RETURN_IF_ERROR(CheckUtf8(value, "metadata value of " + Quoted(key)));
      entries[key] = value;
    }
    header[std::string(kMetadataKey)] = std::move(entries);
  }
  std::set<std::string_view> seen;
  uint64_t offset = 0;
  for (const NamedTensor& tensor : tensors) {
    CARTABLE_RETURN_IF_ERROR(CheckWritable(tensor, seen));
    const uint64_t end = offset + tensor.values.size() * kF32Bytes;
    OrderedJson entry = OrderedJson::object();
    entry["dtype"] = "F32";
    entry["shape"] = tensor.shape;
    entry["data_offsets"] = OrderedJson::array({offset, end});
    header[tensor.name] = std::move(entry);
    offset = end;
  }
  std::string header_text = header.dump();
  // Trailing spaces are JSON whitespace: they align the buffer without changing the header.
  header_text.append((kBufferAlignment - header_text.size() % kBufferAlignment) % kBufferAlignment,
                     ' ');
  if (header_text.size() > kMaxSafetensorsHeaderBytes) {
    return OutOfRangeError("header of " + std::to_string(header_text.size()) +
                           " bytes exceeds the readers' cap of " +
                           std::to_string(kMaxSafetensorsHeaderBytes));
  }

  std::string bytes;
  bytes.reserve(kSizePrefixBytes + header_text.size() + offset);
  AppendLittleEndian(bytes, header_text.size(), kSizePrefixBytes);
  bytes += header_text;
  for (const NamedTensor& tensor : tensors) {
    for (float value : tensor.values) AppendLittleEndian(bytes, std::bit_cast<uint32_t>(value), 4);
  }
  return bytes;
}

// A tensor's header entry once validated against the buffer.
struct TensorEntry {
  std::string name;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

StatusOr<std::vector<int64_t>> ParseShape(const Json& shape, const std::string& what) {
  if (!shape.is_array()) return DataLossError(what + ": 'shape' is not an array");
  std::vector<int64_t> dims;
  for (const Json& dim : shape) {
    if (dim.is_number_unsigned()) {
      const uint64_t value = dim.get<uint64_t>();
      if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return DataLossError(what + ": 'shape' has dimension " + std::to_string(value) +
                             ", too large");
      }
      dims.push_back(static_cast<int64_t>(value));
    } else if (dim.is_number_integer() && dim.get<int64_t>() >= 0) {
      dims.push_back(dim.get<int64_t>());  // "-0" parses as a signed zero
    } else if (dim.is_number_integer()) {
      return DataLossError(what + ": 'shape' has negative dimension " +
                           std::to_string(dim.get<int64_t>()));
    } else {
      return DataLossError(what +
                           ": 'shape' has a dimension that is not an integer: " + dim.dump());
    }
  }
  return dims;
}

StatusOr<TensorEntry> ParseTensorEntry(const std::string& name, const Json& value,
                                       uint64_t buffer_bytes) {
  const std::string what = "tensor " + Quoted(name);
  if (!value.is_object()) return DataLossError(what + ": header entry is not a JSON object");
  const auto dtype = value.find("dtype");
  if (dtype == value.end() || !dtype->is_string()) {
    return DataLossError(what + ": 'dtype' is missing or not a string");
  }
  if (dtype->get<std::string>() != "F32") {
    return InvalidArgumentError(what + " has dtype " + Quoted(dtype->get<std::string>()) +
                                "; only F32 is supported");
  }
  const auto shape = value.find("shape");
  if (shape == value.end()) return DataLossError(what + ": 'shape' is missing");
  TensorEntry entry{name, {}, 0, 0};
  CARTABLE_ASSIGN_OR_RETURN(entry.shape, ParseShape(*shape, what));
  const std::optional<uint64_t> bytes = F32ByteSize(entry.shape);
  if (!bytes) {
    return DataLossError(what + ": shape " + ShapeText(entry.shape) + " overflows 64 bits");
  }

  const auto offsets = value.find("data_offsets");
  if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
    return DataLossError(what + ": 'data_offsets' is not a pair of non-negative integers");
  }
  entry.begin = (*offsets)[0].get<uint64_t>();
  entry.end = (*offsets)[1].get<uint64_t>();
  const std::string range =
      "[" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) + ")";
  if (entry.begin > entry.end) {
    return DataLossError(what + ": 'data_offsets' " + range + " end before they begin");
  }
  if (entry.end > buffer_bytes) {
    return DataLossError(what + ": 'data_offsets' " + range + " do not fit in the buffer of " +
                         std::to_string(buffer_bytes) + " bytes");
  }
  if (entry.end - entry.begin != *bytes) {
    return DataLossError(what + ": 'data_offsets' " + range + " span " +
                         std::to_string(entry.end - entry.begin) + " bytes but shape " +
                         ShapeText(entry.shape) + " of F32 needs " + std::to_string(*bytes));
  }
  return entry;
}

Status ParseMetadata(const Json& value, std::map<std::string, std::string>& metadata) {
  if (!value.is_object()) return DataLossError("'__metadata__' is not a JSON object");
  for (const auto& [key, text] : value.items()) {
    if (!text.is_string()) {
      return DataLossError("'__metadata__' entry " + Quoted(key) + " is not a string");
    }
    metadata[key] = text.get<std::string>();
  }
  return Status::Ok();
}

// The format requires the tensors to tile the buffer: a gap could hide bytes that no reader checks,
// and an overlap would make two tensors alias the same weights.
Status CheckCoverage(std::vector<TensorEntry>& entries, uint64_t buffer_bytes) {
  std::sort(entries.begin(), entries.end(), [](const TensorEntry& a, const TensorEntry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t covered = 0;
  const TensorEntry* previous = nullptr;
  for (const TensorEntry& entry : entries) {
    if (entry.begin < covered) {
      return DataLossError("tensor " + Quoted(entry.name) + " overlaps tensor " +
                           Quoted(previous->name));
    }
    if (entry.begin > covered) {
      return DataLossError("buffer bytes [" + std::to_string(covered) + ", " +
                           std::to_string(entry.begin) + ") before tensor " + Quoted(entry.name) +
                           " belong to no tensor");
    }
    covered = entry.end;
    previous = &entry;
  }
  if (covered != buffer_bytes) {
    return DataLossError("buffer has " + std::to_string(buffer_bytes) +
                         " bytes but the tensors cover " + std::to_string(covered));
  }
  return Status::Ok();
}

std::vector<float> DecodeF32(std::string_view bytes) {
  std::vector<float> values(bytes.size() / kF32Bytes);
  if constexpr (std::endian::native == std::endian::little) {
    if (!values.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
  } else {
    for (size_t i = 0; i < values.size(); ++i) {
      uint32_t word = 0;
      for (int b = 0; b < 4; ++b) {
        word |= uint32_t{static_cast<uint8_t>(bytes[4 * i + b])} << (8 * b);
      }
      values[i] = std::bit_cast<float>(word);
    }
  }
  return values;
}

StatusOr<SafetensorsFile> ParseSafetensors(std::string_view bytes) {
  if (bytes.size() < kSizePrefixBytes) {
    return DataLossError("file of " + std::to_string(bytes.size()) +
                         " bytes is shorter than the 8-byte header size");
  }
  uint64_t header_bytes = 0;
  for (size_t i = 0; i < kSizePrefixBytes; ++i) {
    header_bytes |= uint64_t{static_cast<uint8_t>(bytes[i])} << (8 * i);
  }
  if (header_bytes > kMaxSafetensorsHeaderBytes) {
    return OutOfRangeError("header size " + std::to_string(header_bytes) + " exceeds the cap of " +
                           std::to_string(kMaxSafetensorsHeaderBytes) + " bytes");
  }
  if (header_bytes > bytes.size() - kSizePrefixBytes) {
    return DataLossError("header size " + std::to_string(header_bytes) +
                         " runs past the end of the file (" + std::to_string(bytes.size()) +
                         " bytes)");
  }
  const std::string_view buffer = bytes.substr(kSizePrefixBytes + header_bytes);

  Json header;
  try {
    header = Json::parse(bytes.substr(kSizePrefixBytes, header_bytes));
  } catch (const Json::exception& e) {
    return DataLossError(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) return DataLossError("header is not a JSON object");

  SafetensorsFile file;
  std::vector<TensorEntry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      CARTABLE_RETURN_IF_ERROR(ParseMetadata(value, file.metadata));
    } else if (key.starts_with("__")) {
      return DataLossError("header entry " + Quoted(key) + " uses the reserved prefix '__'");
    } else {
      CARTABLE_ASSIGN_OR_RETURN(TensorEntry entry, ParseTensorEntry(key, value, buffer.size()));
      entries.push_back(std::move(entry));
    }
  }
  CARTABLE_RETURN_IF_ERROR(CheckCoverage(entries, buffer.size()));

  for (TensorEntry& entry : entries) {
    file.tensors.push_back({std::move(entry.name), std::move(entry.shape),
                            DecodeF32(buffer.substr(entry.begin, entry.end - entry.begin))});
  }
  return file;
}

}  // namespace

Status WriteSafetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  StatusOr<std::string> bytes = EncodeSafetensors(tensors, metadata);
  if (!bytes.ok()) return bytes.status().WithContext("writing " + path.string());
  return WriteFileAtomically(path, *bytes);
}

StatusOr<SafetensorsFile> ReadSafetensors(const std::filesystem::path& path) {
  // Reading the whole file bounds every later allocation by bytes that really exist on disk; the
  // header size is then checked against them before anything is parsed.
  CARTABLE_ASSIGN_OR_RETURN(const std::string bytes, ReadFile(path));
  StatusOr<SafetensorsFile> file = ParseSafetensors(bytes);
  if (!file.ok()) return file.status().WithContext(path.string());
  return file;
}

StatusOr<std::vector<float>> FlattenInLayout(const SafetensorsFile& file,
                                             const std::vector<ParameterBlock>& layout) {
  std::map<std::string_view, const NamedTensor*> by_name;
  for (const NamedTensor& tensor : file.tensors) {
    if (!by_name.emplace(tensor.name, &tensor).second) {
      return InvalidArgumentError("tensor " + Quoted(tensor.name) + " appears twice");
    }
  }
  std::vector<float> flat;
  for (const ParameterBlock& block : layout) {
    const auto found = by_name.find(block.name);
    if (found == by_name.end()) {
      return InvalidArgumentError("tensor " + Quoted(block.name) +
                                  " of the model's layout is missing");
    }
    const NamedTensor& tensor = *found->second;
    if (tensor.shape != block.shape) {
      return InvalidArgumentError("tensor " + Quoted(block.name) + " has shape " +
                                  ShapeText(tensor.shape) + " but the model expects " +
                                  ShapeText(block.shape));
    }
    const std::optional<uint64_t> bytes = F32ByteSize(block.shape);
    if (!bytes || *bytes / kF32Bytes != tensor.values.size()) {
      return InvalidArgumentError("tensor " + Quoted(block.name) + " has " +
                                  std::to_string(tensor.values.size()) + " values for shape " +
                                  ShapeText(block.shape));
    }
    flat.insert(flat.end(), tensor.values.begin(), tensor.values.end());
    by_name.erase(found);
  }
  if (!by_name.empty()) {
    return InvalidArgumentError("tensor " + Quoted(by_name.begin()->first) +
                                " is not part of the model's layout");
  }
  return flat;
}

std::vector<NamedTensor> SplitByLayout(std::span<const float> flat,
                                       const std::vector<ParameterBlock>& layout) {
  std::vector<size_t> sizes;
  size_t total = 0;
  for (const ParameterBlock& block : layout) {
    size_t size = 1;
    for (int64_t dim : block.shape) {
      CARTABLE_CHECK(dim >= 0) << "block '" << block.name << "' has a negative dimension";
      size *= static_cast<size_t>(dim);
    }
    sizes.push_back(size);
    total += size;
  }
  CARTABLE_CHECK(total == flat.size())
      << "the layout holds " << total << " parameters but the vector has " << flat.size();
  std::vector<NamedTensor> tensors;
  size_t offset = 0;
  for (size_t i = 0; i < layout.size(); ++i) {
    const std::span<const float> values = flat.subspan(offset, sizes[i]);
    tensors.push_back({layout[i].name, layout[i].shape, {values.begin(), values.end()}});
    offset += sizes[i];
  }
  return tensors;
}

}  // namespace cartable::models
