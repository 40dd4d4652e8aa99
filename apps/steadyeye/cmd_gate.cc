// steadyeye models gate: judges a site's challenger against the model serving the site
// (registry/site_loop.h) and promotes it when it passes. `models decisions`, which only reads the
// log, is in cmd_models.cc.
#include <memory>

#include "common.h"
#include "steadyeye/registry/site_loop.h"
#include "steadyeye/store/store.h"

namespace steadyeye::cli {

namespace {

struct GateArgs {
  std::string store;
  std::string clean_data = "fashion-mnist:calib";
  SiteGateOptions options;
  bool json = false;
};

void PrintDecision(const SiteGateResult& result) {
  std::printf("%-44s %6s %9s %9s %8s %8s\n", "set", "n", "incumbent", "challenger", "diff",
              "bound");
  for (const auto& c : result.decision.comparisons) {
    std::printf("%-44s %6zu %9.4f %9.4f %+8.4f %+8.4f%s\n", c.set.c_str(), c.n,
                c.incumbent_accuracy, c.challenger_accuracy, c.difference, c.lower_bound,
                c.non_inferior ? "" : "  inferior");
  }
  for (const auto& r : result.decision.refusals) std::printf("refused: %s\n", r.c_str());
  const GateRecord& record = result.record;
  std::printf(
      "gate decision %lld: %s %s %s\n", static_cast<long long>(record.id),
      record.challenger.c_str(),
      record.promoted ? "promoted to" : (result.decision.promote ? "would pass for" : "kept from"),
      record.alias.c_str());
}

int RunGate(GateArgs& a) {
  auto store = OpenSqliteStore(a.store);
  if (!store.ok()) return Fail(store.status());
  auto clean = ResolveDataRef(a.clean_data, DataPurpose::kCalibration);
  if (!clean.ok()) return Fail(clean.status());
  a.options.clean_data = *clean;
  a.options.by = "cli:gate";
  auto result = GateSiteChallenger(**store, a.options);
  if (!result.ok()) return Fail(result.status());
  if (a.json) {
    std::printf("%s\n", result->record.ToJson().dump(2).c_str());
  } else {
    PrintDecision(*result);
  }
  return 0;
}

}  // namespace

void AddGateSubcommand(CLI::App& models, int& exit_code) {
  auto a = std::make_shared<GateArgs>();
  SiteGateOptions& o = a->options;
  auto* gate = models.add_subcommand(
      "gate", "Judge a site's challenger against its model and promote it only if no worse");
  gate->add_option("--store", a->store, "Store folder")->required();
  gate->add_option("--site", o.site, "The site (judged on its held-out reviewed images)")
      ->required();
  gate->add_option("--challenger", o.challenger,
                   "Model id or prefix (default: the alias challenger:<site>)");
  gate->add_option("--margin", o.gate.margin,
                   "Accuracy a challenger may lose on any set and still pass (fraction)")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str();
  gate->add_option("--lab-margin", o.lab_margin,
                   "Its margin on the clean images and the shift suite (default: --margin); a "
                   "site's own model only ever sees the site's images")
      ->check(CLI::Range(0.0, 1.0));
  gate->add_option("--min-images", o.gate.min_images,
                   "Held-out reviewed images the site needs before anything is decided")
      ->capture_default_str();
  gate->add_option("--clean-data", a->clean_data, "Clean lab images (not the test split)")
      ->capture_default_str();
  gate->add_option("--clean-images", o.clean_images, "At most this many of them")
      ->capture_default_str();
  gate->add_option("--shift-images", o.shift_images,
                   "Images per anticipated condition in the shift suite")
      ->capture_default_str();
  gate->add_option("--min-shadow", o.min_shadow_images,
                   "Live images the challenger must have been scored on in the shadow at the "
                   "site (by a server following the registry)")
      ->capture_default_str();
  gate->add_flag("--dry-run", o.dry_run, "Judge and log, but do not promote");
  gate->add_flag("--json", a->json, "Print the logged decision as JSON");
  gate->callback([a, &exit_code] { exit_code = RunGate(*a); });
}

}  // namespace steadyeye::cli
