// steadyeye models: the store's model registry (store/model_registry.h). The subcommands here
// only read and move records; register and gate load models (cmd_models_register.cc,
// cmd_gate.cc), so only steadyeye-full has them (app.h).
#include <cstdlib>
#include <memory>
#include <vector>

#include "common.h"
#include "models_common.h"
#include "steadyeye/core/time.h"
#include "steadyeye/store/store.h"

namespace steadyeye::cli {

std::string RegistryActor() {
  const char* user = std::getenv("USER");
  return std::string("cli:") + (user && *user ? user : "unknown");
}

std::string TargetAlias(const ModelsArgs& a) {
  if (!a.alias.empty()) return a.alias;
  return a.site.empty() ? kChampionAlias : SiteAlias(a.site);
}

int PrintAliasChange(const StatusOr<AliasChange>& change) {
  if (!change.ok()) return Fail(change.status());
  std::printf("%s: %s -> %s\n", change->alias.c_str(),
              change->previous.empty() ? "(none)" : change->previous.c_str(),
              change->model_id.empty() ? "(none)" : change->model_id.c_str());
  return 0;
}

int WithStore(const ModelsArgs& a, int (*run)(Store&, const ModelsArgs&)) {
  auto store = OpenSqliteStore(a.store);
  if (!store.ok()) return Fail(store.status());
  return run(**store, a);
}

void AddStoreOption(CLI::App& sub, ModelsArgs& a) {
  sub.add_option("--store", a.store, "Store folder")->required();
}

void AddReasonOption(CLI::App& sub, ModelsArgs& a) {
  sub.add_option("--reason", a.reason, "Why, in words (kept in the history)");
}

void AddAliasOptions(CLI::App& sub, ModelsArgs& a) {
  sub.add_option("--site", a.site, "The site's own model (alias site:<site>)");
  sub.add_option("--alias", a.alias,
                 "champion, challenger, site:<site> or challenger:<site> (default: champion)");
}

namespace {

// Aliases naming each model.
std::map<std::string, std::string> AliasesByModel(const std::map<std::string, std::string>& all) {
  std::map<std::string, std::string> out;
  for (const auto& [alias, id] : all) out[id] += (out[id].empty() ? "" : ",") + alias;
  return out;
}

int RunList(Store& store, const ModelsArgs& a) {
  auto models = store.ListModels();
  if (!models.ok()) return Fail(models.status());
  auto aliases = store.Aliases();
  if (!aliases.ok()) return Fail(aliases.status());
  const auto named = AliasesByModel(*aliases);
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : *models) {
      auto j = m.ToJson();
      j.erase("card");
      j["aliases"] = named.count(m.id) ? named.at(m.id) : "";
      out.push_back(j);
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%-17s %-17s %-21s %-16s %s\n", "id", "parent", "registered", "by", "aliases");
  for (const auto& m : *models) {
    std::printf("%-17s %-17s %-21s %-16s %s\n", m.id.c_str(),
                m.parent.empty() ? "-" : m.parent.c_str(),
                FormatUnixMillis(m.registered_ms).substr(0, 19).c_str(), m.registered_by.c_str(),
                named.count(m.id) ? named.at(m.id).c_str() : "");
  }
  return 0;
}

int RunShow(Store& store, const ModelsArgs& a) {
  auto m = store.GetModel(a.model);
  if (!m.ok()) return Fail(m.status());
  auto aliases = store.Aliases();
  if (!aliases.ok()) return Fail(aliases.status());
  auto j = m->ToJson();
  const auto named = AliasesByModel(*aliases);
  j["aliases"] = named.count(m->id) ? named.at(m->id) : "";
  auto shadows = store.ShadowTallies(m->id);
  if (!shadows.ok()) return Fail(shadows.status());
  j["shadow"] = nlohmann::json::object();
  for (const auto& [site, tally] : *shadows) j["shadow"][site] = tally.ToJson();
  std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

int RunPromote(Store& store, const ModelsArgs& a) {
  return PrintAliasChange(store.SetAlias(TargetAlias(a), a.model, RegistryActor(),
                                         a.reason.empty() ? "promoted by hand" : a.reason,
                                         UnixMillisNow()));
}

int RunRollback(Store& store, const ModelsArgs& a) {
  return PrintAliasChange(store.RollbackAlias(TargetAlias(a), RegistryActor(), UnixMillisNow()));
}

int RunUnassign(Store& store, const ModelsArgs& a) {
  return PrintAliasChange(store.RemoveAlias(TargetAlias(a), RegistryActor(),
                                            a.reason.empty() ? "removed by hand" : a.reason,
                                            UnixMillisNow()));
}

// Prints the records as one JSON array; returns the exit code.
template <typename Record>
int PrintJsonList(const StatusOr<std::vector<Record>>& records) {
  if (!records.ok()) return Fail(records.status());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : *records) out.push_back(r.ToJson());
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

int RunHistory(Store& store, const ModelsArgs& a) {
  const std::string alias = a.alias.empty() && !a.site.empty() ? SiteAlias(a.site) : a.alias;
  return PrintJsonList(store.AliasHistory(alias, 1000));
}

int RunDecisions(Store& store, const ModelsArgs& a) {
  return PrintJsonList(store.GateDecisions(a.site.empty() ? "" : SiteAlias(a.site), a.limit));
}

}  // namespace

void AddModelsCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("models", "The store's model registry: versions and aliases");
  cmd->require_subcommand(1);
  auto a = std::make_shared<ModelsArgs>();

