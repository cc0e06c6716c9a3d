#include "simulations/pool_manifest.h"

#include <nlohmann/json.hpp>

#include "core/files.h"

namespace cartable::simulations {
namespace {

using json = nlohmann::json;

// The manifest of 100,000 schools is a few MiB; far more is not one.
constexpr size_t kMaxManifestBytes = size_t{64} << 20;

template <typename T>
StatusOr<T> Field(const json& object, const char* key, const std::string& where) {
  if (!object.is_object() || !object.contains(key)) {
    return InvalidArgumentError(where + ": \"" + key + "\" is missing");
  }
  try {
    return object.at(key).get<T>();
  } catch (const json::exception&) {
    return InvalidArgumentError(where + ": \"" + key + "\" has the wrong type");
  }
}

}  // namespace

Status WritePoolManifest(const PoolManifest& m, const std::filesystem::path& path) {
  json schools = json::array();
  for (const PoolSchool& s : m.schools) {
    schools.push_back({{"name", s.name},
                       {"data", s.data},
                       {"pseudonym_key", s.pseudonym_key.string()},
                       {"key", s.key.string()}});
  }
  const json manifest = {{"endpoint", m.endpoint},
                         {"coordinator_key", m.coordinator_key.string()},
                         {"roster", m.roster.string()},
                         {"test_fraction", m.test_fraction},
                         {"split_seed", m.split_seed},
                         {"allow_plain_updates", m.allow_plain_updates},
                         {"tolerate_corrupt", m.tolerate_corrupt},
                         {"schools", schools}};
  return WriteFileAtomically(path, manifest.dump(1) + "\n");
}

StatusOr<PoolManifest> ReadPoolManifest(const std::filesystem::path& path) {
  const std::string where = path.string();
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) return NotFoundError(where + ": " + error.message());
  if (size > kMaxManifestBytes) return InvalidArgumentError(where + ": larger than 64 MiB");
  CARTABLE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  const json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgumentError(where + ": not JSON");
  PoolManifest m;
  CARTABLE_ASSIGN_OR_RETURN(m.endpoint, Field<std::string>(parsed, "endpoint", where));
  CARTABLE_ASSIGN_OR_RETURN(std::string coordinator_key,
                            Field<std::string>(parsed, "coordinator_key", where));
  m.coordinator_key = coordinator_key;
  CARTABLE_ASSIGN_OR_RETURN(std::string roster, Field<std::string>(parsed, "roster", where));
  m.roster = roster;
  CARTABLE_ASSIGN_OR_RETURN(m.test_fraction, Field<double>(parsed, "test_fraction", where));
  CARTABLE_ASSIGN_OR_RETURN(m.split_seed, Field<uint64_t>(parsed, "split_seed", where));
  CARTABLE_ASSIGN_OR_RETURN(m.allow_plain_updates,
                            Field<bool>(parsed, "allow_plain_updates", where));
  CARTABLE_ASSIGN_OR_RETURN(m.tolerate_corrupt, Field<double>(parsed, "tolerate_corrupt", where));
  if (m.endpoint.empty()) return InvalidArgumentError(where + ": \"endpoint\" is empty");
  if (!(m.test_fraction > 0 && m.test_fraction < 1)) {
    return InvalidArgumentError(where + ": \"test_fraction\" must be in (0, 1)");
  }
  if (!(m.tolerate_corrupt >= 0 && m.tolerate_corrupt < 1)) {
    return InvalidArgumentError(where + ": \"tolerate_corrupt\" must be in [0, 1)");
  }
  if (!parsed.contains("schools") || !parsed["schools"].is_array() || parsed["schools"].empty()) {
    return InvalidArgumentError(where + ": \"schools\" must be a non-empty array");
  }
  for (size_t i = 0; i < parsed["schools"].size(); ++i) {
    const json& s = parsed["schools"][i];
    const std::string at = where + ": schools[" + std::to_string(i) + "]";
    PoolSchool school;
    CARTABLE_ASSIGN_OR_RETURN(school.name, Field<std::string>(s, "name", at));
    CARTABLE_ASSIGN_OR_RETURN(school.data, Field<std::string>(s, "data", at));
    CARTABLE_ASSIGN_OR_RETURN(std::string pseudonym_key,
                              Field<std::string>(s, "pseudonym_key", at));
    CARTABLE_ASSIGN_OR_RETURN(std::string key, Field<std::string>(s, "key", at));
    if (school.name.empty() || school.data.empty() || pseudonym_key.empty()) {
      return InvalidArgumentError(at + ": name, data and pseudonym_key must not be empty");
    }
    if (key.empty() != m.coordinator_key.empty()) {
      return InvalidArgumentError(at + ": a key for each school goes with the coordinator's");
    }
    school.pseudonym_key = pseudonym_key;
    school.key = key;
    m.schools.push_back(std::move(school));
  }
  return m;
}

std::vector<size_t> PoolShare(size_t schools, size_t index, size_t pools) {
  std::vector<size_t> share;
  if (pools == 0) return share;
  for (size_t s = index; s < schools; s += pools) share.push_back(s);
  return share;
}

}  // namespace cartable::simulations
