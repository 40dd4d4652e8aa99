#include <memory>

#include "common.h"
#include "steadyeye/core/time.h"
#include "steadyeye/store/store.h"

namespace steadyeye::cli {

namespace {

struct TokenArgs {
  std::string store;
  std::string role;
  std::string name;
  int64_t id = 0;
};

// Prints the token and nothing else on stdout, so that scripts can capture it.
int RunCreate(const TokenArgs& args) {
  auto role = ParseRole(args.role);
  if (!role.ok()) return Fail(role.status());
  auto store = OpenSqliteStore(args.store);
  if (!store.ok()) return Fail(store.status());
  auto made = (*store)->CreateToken(args.name, *role, UnixMillisNow());
  if (!made.ok()) return Fail(made.status());
  std::printf("%s\n", made->token.c_str());
  std::fprintf(stderr,
               "created token %lld '%s' (role %s); it is shown only now: the store keeps a "
               "salted hash\n",
               static_cast<long long>(made->info.id), made->info.name.c_str(), RoleName(*role));
  return 0;
}

int RunList(const TokenArgs& args) {
  auto store = OpenSqliteStore(args.store);
  if (!store.ok()) return Fail(store.status());
  auto tokens = (*store)->ListTokens();
  if (!tokens.ok()) return Fail(tokens.status());
  std::printf("%-6s %-24s %-9s %-24s %s\n", "id", "name", "role", "created", "state");
  for (const auto& t : *tokens) {
    std::printf("%-6lld %-24s %-9s %-24s %s\n", static_cast<long long>(t.id), t.name.c_str(),
                RoleName(t.role), FormatUnixMillis(t.created_ms).c_str(),
                t.revoked ? "revoked" : "active");
  }
  return 0;
}

int RunRevoke(const TokenArgs& args) {
  auto store = OpenSqliteStore(args.store);
  if (!store.ok()) return Fail(store.status());
  if (Status st = (*store)->RevokeToken(args.id); !st.ok()) return Fail(st);
  std::printf("token %lld revoked\n", static_cast<long long>(args.id));
  return 0;
}

}  // namespace

void AddTokenCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("token", "Access tokens of a store's server");
  cmd->require_subcommand(1);
  auto args = std::make_shared<TokenArgs>();

  auto* create = cmd->add_subcommand(
      "create", "Create a token and print it (only on stdout, and only this once)");
  create->add_option("--store", args->store, "Store folder")->required();
  create->add_option("--role", args->role, "client, reviewer, operator or admin")->required();
  create->add_option("--name", args->name, "Who holds it (1-64 of [A-Za-z0-9._-])")->required();
  create->callback([args, &exit_code] { exit_code = RunCreate(*args); });

  auto* list = cmd->add_subcommand("list", "List tokens (never their secrets)");
  list->add_option("--store", args->store, "Store folder")->required();
  list->callback([args, &exit_code] { exit_code = RunList(*args); });

  auto* revoke = cmd->add_subcommand("revoke", "Revoke a token: it stops working at once");
  revoke->add_option("--store", args->store, "Store folder")->required();
  revoke->add_option("--id", args->id, "Token id (see token list)")->required();
  revoke->callback([args, &exit_code] { exit_code = RunRevoke(*args); });
}

}  // namespace steadyeye::cli
