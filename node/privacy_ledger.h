#pragma once

// PrivacyLedger: what differential privacy each run has cost this establishment's pupils, and the
// establishment itself, kept by the node (docs/privacy.md). One JSON line per charge: the run, its
// plan hash, the unit of privacy (a pupil: DP-SGD; the establishment: noise added before secure
// aggregation), how many trainings of the run are now covered, the ε this charge adds at δ, and
// the school year it is charged to. The two units are budgets apart: a pupil's ε and the
// establishment's do not add up. A run's first charge covers its planned rounds, at the ε the
// accountant projects for them; a run that asks the node to train more often (a round retried) is
// charged the difference before the extra training. Entries are written and synced before the
// training they cover, so the ledger never under-counts: a run cut short is charged in full.
//
// Crash safety: each entry is one write(2) on an O_APPEND descriptor, then fdatasync, and training
// starts only after both returned. A crash in the middle of a write leaves a last line without its
// '\n', for a run that never trained: Open cuts it off (and says so). Any other line that does not
// parse is DATA_LOSS: the ledger is not guessed at. Open takes an exclusive flock(2), so a second
// node process on the same state directory is refused. Not thread safe.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace cartable::node {

// Whom a charge protects: each pupil (DP-SGD at the node) or the establishment as a whole (its
// update, by the distributed discrete Gaussian under secure aggregation).
enum class PrivacyUnit { kPupil, kEstablishment };
const char* PrivacyUnitName(PrivacyUnit unit);  // "pupil", "establishment"

struct LedgerEntry {
  uint64_t run_id = 0;
  std::string plan_hash;   // hex
  uint32_t trainings = 0;  // trainings of the run covered, with the entries before
  double epsilon = 0;      // what this entry adds
  double delta = 0;
  std::string school_year;  // "2026-2027": from 1 September to 31 August
  int64_t unix_ms = 0;
  PrivacyUnit unit = PrivacyUnit::kPupil;  // entries written before units existed are per pupil
};

// The school year of a date (Unix milliseconds, UTC): "Y-(Y+1)" from 1 September of Y.
std::string SchoolYearOf(int64_t unix_ms);

class PrivacyLedger {
 public:
  using WallClock = std::function<int64_t()>;  // Unix milliseconds
  // Opens (creating it and its directory if missing) the ledger at `path` and reads it whole.
  static StatusOr<std::unique_ptr<PrivacyLedger>> Open(const std::filesystem::path& path,
                                                       WallClock now_unix_ms = nullptr);
  ~PrivacyLedger();
  PrivacyLedger(const PrivacyLedger&) = delete;
  PrivacyLedger& operator=(const PrivacyLedger&) = delete;

  struct RunCharge {
    uint32_t trainings = 0;  // 0: never charged
    double epsilon = 0;      // the sum of the run's entries
  };
  // What this run and plan have been charged so far, for `unit`.
  RunCharge Charged(uint64_t run_id, const std::string& plan_hash,
                    PrivacyUnit unit = PrivacyUnit::kPupil) const;
  // ε charged to `school_year` for `unit` so far (the sum over its entries: basic composition
  // across runs).
  double SpentIn(const std::string& school_year, PrivacyUnit unit = PrivacyUnit::kPupil) const;
  std::string CurrentSchoolYear() const { return SchoolYearOf(now_()); }
  // Appends and syncs a charge of `epsilon` more for this run, now covering `trainings`, in the
  // current school year; returns it. INVALID_ARGUMENT for a ε or δ that is not a finite number
  // >= 0; an OS error when writing fails (then every later Record fails: reopen to find out).
  StatusOr<LedgerEntry> Record(uint64_t run_id, const std::string& plan_hash, uint32_t trainings,
                               double epsilon, double delta,
                               PrivacyUnit unit = PrivacyUnit::kPupil);
  const std::vector<LedgerEntry>& entries() const { return entries_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  PrivacyLedger(std::filesystem::path path, int fd, WallClock now);

  std::filesystem::path path_;
  int fd_;
  WallClock now_;
  std::vector<LedgerEntry> entries_;
  Status broken_;
};

}  // namespace cartable::node
