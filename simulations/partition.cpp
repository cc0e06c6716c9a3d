#include "simulations/partition.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <string_view>
#include <unordered_map>

namespace cartable::simulations {
namespace {

constexpr size_t kMinPupils = 2;  // one to train on, one to hold out

// "school-0042" with as many digits as the largest number needs (at least two).
std::vector<std::string> Numbered(size_t schools) {
  const size_t width = std::max<size_t>(2, std::to_string(schools).size());
  std::vector<std::string> names;
  for (size_t s = 1; s <= schools; ++s) {
    std::string digits = std::to_string(s);
    names.push_back("school-" + std::string(width - digits.size(), '0') + digits);
  }
  return names;
}

// A school name from an attribute value: letters, digits, '.', '_' and '-' kept, others '-'.
std::string NameOf(const std::string& column, const std::string& value) {
  std::string name = column + "-";
  for (char c : value) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
    name.push_back(keep ? c : '-');
  }
  return name;
}

std::vector<double> DrawDirichlet(double alpha, size_t n, std::mt19937_64& rng) {
  std::gamma_distribution<double> gamma(alpha, 1.0);
  std::vector<double> p(n);
  double sum = 0;
  for (double& x : p) sum += (x = gamma(rng));
  if (!(sum > 0)) return std::vector<double>(n, 1.0 / static_cast<double>(n));
  for (double& x : p) x /= sum;
  return p;
}

// Cuts `count` items into parts with the given shares (largest remainders), at least `floor` each.
std::vector<size_t> Cut(size_t count, const std::vector<double>& shares, size_t floor) {
  const size_t parts = shares.size();
  std::vector<size_t> sizes(parts, floor);
  const size_t rest = count - floor * parts;
  std::vector<std::pair<double, size_t>> remainders;
  size_t given = 0;
  for (size_t s = 0; s < parts; ++s) {
    const double exact = shares[s] * static_cast<double>(rest);
    const auto whole = static_cast<size_t>(std::floor(exact));
    sizes[s] += whole;
    given += whole;
    remainders.emplace_back(exact - static_cast<double>(whole), s);
  }
  std::sort(remainders.begin(), remainders.end(), std::greater<>());
  for (size_t i = 0; given < rest; ++i, ++given) sizes[remainders[i % parts].second] += 1;
  return sizes;
}

// The class a pupil is grouped by for label skew.
std::vector<uint32_t> ClassOf(const models::InteractionLog& log) {
  std::vector<uint32_t> cls(log.num_pupils(), 0);
  if (log.records.size() > 0) {
    std::vector<bool> seen(log.num_pupils(), false);
    for (size_t row = 0; row < log.records.size(); ++row) {
      const uint32_t p = log.records.pupil[row];
      if (!seen[p]) cls[p] = log.records.outcome[row];
      seen[p] = true;
    }
    return cls;
  }
  std::vector<std::map<uint32_t, uint32_t>> counts(log.num_pupils());
  for (const models::Interaction& x : log.interactions) counts[x.pupil][x.skill] += 1;
  for (size_t p = 0; p < counts.size(); ++p) {
    uint32_t best = 0;
    for (const auto& [skill, n] : counts[p]) {
      if (n > best) {
        best = n;
        cls[p] = skill;
      }
    }
  }
  return cls;
}

Status CheckSizes(const Partition& partition, const std::string& advice) {
  std::vector<size_t> size(partition.names.size(), 0);
  for (uint32_t s : partition.school_of) size[s] += 1;
  for (size_t s = 0; s < size.size(); ++s) {
    if (size[s] < kMinPupils) {
      return FailedPreconditionError("virtual school '" + partition.names[s] + "' would hold " +
                                     std::to_string(size[s]) + " pupil(s), fewer than " +
                                     std::to_string(kMinPupils) + ": " + advice);
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<PartitionSpec> ParsePartition(const std::string& text) {
  PartitionSpec spec;
  spec.text = text;
  const size_t colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  const std::string arg = colon == std::string::npos ? "" : text.substr(colon + 1);
  auto bad = [&] {
    return InvalidArgumentError("--partition '" + text +
                                "': expected iid, quantity:ALPHA, dirichlet:ALPHA (ALPHA a "
                                "positive number, e.g. 0.5) or by:COLUMN (e.g. by:region)");
  };
  if (kind == "iid" && colon == std::string::npos) return spec;
  if (kind == "by") {
    if (arg.empty()) return bad();
    spec.kind = PartitionSpec::Kind::kBy;
    spec.column = arg;
    return spec;
  }
  if (kind != "quantity" && kind != "dirichlet") return bad();
  spec.kind = kind == "quantity" ? PartitionSpec::Kind::kQuantity : PartitionSpec::Kind::kDirichlet;
  auto [end, error] = std::from_chars(arg.data(), arg.data() + arg.size(), spec.alpha);
  if (arg.empty() || error != std::errc() || end != arg.data() + arg.size() ||
      !(spec.alpha >= 1e-3 && spec.alpha <= 1e6)) {
    return bad();
  }
  return spec;
}

StatusOr<Partition> PartitionPupilsIntoSchools(const models::InteractionLog& log,
                                               const PartitionSpec& spec, size_t schools,
                                               uint64_t seed,
                                               const ingest::PupilAttribute* attribute) {
  const size_t pupils = log.num_pupils();
  Partition partition;
  partition.school_of.assign(pupils, 0);
  std::mt19937_64 rng(seed ^ 0x7061727469746eULL);
  if (spec.kind == PartitionSpec::Kind::kBy) {
    if (attribute == nullptr)
      return InvalidArgumentError("by:" + spec.column + " needs its column");
    std::map<std::string, std::vector<uint32_t>> by_value;
    for (uint32_t p = 0; p < pupils; ++p) {
      auto it = attribute->find(log.pupil_keys[p]);
      by_value[it == attribute->end() ? "unknown" : it->second].push_back(p);
    }
    std::set<std::string> taken;
    for (const auto& [value, members] : by_value) {
      for (uint32_t p : members)
        partition.school_of[p] = static_cast<uint32_t>(partition.names.size());
      // Values that differ only where a name cannot hold their characters ("a b", "a-b") still
      // make schools of different names.
      std::string name = NameOf(spec.column, value);
      for (int n = 2; !taken.insert(name).second; ++n)
        name = NameOf(spec.column, value) + "-" + std::to_string(n);
      partition.names.push_back(name);
      partition.values.push_back(value);
    }
    CARTABLE_RETURN_IF_ERROR(
        CheckSizes(partition, "too few pupils share that value of " + spec.column));
    return partition;
  }
  if (schools < 1) return InvalidArgumentError("a partition needs at least one school");
  if (pupils < kMinPupils * schools) {
    return FailedPreconditionError(std::to_string(pupils) + " pupils cannot make " +
                                   std::to_string(schools) + " schools of at least " +
                                   std::to_string(kMinPupils) + ": ask for fewer --schools");
  }
  partition.names = Numbered(schools);
  std::vector<uint32_t> order(pupils);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  if (spec.kind == PartitionSpec::Kind::kIid) {
    for (size_t i = 0; i < pupils; ++i)
      partition.school_of[order[i]] = static_cast<uint32_t>(i % schools);
    return partition;
  }
  if (spec.kind == PartitionSpec::Kind::kQuantity) {
    const std::vector<size_t> sizes =
        Cut(pupils, DrawDirichlet(spec.alpha, schools, rng), kMinPupils);
    size_t next = 0;
    for (size_t s = 0; s < schools; ++s) {
      for (size_t i = 0; i < sizes[s]; ++i)
        partition.school_of[order[next++]] = static_cast<uint32_t>(s);
    }
    return partition;
  }
  // Label skew: each class shared among the schools by its own draw; drawn again (from the same
  // seeded sequence) while a school would be left too small.
  const std::vector<uint32_t> cls = ClassOf(log);
  std::map<uint32_t, std::vector<uint32_t>> by_class;
  for (uint32_t p : order) by_class[cls[p]].push_back(p);
  Status sizes_ok;
  for (int attempt = 0; attempt < 100; ++attempt) {
    for (const auto& [c, members] : by_class) {
      const std::vector<size_t> sizes =
          Cut(members.size(), DrawDirichlet(spec.alpha, schools, rng), 0);
      size_t next = 0;
      for (size_t s = 0; s < schools; ++s) {
        for (size_t i = 0; i < sizes[s]; ++i)
          partition.school_of[members[next++]] = static_cast<uint32_t>(s);
      }
    }
    sizes_ok = CheckSizes(partition, "raise ALPHA or ask for fewer --schools");
    if (sizes_ok.ok()) return partition;
  }
  return sizes_ok.WithContext("after 100 draws of dirichlet:" + std::to_string(spec.alpha));
}

StatusOr<std::vector<uint32_t>> PlaceHeldOutPupils(const models::InteractionLog& train,
                                                   const Partition& partition,
                                                   const models::InteractionLog& test,
                                                   const PartitionSpec& spec, uint64_t seed,
                                                   const ingest::PupilAttribute* attribute) {
  const size_t schools = partition.names.size();
  std::unordered_map<std::string_view, uint32_t> trained_at;
  for (size_t p = 0; p < train.num_pupils(); ++p)
    trained_at.emplace(train.pupil_keys[p], partition.school_of[p]);
  std::vector<uint32_t> school_of(test.num_pupils(), kNoSchool);
  // The school of each held-out pupil that also trains; a school without held-out pupils, if any.
  const auto settle = [&]() -> std::optional<size_t> {
    std::vector<size_t> held_out(schools, 0);
    for (size_t p = 0; p < test.num_pupils(); ++p) {
      auto it = trained_at.find(test.pupil_keys[p]);
      if (it != trained_at.end()) school_of[p] = it->second;
      if (school_of[p] != kNoSchool) held_out[school_of[p]] += 1;
    }
    for (size_t s = 0; s < schools; ++s) {
      if (held_out[s] == 0) return s;
    }
    return std::nullopt;
  };
  const auto refuse = [&](size_t s, const std::string& advice) {
    return FailedPreconditionError("virtual school '" + partition.names[s] +
                                   "' has no pupil in the held-out file: " + advice);
  };
  if (spec.kind == PartitionSpec::Kind::kBy) {
    if (attribute == nullptr)
      return InvalidArgumentError("by:" + spec.column + " needs its column");
    if (partition.values.size() != schools)
      return InvalidArgumentError("the partition was not made by:" + spec.column);
    std::unordered_map<std::string, uint32_t> by_value;
    for (size_t s = 0; s < schools; ++s) by_value.emplace(partition.values[s], s);
    for (size_t p = 0; p < test.num_pupils(); ++p) {
      auto it = attribute->find(test.pupil_keys[p]);
      auto school = by_value.find(it == attribute->end() ? "unknown" : it->second);
      if (school != by_value.end()) school_of[p] = school->second;
    }
    if (auto empty = settle()) {
      return refuse(*empty, "no held-out pupil has its value of " + spec.column);
    }
    return school_of;
  }
  // Weights per class (dirichlet) or for every pupil alike (class 0): the training pupils each
  // school holds. Drawn again (from the same seeded sequence) while a school would be left without
  // held-out pupils.
  const bool by_class = spec.kind == PartitionSpec::Kind::kDirichlet;
  const std::vector<uint32_t> train_class =
      by_class ? ClassOf(train) : std::vector<uint32_t>(train.num_pupils(), 0);
  const std::vector<uint32_t> test_class =
      by_class ? ClassOf(test) : std::vector<uint32_t>(test.num_pupils(), 0);
  std::map<uint32_t, std::vector<double>> weights;
  std::vector<double> sizes(schools, 0);
  for (size_t p = 0; p < train.num_pupils(); ++p) {
    auto& w = weights.try_emplace(train_class[p], schools, 0.0).first->second;
    w[partition.school_of[p]] += 1;
    sizes[partition.school_of[p]] += 1;
  }
  std::mt19937_64 rng(seed ^ 0x68656c646f7574ULL);
  std::optional<size_t> empty;
  for (int attempt = 0; attempt < 100; ++attempt) {
    for (size_t p = 0; p < test.num_pupils(); ++p) {
      auto it = weights.find(test_class[p]);
      const std::vector<double>& w = it == weights.end() ? sizes : it->second;
      std::discrete_distribution<uint32_t> draw(w.begin(), w.end());
      school_of[p] = draw(rng);
    }
    empty = settle();
    if (!empty) return school_of;
  }
  return refuse(*empty, "after 100 draws; ask for fewer --schools or give more held-out pupils");
}

}  // namespace cartable::simulations
