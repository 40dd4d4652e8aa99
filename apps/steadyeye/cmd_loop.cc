// steadyeye loop: the loop's triggers, as a worker beside the server. Each round it looks at
// every site of the store and, when a trigger fires, makes a challenger (retraining when the
// site has enough reviewed images, else label-free adaptation). The server that follows the
// registry scores it in the shadow on the site's live images; once it has scored
// --min-shadow of them, a later round runs the promotion gate, and the server serves what
// passes without a restart.
//
// After promoting a challenger made for a drift alert, it re-takes the site's quality baseline
// from the site's images since the alert's onset (AfterPromotion), as the demo's loop does.
// After a promotion, and every round while a site has an open drift alert, it tries to certify
// the serving model's threshold on the site's own reviewed images since the change
// (RecalibrateOnSite); a certified one is served, without a restart.
//
// A separate process rather than a thread of the server: training's compute threads (--threads)
// are then bounded by the operating system's scheduler alone and never share LibTorch's global
// thread pool with serving. The process runs at idle CPU priority by default (--priority,
// core/priority.h), so its training waits whenever a request thread of the server wants a core.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "common.h"
#include "steadyeye/core/time.h"
#include "steadyeye/quality/quality.h"
#include "steadyeye/registry/site_data.h"
#include "steadyeye/registry/site_loop.h"
#include "steadyeye/store/store.h"

