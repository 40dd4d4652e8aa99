// steadyeye adapt: label-free BatchNorm adaptation (model/adapt.h) to a site's images.
#include <memory>

#include "common.h"
#include "steadyeye/core/progress.h"
#include "steadyeye/core/time.h"
#include "steadyeye/model/adapt.h"
#include "steadyeye/registry/site_loop.h"
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
  std::string priority;
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

// The site's recent captures in the store, adapted from the model serving the site and
// registered as challenger:<site>.
int AdaptFromStore(const AdaptArgs& a) {
  auto store = OpenSqliteStore(a.store);
  if (!store.ok()) return Fail(store.status());
  SiteAdaptOptions o;
  o.query.site = a.site;
  o.query.limit = a.limit > 0 ? a.limit : 2000;
  if (a.since_hours > 0) o.query.since_ms = UnixMillisNow() - int64_t(a.since_hours * 3600e3);
  o.adapt = a.options;
  o.seed = a.seed;
  o.by = "cli:adapt";
  auto made = AdaptSiteChallenger(**store, o);
  if (!made.ok()) return Fail(made.status());
  std::printf("%s: %s, adapted from %s on %zu images of %s\n", SiteChallengerAlias(a.site).c_str(),
              made->record.id.c_str(), made->record.parent.c_str(), made->images,
              made->source.c_str());
  return 0;
}

int RunAdapt(AdaptArgs& a) {
  ConfigureCompute(a.threads);
  if (!a.store.empty()) {
    if (a.site.empty())
      return Fail(InvalidArgumentError("--store adapts to one site's captures: give --site"));
    if (!a.model.empty() || !a.out.empty())
      return Fail(InvalidArgumentError(
          "--store adapts the model serving the site and registers the result: no --model or "
          "--out"));
    return AdaptFromStore(a);
  }
  if (a.model.empty() || a.out.empty())
    return Fail(InvalidArgumentError("give --model and --out, or --store and --site"));
  auto model = Classifier::Load(a.model);
  if (!model.ok()) return Fail(model.status());
  std::string source;
  auto site = SimulatedSiteImages(a, **model, source);
  if (!site.ok()) return Fail(site.status());
  a.options.site = a.site;
  a.options.source = source;
  auto adapted = AdaptBatchNorm(**model, *site, a.options);
  if (!adapted.ok()) return Fail(adapted.status());
  if (Status st = (*adapted)->Save(a.out); !st.ok()) return Fail(st);
  std::printf("%s: %s, adapted from %s on %zu images of %s\n", a.out.c_str(),
              (*adapted)->card().Version().c_str(), (*model)->card().Version().c_str(),
              site->size(), source.c_str());
  return 0;
}

}  // namespace

void AddAdaptCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "adapt", "Adapt a model to a site's unlabelled images (BatchNorm statistics): a new version");
  auto a = std::make_shared<AdaptArgs>();
  cmd->add_option("--model", a->model, "Model bundle (.seye) to adapt (without --store)");
  cmd->add_option("--out", a->out, "Where to write the adapted model (without --store)");
  cmd->add_option("--store", a->store,
                  "Adapt the model serving the site to its captures in this store and register "
                  "the result as the alias challenger:<site>");
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
  AddPriorityOption(*cmd, a->priority);
  cmd->callback([a, &exit_code] {
    ApplyPriority(a->priority);
    exit_code = RunAdapt(*a);
  });
}

}  // namespace steadyeye::cli
