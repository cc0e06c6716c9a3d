#include "protocol/allow_list.h"

#include <algorithm>

#include "protocol/curve_keys.h"
#include "protocol/key_files.h"

namespace cartable::protocol {
namespace {

struct NamedFiles {
  std::optional<std::filesystem::path> curve_key;
  std::optional<std::filesystem::path> identity_key;
};

// The key files of `dir` by NAME, in name order (so that what is reported is the same on every
// load).
StatusOr<std::map<std::string, NamedFiles>> ListKeyFiles(
    const std::filesystem::path& dir, std::vector<std::string>& secret_key_files) {
  std::error_code error;
  std::filesystem::directory_iterator it(dir, error);
  if (error)
    return NotFoundError("cannot read allow-list directory " + dir.string() + ": " +
                         error.message());
  std::map<std::string, NamedFiles> files;
  for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
    const KeyFileName file = ClassifyKeyFile(it->path());
    if (file.kind == KeyFileKind::kCurvePublic) files[file.name].curve_key = it->path();
    if (file.kind == KeyFileKind::kIdentity) files[file.name].identity_key = it->path();
    if (file.kind == KeyFileKind::kCurveSecret)
      secret_key_files.push_back(it->path().filename().string());
  }
  if (error)
    return UnavailableError("cannot list allow-list directory " + dir.string() + ": " +
                            error.message());
  std::sort(secret_key_files.begin(), secret_key_files.end());
  return files;
}

// Whether a failure to load one file may be skipped on a reload: bad contents, or a file removed
// meanwhile. Anything else (cannot open it) would turn a passing trouble into a lock-out.
bool Skippable(const Status& status) {
  return status.code() == StatusCode::kInvalidArgument || status.code() == StatusCode::kNotFound;
}

}  // namespace

StatusOr<AllowList> LoadAllowList(const std::filesystem::path& dir, BadKeyFiles bad_files) {
  AllowList list;
  CARTABLE_ASSIGN_OR_RETURN(auto files, ListKeyFiles(dir, list.secret_key_files));
  // A failed file: an error at start-up, or noted and left out on a reload.
  const auto failed = [&](const Status& status) -> Status {
    if (bad_files == BadKeyFiles::kFail || !Skippable(status)) return status;
    list.skipped.push_back(status);
    return Status::Ok();
  };
  std::map<std::string, std::vector<std::string>> names_of_key;  // to find one key under two names
  for (const auto& [name, paths] : files) {
    if (!paths.curve_key) continue;  // an identity key alone admits no one
    auto curve_key = LoadCurvePublicKey(*paths.curve_key);
    if (!curve_key.ok()) {
      CARTABLE_RETURN_IF_ERROR(failed(curve_key.status()));
      continue;
    }
    AllowedClient client{name, std::nullopt};
    if (paths.identity_key) {
      auto identity_key = LoadIdentityKey(*paths.identity_key);
      if (!identity_key.ok()) {
        CARTABLE_RETURN_IF_ERROR(failed(
            identity_key.status().WithContext("'" + name + "' is not admitted until it is fixed")));
        continue;
      }
      client.identity_key = *identity_key;
    }
    names_of_key[*curve_key].push_back(name);
    list.clients.emplace(*curve_key, std::move(client));
  }
  for (const auto& [key, names] : names_of_key) {
    if (names.size() < 2) continue;
    std::string all;
    for (const std::string& name : names) all += (all.empty() ? "" : ", ") + name + ".pub";
    CARTABLE_RETURN_IF_ERROR(failed(
        InvalidArgumentError((dir / (names[1] + ".pub")).string() + " holds the same key as " +
                             names[0] + ".pub: one key, one name (" + all + " are not admitted)")));
    list.clients.erase(key);
  }
  return list;
}

}  // namespace cartable::protocol
