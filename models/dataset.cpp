#include "models/dataset.h"

#include <algorithm>
#include <string>

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

void AppendPupil(const InteractionLog& from, uint32_t pupil, size_t begin, size_t end,
                 InteractionLog& to) {
  const uint32_t index = static_cast<uint32_t>(to.pupil_keys.size());
  to.pupil_keys.push_back(from.pupil_keys[pupil]);
  for (size_t i = begin; i < end; ++i) {
    Interaction copy = from.interactions[i];
    copy.pupil = index;
    to.interactions.push_back(copy);
  }
}

}  // namespace

Status Validate(const InteractionLog& log) {
  std::vector<bool> seen(log.num_pupils(), false);
  for (size_t i = 0; i < log.interactions.size(); ++i) {
    const Interaction& x = log.interactions[i];
    const std::string where = "interaction " + std::to_string(i) + ": ";
    if (x.pupil >= log.num_pupils()) return InvalidArgumentError(where + "pupil index out of range");
    if (x.skill >= log.num_skills) {
      return InvalidArgumentError(where + "skill " + std::to_string(x.skill) + " is not below " +
                                  std::to_string(log.num_skills));
    }
    if (x.correct > 1) return InvalidArgumentError(where + "answer is neither 0 nor 1");
    const bool continues = i > 0 && log.interactions[i - 1].pupil == x.pupil;
    if (!continues) {
      if (seen[x.pupil]) return InvalidArgumentError(where + "pupil's interactions are not contiguous");
      seen[x.pupil] = true;
    }
  }
  return Status::Ok();
}

PupilSplit SplitByPupil(const InteractionLog& log, double test_fraction, uint64_t seed) {
  PupilSplit split;
  split.train.num_skills = log.num_skills;
  split.test.num_skills = log.num_skills;
  // 2^64 as a double is out of uint64_t's range: the extremes are handled apart, never converted.
  const double fraction = std::clamp(test_fraction, 0.0, 1.0);
  const bool all_to_test = fraction >= 1.0;
  const uint64_t threshold = all_to_test ? 0 : static_cast<uint64_t>(fraction * 18446744073709551615.0);
  size_t begin = 0;
  while (begin < log.interactions.size()) {
    const uint32_t pupil = log.interactions[begin].pupil;
    size_t end = begin;
    while (end < log.interactions.size() && log.interactions[end].pupil == pupil) ++end;
    const bool to_test = all_to_test || Mix(seed ^ HashKey(log.pupil_keys[pupil])) < threshold;
    AppendPupil(log, pupil, begin, end, to_test ? split.test : split.train);
    begin = end;
  }
  return split;
}

InteractionLog Concatenate(const std::vector<const InteractionLog*>& logs) {
  InteractionLog out;
  for (const InteractionLog* log : logs) {
    out.num_skills = std::max(out.num_skills, log->num_skills);
    const uint32_t offset = static_cast<uint32_t>(out.pupil_keys.size());
    out.pupil_keys.insert(out.pupil_keys.end(), log->pupil_keys.begin(), log->pupil_keys.end());
    for (Interaction x : log->interactions) {
      x.pupil += offset;
      out.interactions.push_back(x);
    }
  }
  return out;
}

}  // namespace cartable::models
