// steadyeye models gate: judges a site's challenger against the model serving the site
// (registry/gate.h) and promotes it when it passes; every decision is logged with its evidence.
#include <memory>

#include "common.h"
#include "steadyeye/core/time.h"
#include "steadyeye/registry/gate.h"
#include "steadyeye/registry/site_data.h"
#include "steadyeye/store/store.h"

namespace steadyeye::cli {

namespace {

struct GateArgs {
  std::string store;
  std::string site;
  std::string challenger;  // id or prefix; default: the alias challenger:<site>
  std::string clean_data = "fashion-mnist:calib";
  size_t clean_images = 2000;
  size_t shift_images = 200;  // per anticipated condition
  int shift_severity = 3;
  GateOptions options;
  std::optional<double> lab_margin;
  bool dry_run = false;
  bool json = false;
};

// The clean images and the shift suite (every anticipated condition on the first images) the
// challenger must be no worse on.
StatusOr<std::vector<GateSet>> LabSets(const GateArgs& a, const Classifier& model) {
  SEYE_ASSIGN_OR_RETURN(const DataRef ref, ResolveDataRef(a.clean_data, DataPurpose::kCalibration));
  SEYE_ASSIGN_OR_RETURN(Dataset clean, LoadForModel(ref, model, a.clean_images));
  std::vector<size_t> first(std::min(a.shift_images, clean.size()));
  for (size_t i = 0; i < first.size(); ++i) first[i] = i;
  const Dataset base = clean.Subset(first);
  Dataset suite = base.Subset(std::vector<size_t>{});
  SEYE_ASSIGN_OR_RETURN(const auto conditions, SelectConditions("anticipated"));
  for (const auto& condition : conditions) {
    SEYE_ASSIGN_OR_RETURN(const Dataset shifted,
                          CorruptDataset(base, condition, a.shift_severity, kDefaultConditionSeed));
    suite.Extend(shifted);
  }
  std::vector<GateSet> sets;
  sets.push_back({"clean " + ref.ToString(), std::move(clean), false, a.lab_margin});
  sets.push_back({"shift suite (anticipated, severity " + std::to_string(a.shift_severity) + ")",
                  std::move(suite), false, a.lab_margin});
  return sets;
}

void PrintDecision(const GateRecord& record, const GateDecision& decision) {
  std::printf("%-44s %6s %9s %9s %8s %8s\n", "set", "n", "incumbent", "challenger", "diff",
              "bound");
  for (const auto& c : decision.comparisons) {
    std::printf("%-44s %6zu %9.4f %9.4f %+8.4f %+8.4f%s\n", c.set.c_str(), c.n,
                c.incumbent_accuracy, c.challenger_accuracy, c.difference, c.lower_bound,
                c.non_inferior ? "" : "  inferior");
  }
  for (const auto& r : decision.refusals) std::printf("refused: %s\n", r.c_str());
  std::printf("gate decision %lld: %s %s %s\n", static_cast<long long>(record.id),
              record.challenger.c_str(),
              record.promoted ? "promoted to" : (decision.promote ? "would pass for" : "kept from"),
              record.alias.c_str());
}

int RunGate(const GateArgs& a) {
  auto opened = OpenSqliteStore(a.store);
  if (!opened.ok()) return Fail(opened.status());
  Store& store = **opened;
  auto aliases = store.Aliases();
  if (!aliases.ok()) return Fail(aliases.status());
  const auto incumbent_id = ModelForSite(*aliases, a.site);
  if (!incumbent_id) return Fail(FailedPreconditionError("no model serves site " + a.site));
  std::string challenger_id = a.challenger;
  if (challenger_id.empty()) {
    const auto it = aliases->find(SiteChallengerAlias(a.site));
    if (it == aliases->end())
      return Fail(
          NotFoundError("site " + a.site + " has no challenger; adapt one or give --challenger"));
    challenger_id = it->second;
  }
  auto incumbent = LoadRegisteredModel(store, *incumbent_id);
  if (!incumbent.ok()) return Fail(incumbent.status());
  auto challenger = LoadRegisteredModel(store, challenger_id);
  if (!challenger.ok()) return Fail(challenger.status());
  SiteDataQuery q;
  q.site = a.site;
  q.limit = 100000;
  const ModelCard& card = (*incumbent)->card();
  auto reviewed =
      SiteReviewedImages(store, q, ReviewedPart::kGateHoldout, card.input, card.class_names);
  if (!reviewed.ok()) return Fail(reviewed.status());
  auto sets = LabSets(a, **incumbent);
  if (!sets.ok()) return Fail(sets.status());
  sets->insert(
      sets->begin(),
      GateSet{"site " + a.site + " reviewed (held out)", std::move(reviewed->data), true, {}});
  auto decision = JudgeChallenger(**incumbent, **challenger, *sets, a.options);
  if (!decision.ok()) return Fail(decision.status());
  GateRecord record;
  record.at_ms = UnixMillisNow();
  record.alias = SiteAlias(a.site);
  record.challenger = (*challenger)->card().Version();
  record.incumbent = *incumbent_id;
  record.promoted = decision->promote && !a.dry_run;
  record.by = "cli:gate";
  record.evidence = decision->ToJson();
  record.evidence["margin"] = a.options.margin;
  record.evidence["lab_margin"] = a.lab_margin.value_or(a.options.margin);
  record.evidence["dry_run"] = a.dry_run;
  auto logged = store.RecordGateDecision(record);
  if (!logged.ok()) return Fail(logged.status());
  if (a.json) {
    std::printf("%s\n", logged->ToJson().dump(2).c_str());
  } else {
    PrintDecision(*logged, *decision);
  }
  return 0;
}

struct DecisionsArgs {
  std::string store;
  std::string site;
  size_t limit = 100;
};

int RunDecisions(const DecisionsArgs& a) {
  auto store = OpenSqliteStore(a.store);
  if (!store.ok()) return Fail(store.status());
  auto decisions = (*store)->GateDecisions(a.site.empty() ? "" : SiteAlias(a.site), a.limit);
  if (!decisions.ok()) return Fail(decisions.status());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : *decisions) out.push_back(d.ToJson());
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

}  // namespace

void AddGateSubcommand(CLI::App& models, int& exit_code) {
  auto a = std::make_shared<GateArgs>();
  auto* gate = models.add_subcommand(
      "gate", "Judge a site's challenger against its model and promote it only if no worse");
  gate->add_option("--store", a->store, "Store folder")->required();
  gate->add_option("--site", a->site, "The site (judged on its held-out reviewed images)")
      ->required();
  gate->add_option("--challenger", a->challenger,
                   "Model id or prefix (default: the alias challenger:<site>)");
  gate->add_option("--margin", a->options.margin,
                   "Accuracy a challenger may lose on any set and still pass (fraction)")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str();
  gate->add_option("--lab-margin", a->lab_margin,
                   "Its margin on the clean images and the shift suite (default: --margin); a "
                   "site's own model only ever sees the site's images")
      ->check(CLI::Range(0.0, 1.0));
  gate->add_option("--min-images", a->options.min_images,
                   "Held-out reviewed images the site needs before anything is decided")
      ->capture_default_str();
  gate->add_option("--clean-data", a->clean_data, "Clean lab images (not the test split)")
      ->capture_default_str();
  gate->add_option("--clean-images", a->clean_images, "At most this many of them")
      ->capture_default_str();
  gate->add_option("--shift-images", a->shift_images,
                   "Images per anticipated condition in the shift suite")
      ->capture_default_str();
  gate->add_flag("--dry-run", a->dry_run, "Judge and log, but do not promote");
  gate->add_flag("--json", a->json, "Print the logged decision as JSON");
  gate->callback([a, &exit_code] { exit_code = RunGate(*a); });

  auto d = std::make_shared<DecisionsArgs>();
  auto* decisions = models.add_subcommand(
      "decisions", "The gate's decisions with their evidence, newest first (JSON)");
  decisions->add_option("--store", d->store, "Store folder")->required();
  decisions->add_option("--site", d->site, "Only this site's");
  decisions->add_option("--limit", d->limit, "At most this many")->capture_default_str();
  decisions->callback([d, &exit_code] { exit_code = RunDecisions(*d); });
}

}  // namespace steadyeye::cli
