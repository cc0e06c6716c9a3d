#pragma once

// Reads xAPI statements exported from a learning record store as JSON lines: one statement (a JSON
// object) per line; blank lines are skipped. Statements without result.success (launched,
// experienced, ...) are skipped and counted; a result.success that is not a boolean is an error.
// For an answer:
//   pupil    actor.account.name, else actor.mbox_sha1sum, else actor.mbox, else actor.openid
//   item     object.id, numbered densely in order of first appearance
//   skill    the first of: an extension whose key ends in "skill" (any case; a string or an
//            integer) in object.definition.extensions, then in context.extensions;
//            context.contextActivities.parent[0].id; context.contextActivities.grouping[0].id.
//            Numbered densely in order of first appearance.
//   correct  result.success
//   order    timestamp (ISO 8601, e.g. 2024-03-05T10:15:00.250+01:00; no zone means UTC); ties
//            keep file order
// Pupil attributes (LoadXapiAttribute): `group` and `school`, each from an extension of
// context.extensions whose key's last word is that one (any case; a string, trimmed, or an
// integer), and a group from context.team.name too. A pupil takes the value of its first statement
// that carries one (any statement, with or without result.success), else "unknown". Voiding
// statements are not applied (they lack result.success and are skipped). Lines are capped at 1 MiB
// and JSON nesting at 64 levels. Every error names the file, the line and the field
// (docs/data-formats.md).

#include <cstddef>
#include <filesystem>
#include <string>
#include <unordered_map>

#include "core/status.h"
#include "ingest/pseudonymizer.h"
#include "models/dataset.h"

namespace cartable::ingest {

struct XapiCounts {
  size_t statements = 0;               // non-blank lines
  size_t skipped_without_success = 0;  // statements without a boolean result.success
};

// With a pseudonymizer, actor ids (account names, mbox hashes, mailto addresses) become pseudonyms
// as they are read: the log never holds a raw id. `counts`, when given, receives what was read and
// skipped.
StatusOr<models::InteractionLog> LoadXapi(const std::filesystem::path& path,
                                          const Pseudonymizer* pseudonymizer = nullptr,
                                          XapiCounts* counts = nullptr);

// Whether `column` is a pupil attribute xAPI statements may carry (group, school).
bool IsXapiAttribute(const std::string& column);

// Pupil key (as LoadXapi keys pupils with the same pseudonymizer) → the pupil's value of `column`.
// Errors name the file, the line and the field, as LoadXapi's do.
StatusOr<std::unordered_map<std::string, std::string>> LoadXapiAttribute(
    const std::filesystem::path& path, const std::string& column,
    const Pseudonymizer* pseudonymizer = nullptr);

}  // namespace cartable::ingest
