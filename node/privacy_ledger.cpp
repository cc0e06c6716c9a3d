#include "node/privacy_ledger.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/files.h"

namespace cartable::node {
namespace {

constexpr size_t kMaxLedgerBytes = size_t{64} << 20;  // ~300,000 runs: far beyond any node's

StatusOr<LedgerEntry> ParseEntry(const std::string& line) {
  try {
    const nlohmann::json j = nlohmann::json::parse(line);
    LedgerEntry e;
    e.run_id = j.at("run_id").get<uint64_t>();
    e.plan_hash = j.at("plan_hash").get<std::string>();
    const int64_t trainings = j.at("trainings").get<int64_t>();
    if (trainings < 1 || trainings > UINT32_MAX) return DataLossError("trainings out of range");
    e.trainings = static_cast<uint32_t>(trainings);
    e.epsilon = j.at("epsilon").get<double>();
    e.delta = j.at("delta").get<double>();
    e.school_year = j.at("school_year").get<std::string>();
    e.unix_ms = j.at("unix_ms").get<int64_t>();
    const std::string unit = j.value("unit", std::string("pupil"));
    if (unit == "establishment") {
      e.unit = PrivacyUnit::kEstablishment;
    } else if (unit != "pupil") {
      return DataLossError("unknown unit of privacy '" + unit + "'");
    }
    if (!(e.epsilon >= 0) || !(e.delta >= 0)) return DataLossError("a negative ε or δ");
    return e;
  } catch (const nlohmann::json::exception& e) {
    return DataLossError(e.what());
  }
}

}  // namespace

const char* PrivacyUnitName(PrivacyUnit unit) {
  return unit == PrivacyUnit::kEstablishment ? "establishment" : "pupil";
}

std::string SchoolYearOf(int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm date{};
  gmtime_r(&seconds, &date);
  const int year = date.tm_year + 1900;
  const int first = date.tm_mon >= 8 ? year : year - 1;  // tm_mon 8 is September
  return std::to_string(first) + "-" + std::to_string(first + 1);
}

StatusOr<std::unique_ptr<PrivacyLedger>> PrivacyLedger::Open(const std::filesystem::path& path,
                                                             WallClock now_unix_ms) {
  if (!now_unix_ms) now_unix_ms = UnixMillis;
  if (path.has_parent_path()) CARTABLE_RETURN_IF_ERROR(EnsureDirectory(path.parent_path()));
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return OsError("cannot open the privacy ledger", path);
  std::unique_ptr<PrivacyLedger> ledger(new PrivacyLedger(path, fd, std::move(now_unix_ms)));
  struct stat info {};
  if (::fstat(fd, &info) != 0) return OsError("cannot stat the privacy ledger", path);
  if (!S_ISREG(info.st_mode)) {
    return InvalidArgumentError("the privacy ledger " + path.string() + " is not a regular file");
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    return errno == EWOULDBLOCK
               ? FailedPreconditionError("the privacy ledger " + path.string() +
                                         " is open in another process (a second node on the "
                                         "same state directory?)")
               : OsError("cannot lock the privacy ledger", path);
  }
  if (static_cast<size_t>(info.st_size) > kMaxLedgerBytes) {
    return DataLossError("the privacy ledger " + path.string() + " is larger than " +
                         std::to_string(kMaxLedgerBytes >> 20) + " MiB: not a ledger of this node");
  }
  CARTABLE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  size_t complete = text.rfind('\n');
  complete = complete == std::string::npos ? 0 : complete + 1;
  if (complete < text.size()) {
    // A write cut short by a crash: its run never trained (training waits for the sync).
    spdlog::warn(
        "privacy ledger {}: cutting off an unfinished last entry of {} byte(s), left by a "
        "crash before its run trained",
        path.string(), text.size() - complete);
    if (::ftruncate(fd, static_cast<off_t>(complete)) != 0 || ::fdatasync(fd) != 0)
      return OsError("cannot cut the unfinished entry off the privacy ledger", path);
    text.resize(complete);
  }
  size_t line_number = 0;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    ++line_number;
    StatusOr<LedgerEntry> entry = ParseEntry(text.substr(start, end - start));
    if (!entry.ok()) {
      return DataLossError("the privacy ledger " + path.string() + ":" +
                           std::to_string(line_number) + " is not a ledger entry (" +
                           entry.status().message() +
                           "); the node will not guess what its pupils' privacy has cost");
    }
    ledger->entries_.push_back(std::move(entry).value());
    start = end + 1;
  }
  if (info.st_size == 0) SyncParentDirectory(path);
  return ledger;
}

PrivacyLedger::PrivacyLedger(std::filesystem::path path, int fd, WallClock now)
    : path_(std::move(path)), fd_(fd), now_(std::move(now)) {}

PrivacyLedger::~PrivacyLedger() { ::close(fd_); }

PrivacyLedger::RunCharge PrivacyLedger::Charged(uint64_t run_id, const std::string& plan_hash,
                                                PrivacyUnit unit) const {
  RunCharge charge;
  for (const LedgerEntry& e : entries_) {
    if (e.run_id != run_id || e.plan_hash != plan_hash || e.unit != unit) continue;
    charge.trainings = std::max(charge.trainings, e.trainings);
    charge.epsilon += e.epsilon;
  }
  return charge;
}

double PrivacyLedger::SpentIn(const std::string& school_year, PrivacyUnit unit) const {
  double spent = 0;
  for (const LedgerEntry& e : entries_) {
    if (e.school_year == school_year && e.unit == unit) spent += e.epsilon;
  }
  return spent;
}

StatusOr<LedgerEntry> PrivacyLedger::Record(uint64_t run_id, const std::string& plan_hash,
                                            uint32_t trainings, double epsilon, double delta,
                                            PrivacyUnit unit) {
  CARTABLE_RETURN_IF_ERROR(broken_);
  if (trainings == 0) return InvalidArgumentError("a ledger entry covers one training at least");
  if (!std::isfinite(epsilon) || epsilon < 0 || !std::isfinite(delta) || delta < 0) {
    return InvalidArgumentError("the privacy ledger records only finite ε and δ, not ε = " +
                                std::to_string(epsilon) + ", δ = " + std::to_string(delta));
  }
  const int64_t now = now_();
  LedgerEntry entry{run_id, plan_hash, trainings, epsilon, delta, SchoolYearOf(now), now, unit};
  const nlohmann::ordered_json j = {
      {"run_id", entry.run_id},           {"plan_hash", entry.plan_hash},
      {"unit", PrivacyUnitName(unit)},    {"trainings", entry.trainings},
      {"epsilon", entry.epsilon},         {"delta", entry.delta},
      {"school_year", entry.school_year}, {"unix_ms", entry.unix_ms}};
  std::string line = j.dump() + "\n";
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      broken_ = OsError("cannot write to the privacy ledger", path_);
      return broken_;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (::fdatasync(fd_) != 0) {
    broken_ = OsError("cannot sync the privacy ledger", path_);
    return broken_;
  }
  entries_.push_back(entry);
  return entry;
}

}  // namespace cartable::node
