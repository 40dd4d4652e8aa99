// steadyeye models: the store's model registry (store/model_registry.h).
#include <cstdlib>
#include <memory>

#include "common.h"
#include "steadyeye/core/time.h"
#include "steadyeye/store/store.h"

namespace steadyeye::cli {

namespace {

struct ModelsArgs {
  std::string store;
  std::string model;  // a bundle path (register) or an id / prefix
  std::string site;
  std::string alias;
  std::string reason;
  bool json = false;
};

std::string Who() {
  const char* user = std::getenv("USER");
  return std::string("cli:") + (user && *user ? user : "unknown");
}

// The alias a command acts on: --alias, else the site's own model with --site, else the
// champion.
std::string TargetAlias(const ModelsArgs& a) {
  if (!a.alias.empty()) return a.alias;
  return a.site.empty() ? kChampionAlias : SiteAlias(a.site);
}

int PrintChange(const StatusOr<AliasChange>& change) {
  if (!change.ok()) return Fail(change.status());
  std::printf("%s: %s -> %s\n", change->alias.c_str(),
              change->previous.empty() ? "(none)" : change->previous.c_str(),
              change->model_id.empty() ? "(none)" : change->model_id.c_str());
  return 0;
}

int RunRegister(Store& store, const ModelsArgs& a) {
  auto model = Classifier::Load(a.model);
  if (!model.ok()) return Fail(model.status());
  auto record =
      store.RegisterModel(a.model, (*model)->card().Version(), (*model)->card().ToJson(), Who(),
                          a.reason.empty() ? "registered by hand" : a.reason, UnixMillisNow());
  if (!record.ok()) return Fail(record.status());
  std::printf("%s\n", record->id.c_str());
  if (!a.alias.empty() || !a.site.empty()) {
    return PrintChange(store.SetAlias(TargetAlias(a), record->id, Who(),
                                      a.reason.empty() ? "registered" : a.reason, UnixMillisNow()));
  }
  return 0;
}

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
  return PrintChange(store.SetAlias(TargetAlias(a), a.model, Who(),
                                    a.reason.empty() ? "promoted by hand" : a.reason,
                                    UnixMillisNow()));
}

int RunRollback(Store& store, const ModelsArgs& a) {
  return PrintChange(store.RollbackAlias(TargetAlias(a), Who(), UnixMillisNow()));
}

int RunUnassign(Store& store, const ModelsArgs& a) {
  return PrintChange(store.RemoveAlias(
      TargetAlias(a), Who(), a.reason.empty() ? "removed by hand" : a.reason, UnixMillisNow()));
}

int RunHistory(Store& store, const ModelsArgs& a) {
  const std::string alias = a.alias.empty() && !a.site.empty() ? SiteAlias(a.site) : a.alias;
  auto changes = store.AliasHistory(alias, 1000);
  if (!changes.ok()) return Fail(changes.status());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : *changes) out.push_back(c.ToJson());
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

// Opens the store, then runs the subcommand on it.
int WithStore(const ModelsArgs& a, int (*run)(Store&, const ModelsArgs&)) {
  auto store = OpenSqliteStore(a.store);
  if (!store.ok()) return Fail(store.status());
  return run(**store, a);
}

}  // namespace

void AddModelsCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("models", "The store's model registry: versions and aliases");
  cmd->require_subcommand(1);
  auto a = std::make_shared<ModelsArgs>();
  auto store = [&](CLI::App* sub) {
    sub->add_option("--store", a->store, "Store folder")->required();
  };
  auto reason = [&](CLI::App* sub) {
    sub->add_option("--reason", a->reason, "Why, in words (kept in the history)");
  };
  auto where = [&](CLI::App* sub) {
    sub->add_option("--site", a->site, "The site's own model (alias site:<site>)");
    sub->add_option("--alias", a->alias,
                    "champion, challenger, site:<site> or challenger:<site> (default: champion)");
  };

  auto* reg = cmd->add_subcommand("register", "Copy a model bundle into the registry");
  store(reg);
  reg->add_option("model", a->model, "Model bundle (.seye)")->required();
  where(reg);
  reason(reg);
  reg->callback([a, &exit_code] { exit_code = WithStore(*a, RunRegister); });

  auto* list = cmd->add_subcommand("list", "Registered models, oldest first, with their aliases");
  store(list);
  list->add_flag("--json", a->json, "Print JSON");
  list->callback([a, &exit_code] { exit_code = WithStore(*a, RunList); });

  auto* show = cmd->add_subcommand("show", "One model's record and card (lineage, metrics)");
  store(show);
  show->add_option("id", a->model, "Model id or a unique prefix (4+ characters)")->required();
  show->callback([a, &exit_code] { exit_code = WithStore(*a, RunShow); });

  auto* promote = cmd->add_subcommand("promote", "Point an alias (default: champion) at a model");
  store(promote);
  promote->add_option("id", a->model, "Model id or a unique prefix")->required();
  where(promote);
  reason(promote);
  promote->callback([a, &exit_code] { exit_code = WithStore(*a, RunPromote); });

  auto* assign = cmd->add_subcommand("assign", "Give a site its own model (alias site:<site>)");
  store(assign);
  assign->add_option("id", a->model, "Model id or a unique prefix")->required();
  assign->add_option("--site", a->site, "The site")->required();
  reason(assign);
  assign->callback([a, &exit_code] { exit_code = WithStore(*a, RunPromote); });

  auto* unassign = cmd->add_subcommand(
      "unassign", "Remove a site's own model (it gets the champion) or a challenger");
  store(unassign);
  where(unassign);
  reason(unassign);
  unassign->callback([a, &exit_code] { exit_code = WithStore(*a, RunUnassign); });

  auto* rollback = cmd->add_subcommand(
      "rollback", "Move an alias (default: champion) back to the model it named before");
  store(rollback);
  where(rollback);
  rollback->callback([a, &exit_code] { exit_code = WithStore(*a, RunRollback); });

  auto* history = cmd->add_subcommand("history", "Moves of the aliases, newest first (JSON)");
  store(history);
  where(history);
  history->callback([a, &exit_code] { exit_code = WithStore(*a, RunHistory); });

  AddGateSubcommand(*cmd, exit_code);
}

}  // namespace steadyeye::cli
