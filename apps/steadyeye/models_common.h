// Shared by the `models` subcommands: the ones that only touch the store (cmd_models.cc, in both
// executables) and `models register`, which loads the bundle to check it (cmd_models_register.cc,
// in steadyeye-full only; see app.h).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "steadyeye/core/status.h"
#include "steadyeye/store/store.h"

namespace steadyeye::cli {

struct ModelsArgs {
  std::string store;
  std::string model;  // a bundle path (register) or an id / prefix
  std::string site;
  std::string alias;
  std::string reason;
  bool json = false;
  size_t limit = 100;  // decisions: at most this many
};

// Who made a registry change, for its history: "cli:$USER".
std::string RegistryActor();

// The alias a command acts on: --alias, else the site's own model with --site, else the
// champion.
std::string TargetAlias(const ModelsArgs& a);

// Prints "alias: previous -> new"; returns the exit code.
int PrintAliasChange(const StatusOr<AliasChange>& change);

// Opens the store, then runs the subcommand on it; returns its exit code.
int WithStore(const ModelsArgs& a, int (*run)(Store&, const ModelsArgs&));

// The options the subcommands share, bound to `a`.
void AddStoreOption(CLI::App& sub, ModelsArgs& a);
void AddReasonOption(CLI::App& sub, ModelsArgs& a);
void AddAliasOptions(CLI::App& sub, ModelsArgs& a);

}  // namespace steadyeye::cli
