// `cartable keygen`: a CURVE key pair for a coordinator or a node.

#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "node/identity.h"

namespace cartable::cli {
namespace {

struct KeygenOptions {
  std::string out_dir;
  std::string name;
};

int Run(const KeygenOptions& o) {
  // All three files or none: a concurrent keygen for the same name either wins whole or fails here.
  auto pair = node::CreateKeySet(o.out_dir, o.name);
  if (!pair.ok()) return ReportFailure(pair.status());
  std::printf("wrote %s/%s.key (secret, mode 0600: keep it on this machine)\n", o.out_dir.c_str(),
              o.name.c_str());
  std::printf("wrote %s/%s.pub (public: %s)\n", o.out_dir.c_str(), o.name.c_str(),
              pair->public_key.c_str());
  std::printf(
      "wrote %s/%s.sign.pub (public identity key for secure aggregation: give it to the roster)\n",
      o.out_dir.c_str(), o.name.c_str());
  return kExitOk;
}

}  // namespace

Runner AddKeygenCommand(CLI::App& app) {
  auto o = std::make_shared<KeygenOptions>();
  CLI::App* cmd = app.add_subcommand("keygen",
                                     "Create a node's or coordinator's keys in DIR: NAME.key "
                                     "(secret CURVE key, mode 0600), NAME.pub\n"
                                     "(public CURVE key) and NAME.sign.pub (public identity key "
                                     "that signs secure-aggregation messages,\n"
                                     "derived from the secret key).");
  cmd->add_option("--out", o->out_dir, "Directory for the key files (created if missing)")
      ->required();
  cmd->add_option("--name", o->name, "Name of the key pair, e.g. the establishment's name")
      ->required();
  cmd->footer(
      "The coordinator admits the nodes whose .pub files are in its --allow directory (a .sign.pub "
      "beside\n"
      "a node's .pub binds its identity key too); each node pins the coordinator's .pub with\n"
      "--coordinator-key; nodes check cohorts against a --roster directory of the .sign.pub "
      "files.\n"
      "Existing keys are never overwritten: if NAME exists in DIR, keygen writes nothing and "
      "fails.\n"
      "Example: cartable keygen --out keys --name lycee-victor-hugo");
  return [o] { return Run(*o); };
}

}  // namespace cartable::cli
