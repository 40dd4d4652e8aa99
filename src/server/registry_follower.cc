#include "steadyeye/server/registry_follower.h"

#include <pthread.h>

namespace steadyeye {

RegistryFollower::RegistryFollower(ModelRegistry& registry, Predictor& predictor,
                                   std::function<void(const std::string&)> log)
    : registry_(registry), predictor_(predictor), log_(std::move(log)) {}

RegistryFollower::~RegistryFollower() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RegistryFollower::Start(std::chrono::milliseconds every) {
  thread_ = std::thread([this, every] {
    pthread_setname_np(pthread_self(), "seye-registry");
    std::unique_lock lock(stop_mu_);
    while (!stop_cv_.wait_for(lock, every, [this] { return stopping_; })) {
      lock.unlock();
      if (auto synced = SyncOnce(); !synced.ok() && log_)
        log_("registry: " + synced.status().ToString());
      lock.lock();
    }
  });
}

StatusOr<std::shared_ptr<const Classifier>> RegistryFollower::Load(const std::string& version) {
  // A model already served (for any site) is shared, not read again.
  for (const auto& [site, served] : predictor_.ModelVersions()) {
    if (served != version) continue;
    auto model = predictor_.model(site);
    if (model->card().Version() == version) return model;
  }
  SEYE_ASSIGN_OR_RETURN(const ModelRecord record, registry_.GetModel(version));
  SEYE_ASSIGN_OR_RETURN(std::unique_ptr<Classifier> model, Classifier::Load(record.file));
  return std::shared_ptr<const Classifier>(std::move(model));
}

StatusOr<bool> RegistryFollower::SyncOnce() {
  std::lock_guard lock(mu_);
  SEYE_ASSIGN_OR_RETURN(const auto aliases, registry_.Aliases());
  const auto champion = aliases.find(kChampionAlias);
  if (champion == aliases.end()) return FailedPreconditionError("the registry has no champion");
  std::map<std::string, std::string> wanted{{"", champion->second}};
  const std::string prefix = SiteAlias("");
  for (const auto& [alias, version] : aliases) {
    if (alias.rfind(prefix, 0) == 0) wanted[alias.substr(prefix.size())] = version;
  }
  if (wanted == predictor_.ModelVersions()) return false;
  ModelAssignment assignment;
  SEYE_ASSIGN_OR_RETURN(assignment.default_model, Load(champion->second));
  for (const auto& [site, version] : wanted) {
    if (site.empty()) continue;
    SEYE_ASSIGN_OR_RETURN(assignment.by_site[site], Load(version));
  }
  SEYE_RETURN_IF_ERROR(predictor_.SwitchModels(std::move(assignment)));
  if (log_) {
    std::string line = "serving " + champion->second + " (champion)";
    for (const auto& [site, version] : wanted)
      if (!site.empty()) line += ", " + site + ": " + version;
    log_(line);
  }
  return true;
}

}  // namespace steadyeye
