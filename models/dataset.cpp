#include "models/dataset.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/check.h"

namespace cartable::models {
namespace {

uint64_t Mix(uint64_t x) {  // SplitMix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t HashKey(const std::string& key) {  // FNV-1a
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// Copies the log's shape (spaces, record columns) without its rows.
InteractionLog EmptyLike(const InteractionLog& log) {
  InteractionLog out;
  out.num_skills = log.num_skills;
  out.num_items = log.num_items;
  out.records.feature_names = log.records.feature_names;
  return out;
}

void AppendRecord(const PupilRecords& from, size_t row, uint32_t pupil, PupilRecords& to) {
  const size_t width = from.num_features();
  to.features.insert(to.features.end(), from.features.begin() + static_cast<ptrdiff_t>(row * width),
                     from.features.begin() + static_cast<ptrdiff_t>((row + 1) * width));
  to.pupil.push_back(pupil);
  to.outcome.push_back(from.outcome[row]);
}

Status CheckRecords(const InteractionLog& log) {
  const PupilRecords& r = log.records;
  if (r.pupil.size() != r.outcome.size() || r.features.size() != r.size() * r.num_features()) {
    return InvalidArgumentError("pupil records: " + std::to_string(r.size()) + " outcomes, " +
                                std::to_string(r.pupil.size()) + " pupils and " +
                                std::to_string(r.features.size()) + " values for " +
                                std::to_string(r.num_features()) + " columns do not fit together");
  }
  if (r.size() > 0 && r.num_features() == 0)
    return InvalidArgumentError("pupil records without columns");
  std::vector<bool> seen(log.num_pupils(), false);
  for (size_t row = 0; row < r.size(); ++row) {
    const std::string where = "record " + std::to_string(row) + ": ";
    if (r.pupil[row] >= log.num_pupils())
      return InvalidArgumentError(where + "pupil index out of range");
    if (r.outcome[row] > 1) return InvalidArgumentError(where + "outcome is neither 0 nor 1");
    for (size_t c = 0; c < r.num_features(); ++c) {
      if (!std::isfinite(r.features[row * r.num_features() + c])) {
        return InvalidArgumentError(where + "feature " + r.feature_names[c] +
                                    " is not a finite number");
      }
    }
    if (row == 0 || r.pupil[row - 1] != r.pupil[row]) {
      if (seen[r.pupil[row]])
        return InvalidArgumentError(where + "pupil's records are not contiguous");
      seen[r.pupil[row]] = true;
    }
  }
  return Status::Ok();
}

}  // namespace

Status Validate(const InteractionLog& log) {
  std::vector<bool> seen(log.num_pupils(), false);
  for (size_t i = 0; i < log.interactions.size(); ++i) {
    const Interaction& x = log.interactions[i];
    const std::string where = "interaction " + std::to_string(i) + ": ";
    if (x.pupil >= log.num_pupils())
      return InvalidArgumentError(where + "pupil index out of range");
    if (x.skill >= log.num_skills) {
      return InvalidArgumentError(where + "skill " + std::to_string(x.skill) + " is not below " +
                                  std::to_string(log.num_skills));
    }
    if (x.item != 0 && x.item >= log.num_items) {
      return InvalidArgumentError(where + "item " + std::to_string(x.item) + " is not below " +
                                  std::to_string(log.num_items));
    }
    if (x.correct > 1) return InvalidArgumentError(where + "answer is neither 0 nor 1");
    const bool continues = i > 0 && log.interactions[i - 1].pupil == x.pupil;
    if (!continues) {
      if (seen[x.pupil])
        return InvalidArgumentError(where + "pupil's interactions are not contiguous");
      seen[x.pupil] = true;
    }
  }
  return CheckRecords(log);
}

PupilSplit SplitByPupil(const InteractionLog& log, double test_fraction, uint64_t seed,
                        double validation_fraction) {
  // Each pupil draws one uniform number u in [0, 1) from (seed, key): test when u < test fraction,
  // then validation when u < test + validation fraction, else train. The comparisons are done on
  // the 64-bit hash; 2^64 as a double is out of uint64_t's range, so full shares are handled apart,
  // never converted.
  const double test = std::clamp(test_fraction, 0.0, 1.0);
  const double validation = std::clamp(validation_fraction, 0.0, 1.0 - test);
  auto threshold = [](double fraction) {
    const double scaled = fraction * 18446744073709551616.0;
    return scaled >= 18446744073709551616.0 ? UINT64_MAX : static_cast<uint64_t>(scaled);
  };
  const uint64_t test_below = threshold(test), validation_below = threshold(test + validation);
  enum Side : uint32_t { kTrain, kTest, kValidation };
  std::vector<uint32_t> side_of(log.num_pupils());
  for (size_t p = 0; p < log.num_pupils(); ++p) {
    const uint64_t u = Mix(seed ^ HashKey(log.pupil_keys[p]));
    side_of[p] = (test >= 1.0 || u < test_below)                      ? kTest
                 : (test + validation >= 1.0 || u < validation_below) ? kValidation
                                                                      : kTrain;
  }
  std::vector<InteractionLog> sides = PartitionPupils(log, side_of, 3);
  return {std::move(sides[kTrain]), std::move(sides[kTest]), std::move(sides[kValidation])};
}

std::vector<InteractionLog> PartitionPupils(const InteractionLog& log,
                                            std::span<const uint32_t> part_of, size_t parts) {
  CARTABLE_CHECK(part_of.size() == log.num_pupils()) << "one part per pupil";
  for (uint32_t part : part_of) CARTABLE_CHECK(part < parts) << "part " << part << " of " << parts;
  std::vector<InteractionLog> out(parts, EmptyLike(log));
  constexpr uint32_t kUnset = UINT32_MAX;
  std::vector<uint32_t> new_index(log.num_pupils(), kUnset);
  auto index_of = [&](uint32_t pupil) {
    if (new_index[pupil] == kUnset) {
      InteractionLog& part = out[part_of[pupil]];
      new_index[pupil] = static_cast<uint32_t>(part.pupil_keys.size());
      part.pupil_keys.push_back(log.pupil_keys[pupil]);
    }
    return new_index[pupil];
  };
  for (Interaction x : log.interactions) {
    const uint32_t pupil = x.pupil;
    x.pupil = index_of(pupil);
    out[part_of[pupil]].interactions.push_back(x);
  }
  for (size_t row = 0; row < log.records.size(); ++row) {
    const uint32_t pupil = log.records.pupil[row];
    const uint32_t index = index_of(pupil);
    AppendRecord(log.records, row, index, out[part_of[pupil]].records);
  }
  return out;
}

InteractionLog Concatenate(const std::vector<const InteractionLog*>& logs) {
  InteractionLog out;
  for (const InteractionLog* log : logs) {
    out.num_skills = std::max(out.num_skills, log->num_skills);
    out.num_items = std::max(out.num_items, log->num_items);
    if (out.records.feature_names.empty()) out.records.feature_names = log->records.feature_names;
    CARTABLE_CHECK(log->records.feature_names.empty() ||
                   log->records.feature_names == out.records.feature_names)
        << "concatenating pupil records with different columns";
    const uint32_t offset = static_cast<uint32_t>(out.pupil_keys.size());
    out.pupil_keys.insert(out.pupil_keys.end(), log->pupil_keys.begin(), log->pupil_keys.end());
    for (Interaction x : log->interactions) {
      x.pupil += offset;
      out.interactions.push_back(x);
    }
    for (size_t row = 0; row < log->records.size(); ++row) {
      AppendRecord(log->records, row, log->records.pupil[row] + offset, out.records);
    }
  }
  return out;
}

}  // namespace cartable::models
