#include "audit/internal/chain_checker.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "aggregation/secagg/digest.h"
#include "audit/internal/entry.h"

namespace cartable::audit::internal {
namespace {

using nlohmann::ordered_json;

constexpr std::array<std::string_view, 6> kKeys = {"seq", "time", "event", "prev", "data", "hash"};

// The keys of `entry`, quoted and shortened: they come from a file that may be hostile.
std::string KeyList(const ordered_json& entry) {
  std::string list;
  size_t shown = 0;
  for (const auto& [key, value] : entry.items()) {
    if (shown++ == kKeys.size() + 2) return list + ", ...";
    std::string quoted = ordered_json(key.substr(0, 40))
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    list += (list.empty() ? "" : ", ") + quoted;
  }
  return list.empty() ? "none" : list;
}

}  // namespace

ChainChecker::ChainChecker(std::string name, Expectations expected)
    : name_(std::move(name)),
      expected_(std::move(expected)),
      saw_expected_head_(!expected_.head || *expected_.head == kGenesisHash) {}

std::string ChainChecker::LineError(std::string_view what) const {
  return name_ + " line " + std::to_string(result_.entries + 1) + " (seq " +
         std::to_string(result_.entries) + "): " + std::string(what);
}

Status ChainChecker::Feed(std::string_view bytes) {
  if (!error_.ok()) return error_;
  pending_.append(bytes);
  size_t start = 0;
  for (size_t end; (end = pending_.find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string_view line = std::string_view(pending_).substr(start, end - start);
    error_ = line.size() > kMaxLineBytes
                 ? DataLossError(LineError("longer than the " + std::to_string(kMaxLineBytes) +
                                           " bytes a line may hold: not an entry of this log"))
                 : CheckLine(line);
    if (!error_.ok()) return error_;
    bytes_done_ += line.size() + 1;
  }
  pending_.erase(0, start);
  if (pending_.size() > kMaxLineBytes) {
    error_ = DataLossError(LineError("longer than the " + std::to_string(kMaxLineBytes) +
                                     " bytes a line may hold (read no further): not an entry of "
                                     "this log"));
  }
  return error_;
}

Status ChainChecker::CheckLine(std::string_view line) {
  auto bad = [this](std::string_view what) { return DataLossError(LineError(what)); };
  if (TextNestedDeeperThan(line, kMaxNesting)) {
    return bad("nests deeper than " + std::to_string(kMaxNesting) + " levels");
  }
  try {
    ordered_json entry = ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (entry.is_discarded()) return bad("not JSON (a line added by hand, or damaged?)");
    if (!entry.is_object()) return bad("not a JSON object");
    bool keys_ok = entry.size() == kKeys.size();
    size_t i = 0;
    for (const auto& [key, value] : entry.items()) keys_ok = keys_ok && key == kKeys[i++];
    if (!keys_ok) {
      return bad("has the keys " + KeyList(entry) +
                 "; an entry has seq, time, event, prev, data, hash, in this order");
    }
    if (!entry["seq"].is_number_unsigned()) return bad("seq is not a whole number");
    if (!entry["time"].is_string() || !IsTime(entry["time"].get_ref<const std::string&>())) {
      return bad("time is not a UTC time written YYYY-MM-DDTHH:MM:SS.mmmZ");
    }
    if (!entry["event"].is_string() || !IsEventName(entry["event"].get_ref<const std::string&>())) {
      return bad("event is not 1 to 64 of a-z, 0-9 and _");
    }
    if (!entry["prev"].is_string() || !IsHash(entry["prev"].get_ref<const std::string&>())) {
      return bad("prev is not 64 lower-case hex digits");
    }
    if (!entry["data"].is_object()) return bad("data is not a JSON object");
    if (!entry["hash"].is_string() || !IsHash(entry["hash"].get_ref<const std::string&>())) {
      return bad("hash is not 64 lower-case hex digits");
    }

    // The entry must match its own hash before its place in the chain means anything.
    std::string hash = entry["hash"].get<std::string>();
    entry.erase("hash");
    std::string canonical = HashedBytes(entry);
    if (aggregation::secagg::Sha256Hex(canonical) != hash) {
      return bad("hash does not match the entry (edited?)");
    }
    canonical.pop_back();
    canonical.append(kHashKey).append(hash).append("\"}");
    if (line != canonical) {
      return bad(
          "not written the way the log writes entries (spacing, escapes or a repeated key "
          "differ: rewritten?)");
    }

    const uint64_t seq = entry["seq"].get<uint64_t>();
    if (seq != result_.entries) {
      return bad("seq is " + std::to_string(seq) + ", expected " + std::to_string(result_.entries) +
                 " (an entry removed, duplicated or moved?)");
    }
    if (entry["prev"].get_ref<const std::string&>() != result_.head) {
      return bad(result_.entries == 0
                     ? "prev of the first entry is not the genesis hash (64 zeros): the log's "
                       "beginning is missing?"
                     : "prev is not the hash of the entry before (an entry removed, inserted or "
                       "moved?)");
    }
    if (expected_.head && hash == *expected_.head) saw_expected_head_ = true;
    result_.head = std::move(hash);
    ++result_.entries;
    return Status::Ok();
  } catch (const nlohmann::json::exception& e) {
    return bad(std::string("cannot be read as an entry: ") + e.what());
  }
}

StatusOr<VerifyResult> ChainChecker::Finish() const {
  if (!error_.ok()) return error_;
  if (!pending_.empty()) {
    const std::string offset = std::to_string(bytes_done_);
    return DataLossError(LineError(
        "the last line is incomplete: its " + std::to_string(pending_.size()) +
        " bytes from byte " + offset +
        " have no final newline. A crash during a write leaves this (that entry was never "
        "reported written), and so does a log cut mid-entry; keep a copy, then `truncate -s " +
        offset + " " + name_ + "` drops the incomplete line"));
  }
  const std::string ends =
      " (it holds " + std::to_string(result_.entries) + " entries, head " + result_.head + ")";
  if (expected_.entries && result_.entries < *expected_.entries) {
    return DataLossError(name_ + ": fewer entries than the " + std::to_string(*expected_.entries) +
                         " expected: entries were cut from its end" + ends);
  }
  if (!saw_expected_head_) {
    return DataLossError(name_ + ": no entry has the expected hash " + *expected_.head +
                         ": entries were cut from its end, or the hash is another log's" + ends);
  }
  return result_;
}

StatusOr<VerifyResult> VerifyFileDescriptor(int fd, const std::filesystem::path& path,
                                            Expectations expected) {
  ChainChecker checker(path.string(), std::move(expected));
  std::vector<char> buffer(size_t{1} << 16);
  off_t offset = 0;
  while (true) {
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return UnavailableError("cannot read the audit log " + path.string() + ": " +
                              std::strerror(errno));
    }
    if (n == 0) break;
    offset += n;
    CARTABLE_RETURN_IF_ERROR(checker.Feed({buffer.data(), static_cast<size_t>(n)}));
  }
  return checker.Finish();
}

}  // namespace cartable::audit::internal
