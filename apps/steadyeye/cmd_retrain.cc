// steadyeye retrain: fine-tunes the model serving a site on the site's reviewed captures plus a
// replay of the lab's training images, and registers the result as the site's challenger for
// the promotion gate (steadyeye models gate).
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <random>

#include "common.h"
#include "steadyeye/core/time.h"
#include "steadyeye/data/splits.h"
#include "steadyeye/model/calibrate.h"
#include "steadyeye/registry/site_data.h"
#include "steadyeye/store/store.h"

namespace steadyeye::cli {

namespace {

struct RetrainArgs {
  std::string store;
  std::string site;
  std::string lab_data = "fashion-mnist";
  size_t lab_replay = 6000;
  double site_share = 0.5;
  size_t min_reviewed = 50;
  TrainOptions options;
  double alpha = kDefaultAlpha;
  double delta = kDefaultDelta;
};

// `n` images of `data` drawn without replacement (seeded), or all of them.
Dataset Sample(const Dataset& data, size_t n, uint64_t seed) {
  std::vector<size_t> order(data.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  order.resize(std::min(n, order.size()));
  std::sort(order.begin(), order.end());
  return data.Subset(order);
}

// The training set: the lab replay, plus the site's images repeated so that they make up about
// `site_share` of it (each repetition gets its own augmentation and production views). Every
// fifth site image is kept for early stopping instead, with the lab's validation images.
void MixSiteIntoLab(const Dataset& site, double site_share, Dataset& train, Dataset& val) {
  std::vector<size_t> fit, check;
  for (size_t i = 0; i < site.size(); ++i) (i % 5 == 4 ? check : fit).push_back(i);
  const Dataset site_fit = site.Subset(fit);
  val.Extend(site.Subset(check));
  const double wanted = site_share / (1 - site_share) * double(train.size());
  const size_t repeats =
      std::max<size_t>(1, size_t(wanted / double(std::max<size_t>(1, fit.size())) + 0.5));
  for (size_t r = 0; r < repeats; ++r) train.Extend(site_fit);
}

int RunRetrain(RetrainArgs& a) {
  auto opened = OpenSqliteStore(a.store);
  if (!opened.ok()) return Fail(opened.status());
  Store& store = **opened;
  auto start = LoadSiteModel(store, a.site);
  if (!start.ok()) return Fail(start.status());
  const ModelCard& card = (*start)->card();
  SiteDataQuery q;
  q.site = a.site;
  q.limit = 100000;
  auto reviewed =
      SiteReviewedImages(store, q, ReviewedPart::kTrainable, card.input, card.class_names);
  if (!reviewed.ok()) return Fail(reviewed.status());
  // New items and bad images are no examples of any class the model has: they are left out, and
  // said so, since a new class needs a model with one more output, trained by hand.
  if (reviewed->not_a_class > 0) {
    std::printf(
        "left out %zu reviewed captures answered new_item, bad_image or a class the model "
        "lacks\n",
        reviewed->not_a_class);
  }
  if (reviewed->data.size() < a.min_reviewed) {
    return Fail(FailedPreconditionError(
        fmt::format("site {} has {} reviewed captures to train on; {} are needed (--min-reviewed)",
                    a.site, reviewed->data.size(), a.min_reviewed)));
  }
  auto ref = ResolveDataRef(a.lab_data, DataPurpose::kTraining);
  if (!ref.ok()) return Fail(ref.status());
  auto lab = LoadForModel(*ref, **start, 0);
  if (!lab.ok()) return Fail(lab.status());
  TrainingSplits lab_splits = SplitForTraining(*lab);
  Dataset train = Sample(lab_splits.train, a.lab_replay, a.options.seed);
  Dataset val = Sample(lab_splits.validation, 2000, a.options.seed);
  MixSiteIntoLab(reviewed->data, a.site_share, train, val);
  std::fprintf(stderr,
               "fine-tuning %s on %zu images: %zu reviewed at site %s (repeated) and %zu lab "
               "images; %zu to stop on\n",
               card.Version().c_str(), train.size(), reviewed->data.size(), a.site.c_str(),
               std::min(a.lab_replay, lab_splits.train.size()), val.size());
  TrainOptions& o = a.options;
  o.data_source = fmt::format("site {} reviewed captures ({}) + {} replay", a.site,
                              reviewed->data.size(), ref->ToString());
  o.on_progress = TrainingProgressBar();
  auto model = FineTuneClassifier(**start, train, val, o);
  o.on_progress = nullptr;
  if (!model.ok()) return Fail(model.status());
  CalibrateOptions calibrate{a.alpha, a.delta, ref->ToString() + " (calibration part)", {}};
  auto calibration = CalibrateClassifier(**model, lab_splits.calibration, calibrate);
  if (!calibration.ok()) return Fail(calibration.status().WithContext("calibrating"));
  const auto bundle =
      std::filesystem::path(a.store) / ("retrain-" + std::to_string(::getpid()) + ".seye");
  if (Status st = (*model)->Save(bundle); !st.ok()) return Fail(st);
  const std::string reason =
      fmt::format("fine-tuned on {} reviewed captures of site {}", reviewed->data.size(), a.site);
  auto record = store.RegisterModel(bundle, (*model)->card().Version(), (*model)->card().ToJson(),
                                    "cli:retrain", reason, UnixMillisNow());
  std::filesystem::remove(bundle);
  if (!record.ok()) return Fail(record.status());
  auto change = store.SetAlias(SiteChallengerAlias(a.site), record->id, "cli:retrain", reason,
                               UnixMillisNow());
  if (!change.ok()) return Fail(change.status());
  std::printf("%s: %s (validation accuracy %.4f; %s)\n", change->alias.c_str(), record->id.c_str(),
              (*model)->card().metrics["val_accuracy"].get<double>(),
              DescribeCalibration(*calibration).c_str());
  return 0;
}

}  // namespace

void AddRetrainCommand(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<RetrainArgs>();
  a->options.epochs = 3;
  a->options.learning_rate = 0.01;
  a->options.patience = 2;
  auto* cmd = app.add_subcommand(
      "retrain",
      "Fine-tune a site's model on its reviewed images plus lab data: the site's challenger");
  cmd->add_option("--store", a->store, "Store folder")->required();
  cmd->add_option("--site", a->site, "The site")->required();
  cmd->add_option("--lab-data", a->lab_data,
                  "The lab's training data, replayed so nothing is forgotten")
      ->capture_default_str();
  cmd->add_option("--lab-replay", a->lab_replay, "Lab images replayed")->capture_default_str();
  cmd->add_option("--site-share", a->site_share, "Share of the training images from the site")
      ->check(CLI::Range(0.05, 0.95))
      ->capture_default_str();
  cmd->add_option("--min-reviewed", a->min_reviewed,
                  "Reviewed captures the site needs before retraining")
      ->capture_default_str();
  cmd->add_option("--epochs", a->options.epochs, "Passes over the data")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_option("--lr", a->options.learning_rate, "Peak learning rate")->capture_default_str();
  cmd->add_option("--seed", a->options.seed, "Random seed")->capture_default_str();
  cmd->add_flag("!--standard", a->options.robust, "Fine-tune without production conditions");
  AddThreadsOption(*cmd, a->options.threads);
  AddRiskOptions(*cmd, a->alpha, a->delta);
  cmd->callback([a, &exit_code] { exit_code = RunRetrain(*a); });
}

}  // namespace steadyeye::cli
