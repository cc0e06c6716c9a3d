#pragma once

// PoolManifest: what `cartable node pool` needs to host its share of a simulation's schools,
// written by `cartable simulate --mode pools` to OUT/pool.json once its coordinator listens. Pools
// read it from a directory every machine sees (a cluster's shared filesystem, a Kubernetes volume);
// the pool of index i among n hosts the schools whose position in the manifest is i modulo n, so
// each school is hosted by exactly one pool, whatever the machines.
//
// A simulation's keys and data are all in OUT: the manifest names files, it holds no secret.

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"

namespace cartable::simulations {

struct PoolSchool {
  std::string name;
  std::string data;  // its share, FORMAT:PATH (csv or records), as a node's --data
  std::filesystem::path pseudonym_key;  // as a node's --pseudonym-key
  std::filesystem::path key;            // its CURVE secret key (empty without CURVE)
};

struct PoolManifest {
  std::string endpoint;                   // where the coordinator listens, as pools reach it
  std::filesystem::path coordinator_key;  // the coordinator's .pub (empty without CURVE)
  std::filesystem::path roster;           // the schools' .sign.pub files (empty: no roster)
  double test_fraction = 0.2;
  uint64_t split_seed = 1;
  bool allow_plain_updates = false;  // secure aggregation off
  double tolerate_corrupt = 0.05;
  std::vector<PoolSchool> schools;
};

// Writes `manifest` to `path` atomically (a pool never reads half of it).
Status WritePoolManifest(const PoolManifest& manifest, const std::filesystem::path& path);
// Reads and checks a manifest; every error names the file and the field.
StatusOr<PoolManifest> ReadPoolManifest(const std::filesystem::path& path);

// The positions of the schools pool `index` of `pools` hosts: index, index + pools, …
std::vector<size_t> PoolShare(size_t schools, size_t index, size_t pools);

}  // namespace cartable::simulations
