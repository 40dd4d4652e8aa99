#include "steadyeye/store/model_registry.h"

#include <algorithm>

#include "steadyeye/core/name.h"
#include "steadyeye/core/time.h"

namespace steadyeye {

namespace {

constexpr const char* kSitePrefix = "site:";
constexpr const char* kSiteChallengerPrefix = "challenger:";

}  // namespace

std::string SiteAlias(const std::string& site) { return kSitePrefix + site; }
std::string SiteChallengerAlias(const std::string& site) { return kSiteChallengerPrefix + site; }

Status ValidateAlias(const std::string& alias) {
  if (alias == kChampionAlias || alias == kChallengerAlias) return Status::Ok();
  for (const std::string prefix : {kSitePrefix, kSiteChallengerPrefix}) {
    if (alias.rfind(prefix, 0) == 0) return ValidateName(alias.substr(prefix.size()), "site");
  }
  return InvalidArgumentError("unknown alias '" + alias +
                              "': use champion, challenger, site:<site> or challenger:<site>");
}

std::optional<std::string> ModelForSite(const std::map<std::string, std::string>& aliases,
                                        const std::string& site) {
  if (auto it = aliases.find(SiteAlias(site)); it != aliases.end()) return it->second;
  if (auto it = aliases.find(kChampionAlias); it != aliases.end()) return it->second;
  return std::nullopt;
}

StatusOr<ShadowTally> ShadowTallyAt(const ModelRegistry& registry, const std::string& model_id,
                                    const std::string& site) {
  SEYE_ASSIGN_OR_RETURN(const auto by_site, registry.ShadowTallies(model_id));
  const auto it = by_site.find(site);
  return it != by_site.end() ? it->second : ShadowTally{};
}

StatusOr<bool> WasJudged(const ModelRegistry& registry, const std::string& alias,
                         const std::string& model_id) {
  SEYE_ASSIGN_OR_RETURN(const auto decisions, registry.GateDecisions(alias, 100000));
  return std::any_of(decisions.begin(), decisions.end(),
                     [&](const GateRecord& d) { return d.challenger == model_id; });
}

nlohmann::json ModelRecord::ToJson() const {
  return {{"id", id},
          {"parent", parent.empty() ? nlohmann::json() : nlohmann::json(parent)},
          {"registered", FormatUnixMillis(registered_ms)},
          {"registered_by", registered_by},
          {"reason", reason},
          {"file", file.string()},
          {"card", card}};
}

nlohmann::json AliasChange::ToJson() const {
  auto or_null = [](const std::string& s) {
    return s.empty() ? nlohmann::json() : nlohmann::json(s);
  };
  return {{"id", id},
          {"alias", alias},
          {"model", or_null(model_id)},
          {"previous", or_null(previous)},
          {"at", FormatUnixMillis(at_ms)},
          {"by", by},
          {"reason", reason}};
}

nlohmann::json GateRecord::ToJson() const {
  return {{"id", id},
          {"at", FormatUnixMillis(at_ms)},
          {"alias", alias},
          {"challenger", challenger},
          {"incumbent", incumbent},
          {"promoted", promoted},
          {"by", by},
          {"evidence", evidence}};
}

void ShadowTally::Add(const ShadowTally& o) {
  if (o.images == 0) return;
  first_ms = images == 0 ? o.first_ms : std::min(first_ms, o.first_ms);
  last_ms = images == 0 ? o.last_ms : std::max(last_ms, o.last_ms);
  images += o.images;
  agreed += o.agreed;
  challenger_confident += o.challenger_confident;
  serving_confident += o.serving_confident;
  both_confident += o.both_confident;
  both_confident_disagreed += o.both_confident_disagreed;
}

nlohmann::json ShadowTally::ToJson() const {
  auto share = [](int64_t a, int64_t b) {
    return b > 0 ? nlohmann::json(double(a) / double(b)) : nlohmann::json();
  };
  return {{"images", images},
          {"agreed", agreed},
          {"agreement", share(agreed, images)},
          {"challenger_confident", challenger_confident},
          {"challenger_coverage", share(challenger_confident, images)},
          {"serving_confident", serving_confident},
          {"serving_coverage", share(serving_confident, images)},
          {"both_confident", both_confident},
          {"both_confident_disagreed", both_confident_disagreed},
          {"first", images > 0 ? nlohmann::json(FormatUnixMillis(first_ms)) : nlohmann::json()},
          {"last", images > 0 ? nlohmann::json(FormatUnixMillis(last_ms)) : nlohmann::json()}};
}

}  // namespace steadyeye
