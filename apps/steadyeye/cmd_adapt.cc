// steadyeye adapt: label-free BatchNorm adaptation (model/adapt.h) to a site's images.
#include <unistd.h>

#include <memory>

#include "common.h"
#include "steadyeye/core/progress.h"
#include "steadyeye/core/time.h"
#include "steadyeye/model/adapt.h"
#include "steadyeye/registry/site_data.h"
#include "steadyeye/store/store.h"

namespace steadyeye::cli {

namespace {

struct AdaptArgs {
  std::string model;
  std::string out;
  std::string data = "fashion-mnist:calib";
  std::string store;
  std::string site;
  size_t limit = 0;
  double since_hours = 0;
  std::string condition;  // to simulate a site's condition on clean data
  int severity = 3;
  uint64_t seed = 1;
  AdaptOptions options;
  int threads = 0;
};

// The images a site would send: `data`, under `condition` when one is given.
StatusOr<Dataset> SimulatedSiteImages(const AdaptArgs& a, const Classifier& model,
                                      std::string& source) {
  // Adapting fits the model to images: the test split is refused as for calibration.
  SEYE_ASSIGN_OR_RETURN(const DataRef ref, ResolveDataRef(a.data, DataPurpose::kCalibration));
  SEYE_ASSIGN_OR_RETURN(Dataset data, LoadForModel(ref, model, a.limit));
  source = ref.ToString();
  if (a.condition.empty()) return data;
  source += " under " + a.condition + " " + std::to_string(a.severity);
  return CorruptDataset(data, a.condition, a.severity, a.seed);
}

// The site's recent captures in the store, resampled to the stream's proportions.
StatusOr<Dataset> StoredSiteImages(const AdaptArgs& a, const Store& store, const Classifier& model,
                                   std::string& source) {
  SiteDataQuery q;
  q.site = a.site;
  q.limit = a.limit > 0 ? a.limit : 2000;
  if (a.since_hours > 0) q.since_ms = UnixMillisNow() - int64_t(a.since_hours * 3600e3);
  SEYE_ASSIGN_OR_RETURN(SiteStream stream, SiteStreamImages(store, q, model.card().input,
                                                            model.card().class_names, a.seed));
  source = "store captures of site " + a.site + " (" + std::to_string(stream.captures) +
           " captures, effective sample " + std::to_string(int(stream.effective_size)) + ")";
  return std::move(stream.images);
}

// With --store: the model serving the site unless --model names a file.
StatusOr<std::unique_ptr<Classifier>> ModelToAdapt(const AdaptArgs& a, const Store* store) {
  if (!a.model.empty() || !store) return Classifier::Load(a.model);
  return LoadSiteModel(*store, a.site);
}

// Registers the adapted model as the site's challenger.
Status RegisterChallenger(const AdaptArgs& a, Store& store, const Classifier& adapted,
                          const std::filesystem::path& bundle) {
  const std::string reason = "label-free adaptation to site " + a.site;
  SEYE_ASSIGN_OR_RETURN(
      const ModelRecord record,
      store.RegisterModel(bundle, adapted.card().Version(), adapted.card().ToJson(), "cli:adapt",
                          reason, UnixMillisNow()));
  SEYE_ASSIGN_OR_RETURN(
      const AliasChange change,
      store.SetAlias(SiteChallengerAlias(a.site), record.id, "cli:adapt", reason, UnixMillisNow()));
  std::printf("%s: %s\n", change.alias.c_str(), change.model_id.c_str());
  return Status::Ok();
}

int RunAdapt(AdaptArgs& a) {
  ConfigureCompute(a.threads);
  if (a.store.empty() && (a.model.empty() || a.out.empty()))
    return Fail(InvalidArgumentError("give --model and --out, or --store and --site"));
  if (!a.store.empty() && a.site.empty())
    return Fail(InvalidArgumentError("--store adapts to one site's captures: give --site"));
  std::unique_ptr<Store> store;
  if (!a.store.empty()) {
    auto opened = OpenSqliteStore(a.store);
    if (!opened.ok()) return Fail(opened.status());
    store = std::move(*opened);
  }
  auto model = ModelToAdapt(a, store.get());
  if (!model.ok()) return Fail(model.status());
  std::string source;
  auto site = store ? StoredSiteImages(a, *store, **model, source)
                    : SimulatedSiteImages(a, **model, source);
  if (!site.ok()) return Fail(site.status());
  a.options.site = a.site;
  a.options.source = source;
  auto adapted = AdaptBatchNorm(**model, *site, a.options);
  if (!adapted.ok()) return Fail(adapted.status());
  // Into the store, a bundle goes through a file that is removed once it is copied in.
  const std::filesystem::path out =
      a.out.empty()
          ? std::filesystem::path(a.store) / ("adapt-" + std::to_string(::getpid()) + ".seye")
          : std::filesystem::path(a.out);
  if (Status st = (*adapted)->Save(out); !st.ok()) return Fail(st);
  std::printf("%s, adapted from %s on %zu images of %s\n", (*adapted)->card().Version().c_str(),
              (*model)->card().Version().c_str(), site->size(), source.c_str());
  Status registered = store ? RegisterChallenger(a, *store, **adapted, out) : Status::Ok();
  if (a.out.empty()) std::filesystem::remove(out);
  return registered.ok() ? 0 : Fail(registered);
}

}  // namespace

void AddAdaptCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "adapt", "Adapt a model to a site's unlabelled images (BatchNorm statistics): a new version");
  auto a = std::make_shared<AdaptArgs>();
  cmd->add_option("--model", a->model,
                  "Model bundle (.seye); with --store, default: the model serving the site");
  cmd->add_option("--out", a->out, "Where to write the adapted model (optional with --store)");
  cmd->add_option("--store", a->store,
                  "Adapt to the site's captures in this store and register the result as the "
                  "alias challenger:<site>");
  cmd->add_option("--site", a->site, "The site (recorded in the card)");
  cmd->add_option("--since-hours", a->since_hours,
                  "With --store: only captures of the last this many hours (0: any)");
  cmd->add_option("--data", a->data, "Without --store: the site's images (not the test split)")
      ->capture_default_str();
  cmd->add_option("--limit", a->limit,
                  "Use at most this many images (0: all; with --store, the latest 2000)");
  cmd->add_option("--condition", a->condition,
                  "Simulate a site: apply this production condition to the images first");
  cmd->add_option("--severity", a->severity, "Its severity")
      ->check(CLI::Range(1, 5))
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of the condition")->capture_default_str();
  cmd->add_option("--source-prior", a->options.source_prior,
                  "Weight of the training statistics, in images (0: replace them)")
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "Compute threads (0 = all cores)");
  cmd->callback([a, &exit_code] { exit_code = RunAdapt(*a); });
}

}  // namespace steadyeye::cli
