// steadyeye retrain: fine-tunes the model serving a site on the site's reviewed captures plus a
// replay of the lab's training images, and registers the result as the site's challenger for
// the promotion gate (registry/site_loop.h).
#include <memory>

#include "common.h"
#include "steadyeye/registry/site_loop.h"
#include "steadyeye/store/store.h"

namespace steadyeye::cli {

namespace {

struct RetrainArgs {
  std::string store;
  std::string lab_data = "fashion-mnist";
  SiteRetrainOptions options;
  std::string priority;
};

int RunRetrain(RetrainArgs& a) {
  ApplyPriority(a.priority);
  auto store = OpenSqliteStore(a.store);
  if (!store.ok()) return Fail(store.status());
  auto lab = ResolveDataRef(a.lab_data, DataPurpose::kTraining);
  if (!lab.ok()) return Fail(lab.status());
  SiteRetrainOptions& o = a.options;
  o.lab_data = *lab;
  o.by = "cli:retrain";
  o.training.on_progress = TrainingProgressBar();
  size_t not_a_class = 0;
  auto made = RetrainSiteChallenger(**store, o, &not_a_class);
  o.training.on_progress = nullptr;  // ends the last bar
  // New items and bad images are no examples of any class the model has.
  if (not_a_class > 0) {
    std::printf(
        "left out %zu reviewed captures answered new_item, bad_image or a class the "
        "model lacks (a new class needs a model with another output)\n",
        not_a_class);
  }
  if (!made.ok()) return Fail(made.status());
  std::printf("%s: %s, trained on %zu images (%s); %s\n", SiteChallengerAlias(o.site).c_str(),
              made->record.id.c_str(), made->images, made->source.c_str(),
              DescribeCalibration(*made->calibration).c_str());
  return 0;
}

}  // namespace

void AddRetrainCommand(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<RetrainArgs>();
  SiteRetrainOptions& o = a->options;
  o.training.epochs = 3;
  o.training.learning_rate = 0.01;
  o.training.patience = 2;
  auto* cmd = app.add_subcommand(
      "retrain",
      "Fine-tune a site's model on its reviewed images plus lab data: the site's challenger");
  cmd->add_option("--store", a->store, "Store folder")->required();
  cmd->add_option("--site", o.site, "The site")->required();
  cmd->add_option("--lab-data", a->lab_data,
                  "The lab's training data, replayed so nothing is forgotten")
      ->capture_default_str();
  cmd->add_option("--lab-replay", o.lab_replay, "Lab images replayed")->capture_default_str();
  cmd->add_option("--site-share", o.site_share, "Share of the training images from the site")
      ->check(CLI::Range(0.05, 0.95))
      ->capture_default_str();
  cmd->add_option("--min-reviewed", o.min_reviewed,
                  "Reviewed captures the site needs before retraining")
      ->capture_default_str();
  cmd->add_option("--epochs", o.training.epochs, "Passes over the data")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_option("--lr", o.training.learning_rate, "Peak learning rate")->capture_default_str();
  cmd->add_option("--seed", o.training.seed, "Random seed")->capture_default_str();
  cmd->add_flag("!--standard", o.training.robust, "Fine-tune without production conditions");
  AddThreadsOption(*cmd, o.training.threads);
  AddPriorityOption(*cmd, a->priority);
  AddRiskOptions(*cmd, o.alpha, o.delta);
  cmd->callback([a, &exit_code] { exit_code = RunRetrain(*a); });
}

}  // namespace steadyeye::cli
