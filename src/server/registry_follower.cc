#include "steadyeye/server/registry_follower.h"

#include <pthread.h>

#include <iterator>

#include "steadyeye/core/file.h"

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
  if (const Status st = FlushShadowTallies(); !st.ok() && log_) log_("registry: " + st.ToString());
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

void RegistryFollower::FollowBaselines(std::filesystem::path dir) {
  std::lock_guard lock(mu_);
  baselines_dir_ = std::move(dir);
  ReadBaselines(/*apply=*/false);
}

void RegistryFollower::ReadBaselines(bool apply) {
  if (baselines_dir_.empty()) return;
  // The non-throwing iteration: this runs on the follower's thread for as long as the server
  // does, and a folder removed or unreadable under it must not end the process.
  std::error_code ec;
  for (std::filesystem::directory_iterator it(baselines_dir_, ec), end; !ec && it != end;
       it.increment(ec)) {
    const auto& entry = *it;
    if (entry.path().extension() != ".json") continue;
    const std::string site = entry.path().stem().string();
    auto bytes = ReadFileBytes(entry.path());
    if (!bytes.ok()) continue;  // removed or replaced between listing and reading: next poll
    std::string text(bytes->begin(), bytes->end());
    std::string& seen = baseline_text_[site];
    if (text == seen) continue;
    seen = std::move(text);
    if (!apply) continue;
    // Parsed from the bytes compared above, so the baseline set is the content recorded.
    auto baseline = ParseBaseline(*bytes, entry.path().string());
    const size_t n = baseline.ok() ? baseline->n : 0;
    const Status set =
        baseline.ok() ? predictor_.SetSiteBaseline(site, std::move(*baseline)) : baseline.status();
    if (!log_) continue;
    log_(set.ok() ? "site " + site + ": quality baseline reloaded from " + entry.path().string() +
                        " (" + std::to_string(n) + " reference images)"
                  : "site " + site + ": quality baseline not reloaded: " + set.ToString());
  }
}

StatusOr<std::shared_ptr<const Classifier>> RegistryFollower::Load(const std::string& version) {
  // A model already served or scored (for any site) is shared, not read again.
  for (const auto& [site, served] : predictor_.ModelVersions()) {
    if (served != version) continue;
    auto model = predictor_.model(site);
    if (model->card().Version() == version) return model;
  }
  for (const auto& [site, model] : predictor_.Shadows()) {
    if (model->card().Version() == version) return model;
  }
  SEYE_ASSIGN_OR_RETURN(const ModelRecord record, registry_.GetModel(version));
  SEYE_ASSIGN_OR_RETURN(std::unique_ptr<Classifier> model, Classifier::Load(record.file));
  return std::shared_ptr<const Classifier>(std::move(model));
}

Status RegistryFollower::FlushShadowTallies() {
  auto tallies = predictor_.TakeShadowTallies();
  if (tallies.empty()) return Status::Ok();
  // Counts of a shadow the registry does not hold (it was registered elsewhere) or that a
  // failed write loses are only statistics: the next ones still arrive.
  return registry_.AddShadowTallies(tallies).WithContext("saving shadow scores");
}

Status RegistryFollower::DropJudged(std::map<std::string, std::string>& shadows) {
  for (auto it = shadows.begin(); it != shadows.end();) {
    const std::string alias = it->first.empty() ? kChampionAlias : SiteAlias(it->first);
    SEYE_ASSIGN_OR_RETURN(const bool judged, WasJudged(registry_, alias, it->second));
    it = judged ? shadows.erase(it) : std::next(it);
  }
  return Status::Ok();
}

StatusOr<bool> RegistryFollower::SyncOnce() {
  std::lock_guard lock(mu_);
  const Status flushed = FlushShadowTallies();
  if (!flushed.ok() && log_) log_("registry: " + flushed.ToString());
  SEYE_ASSIGN_OR_RETURN(const auto aliases, registry_.Aliases());
  const auto champion = aliases.find(kChampionAlias);
  if (champion == aliases.end()) return FailedPreconditionError("the registry has no champion");
  std::map<std::string, std::string> wanted{{"", champion->second}}, shadows;
  const std::string site_prefix = SiteAlias(""), challenger_prefix = SiteChallengerAlias("");
  for (const auto& [alias, version] : aliases) {
    if (alias.rfind(site_prefix, 0) == 0) wanted[alias.substr(site_prefix.size())] = version;
    if (alias.rfind(challenger_prefix, 0) == 0)
      shadows[alias.substr(challenger_prefix.size())] = version;
    if (alias == kChallengerAlias) shadows[""] = version;
  }
  // A challenger that already serves where it would be scored has nothing to be compared with.
  std::erase_if(shadows, [&](const auto& entry) {
    const auto served = wanted.find(entry.first);
    return (served != wanted.end() ? served->second : champion->second) == entry.second;
  });
  SEYE_RETURN_IF_ERROR(DropJudged(shadows));
  ReadBaselines(/*apply=*/true);
  if (wanted == predictor_.ModelVersions() && shadows == predictor_.ShadowVersions()) return false;
  ModelAssignment assignment;
  SEYE_ASSIGN_OR_RETURN(assignment.default_model, Load(champion->second));
  for (const auto& [site, version] : wanted) {
    if (site.empty()) continue;
    SEYE_ASSIGN_OR_RETURN(assignment.by_site[site], Load(version));
  }
  for (const auto& [site, version] : shadows) {
    SEYE_ASSIGN_OR_RETURN(assignment.shadows[site], Load(version));
  }
  SEYE_RETURN_IF_ERROR(predictor_.SwitchModels(std::move(assignment)));
  if (log_) {
    std::string line = "serving " + champion->second + " (champion)";
    for (const auto& [site, version] : wanted)
      if (!site.empty()) line += ", " + site + ": " + version;
    for (const auto& [site, version] : shadows)
      line +=
          "; shadow " + (site.empty() ? std::string("everywhere") : "at " + site) + ": " + version;
    log_(line);
  }
  return true;
}

}  // namespace steadyeye