  auto* list = cmd->add_subcommand("list", "Registered models, oldest first, with their aliases");
  AddStoreOption(*list, *a);
  list->add_flag("--json", a->json, "Print JSON");
  list->callback([a, &exit_code] { exit_code = WithStore(*a, RunList); });

  auto* show = cmd->add_subcommand("show", "One model's record and card (lineage, metrics)");
  AddStoreOption(*show, *a);
  show->add_option("id", a->model, "Model id or a unique prefix (4+ characters)")->required();
  show->callback([a, &exit_code] { exit_code = WithStore(*a, RunShow); });

  auto* promote = cmd->add_subcommand("promote", "Point an alias (default: champion) at a model");
  AddStoreOption(*promote, *a);
  promote->add_option("id", a->model, "Model id or a unique prefix")->required();
  AddAliasOptions(*promote, *a);
  AddReasonOption(*promote, *a);
  promote->callback([a, &exit_code] { exit_code = WithStore(*a, RunPromote); });

  auto* assign = cmd->add_subcommand("assign", "Give a site its own model (alias site:<site>)");
  AddStoreOption(*assign, *a);
  assign->add_option("id", a->model, "Model id or a unique prefix")->required();
  assign->add_option("--site", a->site, "The site")->required();
  AddReasonOption(*assign, *a);
  assign->callback([a, &exit_code] { exit_code = WithStore(*a, RunPromote); });

  auto* unassign = cmd->add_subcommand(
      "unassign", "Remove a site's own model (it gets the champion) or a challenger");
  AddStoreOption(*unassign, *a);
  AddAliasOptions(*unassign, *a);
  AddReasonOption(*unassign, *a);
  unassign->callback([a, &exit_code] { exit_code = WithStore(*a, RunUnassign); });

  auto* rollback = cmd->add_subcommand(
      "rollback", "Move an alias (default: champion) back to the model it named before");
  AddStoreOption(*rollback, *a);
  AddAliasOptions(*rollback, *a);
  rollback->callback([a, &exit_code] { exit_code = WithStore(*a, RunRollback); });

  auto* history = cmd->add_subcommand("history", "Moves of the aliases, newest first (JSON)");
  AddStoreOption(*history, *a);
  AddAliasOptions(*history, *a);
  history->callback([a, &exit_code] { exit_code = WithStore(*a, RunHistory); });

  auto* decisions = cmd->add_subcommand(
      "decisions", "The gate's decisions with their evidence, newest first (JSON)");
  AddStoreOption(*decisions, *a);
  decisions->add_option("--site", a->site, "Only this site's");
  decisions->add_option("--limit", a->limit, "At most this many")->capture_default_str();
  decisions->callback([a, &exit_code] { exit_code = WithStore(*a, RunDecisions); });
}

}  // namespace steadyeye::cli