namespace steadyeye::cli {

namespace {

struct LoopArgs {
  std::string store;
  std::string lab_data = "fashion-mnist";
  std::string clean_data = "fashion-mnist:calib";
  size_t retrain_every = 200;  // new reviewed images at a site (0: off)
  bool on_alert = true;
  double every_hours = 0;  // schedule (0: off)
  double poll_seconds = 30;
  bool once = false;
  SiteRetrainOptions retrain;
  SiteGateOptions gate;
  std::string priority;
  LoopArgs() { gate.min_shadow_images = 100; }
};

// What the store says about one site since its last challenger.
struct SiteState {
  int64_t last_challenger_ms = 0;  // 0: never
  size_t new_reviewed = 0;
  size_t reviewed = 0;               // reviewed captures of every part, ever
  std::optional<int64_t> new_alert;  // an alert opened since
  std::string unjudged_challenger;   // challenger:<site> when no gate decision names it yet
  std::optional<int64_t> open_alert_onset_ms;  // of the site's newest open alert
};

StatusOr<std::map<std::string, SiteState>> ReadSites(const Store& store) {
  std::map<std::string, SiteState> sites;
  SEYE_ASSIGN_OR_RETURN(const auto history, store.AliasHistory("", 100000));
  // Newest first: the first move of each challenger:<site> is its last challenger.
  std::map<std::string, int64_t> last;
  for (const auto& change : history) {
    const std::string prefix = SiteChallengerAlias("");
    if (change.alias.rfind(prefix, 0) == 0 && !change.model_id.empty())
      last.emplace(change.alias.substr(prefix.size()), change.at_ms);
  }
  // Each site's state starts from its last challenger's time, whatever first names the site.
  auto state_of = [&](const std::string& site) -> SiteState& {
    auto [it, fresh] = sites.try_emplace(site);
    if (fresh) it->second.last_challenger_ms = last.count(site) ? last.at(site) : 0;
    return it->second;
  };
  CaptureQuery q;
  q.reviewed = true;
  q.limit = 1000;
  while (true) {
    SEYE_ASSIGN_OR_RETURN(const auto page, store.List(q));
    if (page.empty()) break;
    q.after_id = page.back().id;
    for (const auto& c : page) {
      SiteState& s = state_of(c.site);
      ++s.reviewed;
      if (c.reviewed_ms > s.last_challenger_ms && !IsGateHoldout(c.id)) ++s.new_reviewed;
    }
  }
  SEYE_ASSIGN_OR_RETURN(const auto aliases, store.Aliases());
  for (const auto& [alias, model] : aliases) {
    const std::string prefix = SiteChallengerAlias("");
    if (alias.rfind(prefix, 0) != 0) continue;
    const std::string site = alias.substr(prefix.size());
    SEYE_ASSIGN_OR_RETURN(const bool judged, WasJudged(store, SiteAlias(site), model));
    if (!judged) state_of(site).unjudged_challenger = model;
  }
  AlertQuery open;
  open.state = "open";
  SEYE_ASSIGN_OR_RETURN(const auto alerts, store.ListAlerts(open));
  for (const auto& alert : alerts) {
    const std::string site = alert.value("site", "");
    SiteState& s = state_of(site);
    const auto onset = ParseTimestamp(alert.value("onset", ""));
    if (onset.ok() && !s.open_alert_onset_ms) s.open_alert_onset_ms = *onset;  // newest first
    // Detected rather than onset: a challenger made between the two still predates the alert.
    const auto detected = ParseTimestamp(alert.value("detected", ""));
    if (detected.ok() && *detected > s.last_challenger_ms && !s.new_alert)
      s.new_alert = alert.value("id", int64_t(0));
  }
  return sites;
}

// Why the loop acts on a site now, or empty.
std::string Trigger(const LoopArgs& a, const SiteState& s, int64_t now_ms) {
  if (a.on_alert && s.new_alert) return "drift-alert:" + std::to_string(*s.new_alert);
  if (a.retrain_every > 0 && s.new_reviewed >= a.retrain_every)
    return "reviewed:" + std::to_string(s.new_reviewed);
  if (a.every_hours > 0 && s.new_reviewed > 0 &&
      now_ms - s.last_challenger_ms >= int64_t(a.every_hours * 3600e3))
    return "schedule";
  return "";
}

void PrintJudged(const std::string& site, const std::string& why, const SiteGateResult& judged) {
  std::printf("%s (%s): challenger %s: gate decision %lld, %s\n", site.c_str(), why.c_str(),
              judged.record.challenger.c_str(), static_cast<long long>(judged.record.id),
              judged.record.promoted
                  ? "promoted"
                  : ("refused: " + (judged.decision.refusals.empty() ? std::string("dry run")
                                                                     : judged.decision.refusals[0]))
                        .c_str());
}

// The alert a challenger was made for, from the `by` the loop registered it with.
std::optional<int64_t> AlertOf(const std::string& registered_by) {
  const std::string prefix = "loop:drift-alert:";
  if (registered_by.rfind(prefix, 0) != 0) return std::nullopt;
  int64_t id = 0;
  const char* digits = registered_by.data() + prefix.size();
  const auto [end, error] =
      std::from_chars(digits, registered_by.data() + registered_by.size(), id);
  if (error != std::errc() || end == digits) return std::nullopt;
  return id;
}

StatusOr<int64_t> AlertOnsetMs(const Store& store, const std::string& site, int64_t id) {
  AlertQuery query;
  query.site = site;
  query.limit = 100000;
  SEYE_ASSIGN_OR_RETURN(const auto alerts, store.ListAlerts(query));
  for (const auto& alert : alerts)
    if (alert.value("id", int64_t(0)) == id) return ParseTimestamp(alert.value("onset", ""));
  return NotFoundError("alert " + std::to_string(id) + " of site " + site + " is not stored");
}

// A model just promoted for a drift alert was shown to do well on the site's images since the
// alert's onset: those conditions are the site's normal now, and its quality gate should judge
// frames against them (what an operator does by re-taking a baseline after re-mounting a camera).
// Written where the server keeps its site baselines; a server that follows the registry reloads
// it at its next poll. Failures are printed: the site keeps its baseline.
void RetakeBaseline(const LoopArgs& a, const Store& store, const std::string& site, int64_t alert,
                    int64_t onset_ms) {
  auto retaken = [&]() -> StatusOr<QualityBaseline> {
    SiteDataQuery query;
    query.site = site;
    query.since_ms = onset_ms;
    SEYE_ASSIGN_OR_RETURN(QualityBaseline baseline,
                          SiteQualityBaseline(store, query, a.retrain.training.seed));
    const auto dir = std::filesystem::path(a.store) / "baselines";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    SEYE_RETURN_IF_ERROR(SaveBaseline(baseline, dir / (site + ".json")));
    return baseline;
  }();
  if (retaken.ok()) {
    std::printf("%s: quality baseline re-taken from %zu images since alert %lld's onset\n",
                site.c_str(), retaken->n, static_cast<long long>(alert));
  } else {
    std::printf("%s: quality baseline kept: %s\n", site.c_str(),
                retaken.status().ToString().c_str());
  }
}

// Certifies the serving model's threshold on the site's reviewed images since `since_ms`
// (`since` says what happened then) and serves it when one is certified. Prints what it did.
void CertifyAtSite(Store& store, const std::string& site, int64_t since_ms,
                   const std::string& since) {
  SiteRecalibrateOptions options;
  options.site = site;
  options.since_ms = since_ms;
  options.by = "loop:site-certificate";
  auto made = RecalibrateOnSite(store, options);
  if (!made.ok()) {
    std::printf("%s: no site certificate yet: %s\n", site.c_str(),
                made.status().ToString().c_str());
  } else if (!made->record) {
    std::printf(
        "%s: no site certificate yet: no threshold certified on %zu reviewed images since %s\n",
        site.c_str(), made->images, since.c_str());
  } else {
    std::printf(
        "%s: site certificate: threshold %.3f certified on %zu reviewed images since %s; "
        "model %s serves the site\n",
        site.c_str(), made->calibration.threshold.threshold, made->images, since.c_str(),
        made->record->id.c_str());
  }
}

// After a promotion of a challenger registered by `registered_by`: for a drift alert, the
// site's quality baseline is re-taken from the images since its onset; then the site's own
// images since the change it was made for (all of them otherwise) may certify its threshold.
void AfterPromotion(const LoopArgs& a, Store& store, const std::string& site,
                    const std::string& registered_by) {
  const auto alert = AlertOf(registered_by);
  if (!alert) return CertifyAtSite(store, site, 0, "the start");
  const auto onset = AlertOnsetMs(store, site, *alert);
  if (!onset.ok()) {
    const std::string why = onset.status().ToString();
    std::printf("%s: quality baseline kept: %s\n", site.c_str(), why.c_str());
    std::printf("%s: no site certificate yet: %s\n", site.c_str(), why.c_str());
    return;
  }
  RetakeBaseline(a, store, site, *alert, *onset);
  CertifyAtSite(store, site, *onset, "alert " + std::to_string(*alert) + "'s onset");
}

// Makes the site's challenger (retraining when it has the reviewed images for it, else
// adaptation); gates it at once when no shadow scoring is asked for. Errors are printed and
// leave the site for the next round.
void ActOnSite(LoopArgs& a, Store& store, const std::string& site, const std::string& why) {
  const std::string by = "loop:" + why;
  SiteAdaptOptions adapt;
  adapt.query.site = site;
  adapt.by = by;
  a.retrain.site = a.gate.site = site;
  a.retrain.by = a.gate.by = by;
  auto made = MakeSiteChallenger(store, ChallengerSource::kRetrainElseAdapt, adapt, a.retrain);
  if (!made.ok()) {
    std::printf("%s (%s): %s\n", site.c_str(), why.c_str(), made.status().ToString().c_str());
    return;
  }
  std::printf("%s (%s): challenger %s from %s\n", site.c_str(), why.c_str(),
              made->record.id.c_str(), made->source.c_str());
  if (a.gate.min_shadow_images > 0) {
    std::printf("%s: challenger %s is scored in the shadow until it has %zu live images\n",
                site.c_str(), made->record.id.c_str(), a.gate.min_shadow_images);
    return;
  }
  a.gate.challenger = made->record.id;
  auto judged = GateSiteChallenger(store, a.gate);
  if (!judged.ok()) {
    std::printf("%s (%s): %s\n", site.c_str(), why.c_str(), judged.status().ToString().c_str());
    return;
  }
  PrintJudged(site, why, *judged);
  if (judged->record.promoted) AfterPromotion(a, store, site, by);
}

// Gates the site's challenger once it has been scored on enough live images in the shadow.
void JudgeWhenScored(LoopArgs& a, Store& store, const std::string& site,
                     const std::string& challenger) {
  auto tally = ShadowTallyAt(store, challenger, site);
  if (!tally.ok()) {
    std::printf("%s: %s\n", site.c_str(), tally.status().ToString().c_str());
    return;
  }
  const int64_t scored = tally->images;
  if (size_t(scored) < a.gate.min_shadow_images) {
    std::printf("%s: challenger %s in the shadow, %lld of %zu live images scored\n", site.c_str(),
                challenger.c_str(), static_cast<long long>(scored), a.gate.min_shadow_images);
    return;
  }
  a.gate.site = site;
  a.gate.challenger = challenger;
  a.gate.by = "loop:shadow";
  auto judged = GateSiteChallenger(store, a.gate);
  if (!judged.ok()) {
    std::printf("%s (shadow): %s\n", site.c_str(), judged.status().ToString().c_str());
    return;
  }
  PrintJudged(site, "shadow", *judged);
  if (!judged->record.promoted) return;
  auto record = store.GetModel(challenger);
  if (!record.ok()) {
    std::printf("%s: quality baseline kept: %s\n", site.c_str(),
                record.status().ToString().c_str());
    return;
  }
  AfterPromotion(a, store, site, record->registered_by);
}

int RunLoop(LoopArgs& a) {
  auto opened = OpenSqliteStore(a.store);
  if (!opened.ok()) return Fail(opened.status());
  Store& store = **opened;
  auto lab = ResolveDataRef(a.lab_data, DataPurpose::kTraining);
  if (!lab.ok()) return Fail(lab.status());
  auto clean = ResolveDataRef(a.clean_data, DataPurpose::kCalibration);
  if (!clean.ok()) return Fail(clean.status());
  a.retrain.lab_data = *lab;
  a.gate.clean_data = *clean;
  // Per site, its reviewed captures when certification was last tried during an alert: each try
  // reads and classifies every image since the onset, so it waits for a tenth more of them.
  std::map<std::string, size_t> certify_tried_at;
  while (true) {
    auto sites = ReadSites(store);
    if (!sites.ok()) return Fail(sites.status());
    size_t acted = 0;
    for (const auto& [site, state] : *sites) {
      // A new trigger replaces a challenger still in the shadow: it was made from less.
      const std::string why = Trigger(a, state, UnixMillisNow());
      if (!why.empty()) {
        ++acted;
        ActOnSite(a, store, site, why);
      } else if (!state.unjudged_challenger.empty() && a.gate.min_shadow_images > 0) {
        ++acted;
        JudgeWhenScored(a, store, site, state.unjudged_challenger);
      } else if (state.open_alert_onset_ms) {
        // Suspended (or tightened) for a drift: can the site's own images certify the serving
        // model's decisions on the new conditions? (Not a trigger: nothing is trained.)
        const auto tried = certify_tried_at.find(site);
        if (tried == certify_tried_at.end() ||
            state.reviewed >= tried->second + std::max<size_t>(50, tried->second / 10)) {
          certify_tried_at[site] = state.reviewed;
          CertifyAtSite(store, site, *state.open_alert_onset_ms, "its open alert's onset");
        }
      }
    }
    if (acted == 0) std::printf("no trigger at any of %zu sites\n", sites->size());
    std::fflush(stdout);
    if (a.once) return 0;
    std::this_thread::sleep_for(std::chrono::duration<double>(a.poll_seconds));
  }
}

}  // namespace

void AddLoopCommand(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<LoopArgs>();
  a->retrain.training.epochs = 3;
  a->retrain.training.learning_rate = 0.01;
  a->retrain.training.patience = 2;
  a->retrain.training.threads = 1;
  auto* cmd = app.add_subcommand(
      "loop",
      "Run the loop's triggers beside a server: retrain or adapt a site's model when it drifts "
      "or has new reviewed images, and promote it through the gate");
  cmd->add_option("--store", a->store, "Store folder (the server's)")->required();
  cmd->add_option("--retrain-every", a->retrain_every,
                  "New reviewed images at a site that trigger retraining (0: never)")
      ->capture_default_str();
  cmd->add_flag("!--no-alert-trigger", a->on_alert, "Do not act on drift alerts");
  cmd->add_option("--every-hours", a->every_hours,
                  "Schedule: act on a site with new reviewed images this often (0: never)")
      ->capture_default_str();
  cmd->add_option("--poll-seconds", a->poll_seconds, "Seconds between rounds")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  cmd->add_flag("--once", a->once, "One round, then exit");
  cmd->add_option("--lab-data", a->lab_data, "Lab training data replayed when retraining")
      ->capture_default_str();
  cmd->add_option("--lab-replay", a->retrain.lab_replay, "Lab images replayed")
      ->capture_default_str();
  cmd->add_option("--min-reviewed", a->retrain.min_reviewed,
                  "Reviewed images a site needs to retrain (fewer: adapt without labels)")
      ->capture_default_str();
  cmd->add_option("--threads", a->retrain.training.threads,
                  "Compute threads for training (bounded so serving keeps its cores)")
      ->capture_default_str();
  cmd->add_option("--margin", a->gate.gate.margin, "The gate's non-inferiority margin")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str();
  cmd->add_option("--lab-margin", a->gate.lab_margin,
                  "The gate's margin on clean images and the shift suite (default: --margin)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--clean-data", a->clean_data, "Clean lab images for the gate")
      ->capture_default_str();
  cmd->add_option("--shift-images", a->gate.shift_images,
                  "Images per anticipated condition in the gate's shift suite")
      ->capture_default_str();
  cmd->add_option("--min-shadow", a->gate.min_shadow_images,
                  "Live images a challenger is scored on in the shadow by the server before the "
                  "gate judges it (0: judge at once)")
      ->capture_default_str();
  cmd->add_flag("--dry-run", a->gate.dry_run, "Judge and log, but never promote");
  AddPriorityOption(*cmd, a->priority);
  cmd->callback([a, &exit_code] {
    ApplyPriority(a->priority);
    exit_code = RunLoop(*a);
  });
}

}  // namespace steadyeye::cli
