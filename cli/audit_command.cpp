// `cartable audit verify FILE`: checks an audit log's hash chain (audit/audit_log.h).

#include <cstdio>
#include <memory>
#include <optional>

#include "audit/audit_log.h"
#include "cli/command.h"

namespace cartable::cli {

Runner AddAuditCommand(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto head = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "audit", "Check the audit logs coordinators and nodes keep (docs/audit-log.md)");
  cmd->require_subcommand(1);
  CLI::App* verify = cmd->add_subcommand(
      "verify",
      "Check that no entry of an audit log was edited, removed, reordered or inserted: each\n"
      "entry holds the SHA-256 of the one before. Exits 0 for an intact log, printing its\n"
      "entries and head hash; otherwise 2, naming the first bad entry. A log cut after a whole\n"
      "entry still verifies: give --head (from a model card's audit_head, or a copy kept\n"
      "elsewhere) to detect that.");
  verify->add_option("file", *path, "The audit log (JSON lines)")->required();
  verify->add_option("--head", *head,
                     "The hash the log must end with (64 hex digits), or a later entry's prev");
  return [path, head] {
    auto verified = audit::VerifyAuditLog(
        *path, head->empty() ? std::nullopt : std::optional<std::string>(*head));
    if (!verified.ok()) return ReportFailure(verified.status());
    std::printf("%s: intact, %llu entries, head %s\n", path->c_str(),
                static_cast<unsigned long long>(verified->entries), verified->head.c_str());
    return kExitOk;
  };
}

}  // namespace cartable::cli
