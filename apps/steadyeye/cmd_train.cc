#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "common.h"
#include "steadyeye/core/progress.h"
#include "steadyeye/data/splits.h"
#include "steadyeye/eval/robustness.h"
#include "steadyeye/model/calibrate.h"
#include "steadyeye/model/train.h"
#include "steadyeye/quality/quality.h"

namespace steadyeye::cli {

namespace {

// The quality gate's baseline from at most kBaselineImages training images, spread evenly.
StatusOr<QualityBaseline> TrainingQualityBaseline(const Dataset& train) {
  constexpr size_t kBaselineImages = 10000;
  const size_t step = std::max<size_t>(1, train.size() / kBaselineImages);
  std::vector<Image> images;
  for (size_t i = 0; i < train.size() && images.size() < kBaselineImages; i += step)
    images.push_back(train.image(i));
  return BuildBaseline(images);
}

}  // namespace

std::function<void(const TrainProgress&)> TrainingProgressBar() {
  struct State {
    std::unique_ptr<Progress> bar;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  };
  auto state = std::make_shared<State>();
  // The bar's own ETA covers one epoch; this one covers the whole run at the maximum epochs.
  auto total_eta = [state](const TrainProgress& p) {
    const double done =
        double(p.epoch - 1) + double(p.seen) / double(std::max<size_t>(1, p.epoch_size));
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - state->start).count();
    return done > 0 && elapsed >= 1.0 ? FormatDuration(elapsed * (p.epochs - done) / done)
                                      : std::string("?");
  };
  return [state, total_eta](const TrainProgress& p) {
    auto& bar = state->bar;
    if (!bar)
      bar = std::make_unique<Progress>(fmt::format("epoch {}/{}", p.epoch, p.epochs),
                                       int64_t(p.epoch_size), "img");
    if (p.epoch_done) {
      bar->Finish(fmt::format("loss {:.4f} acc {:.4f} | val acc {:.4f} nll {:.4f}", p.loss,
                              p.accuracy, p.val_accuracy, p.val_nll));
      bar.reset();
    } else {
      bar->Update(int64_t(p.seen), fmt::format("loss {:.4f} acc {:.4f} | all epochs ETA {}", p.loss,
                                               p.accuracy, total_eta(p)));
    }
  };
}

int RunTrain(TrainArgs& args) {
  auto ref = ResolveDataRef(args.data, DataPurpose::kTraining);
  if (!ref.ok()) return Fail(ref.status());
  LoadOptions load;
  if (!args.input.empty()) {
    auto spec = ParseInputShape(args.input);
    if (!spec.ok()) return Fail(spec.status());
    load.spec = *spec;
  }
  load.limit = args.limit;
  auto all = LoadWithProgress(*ref, std::move(load));
  if (!all.ok()) return Fail(all.status());
  TrainingSplits splits = SplitForTraining(*all);
  const InputSpec spec = FitNormalization(splits.train);
  std::fprintf(stderr,
               "training on %zu images (%zu validation, %zu calibration held back), input %s\n",
               splits.train.size(), splits.validation.size(), splits.calibration.size(),
               spec.ShapeString().c_str());

  TrainOptions& o = args.options;
  o.augment = !args.no_augment;
  o.data_source = ref->ToString();
  o.on_progress = TrainingProgressBar();
  auto model = TrainClassifier(splits.train, splits.validation, spec, o);
  o.on_progress = nullptr;  // ends the last bar
  if (!model.ok()) return Fail(model.status());
  CalibrateOptions calibrate{args.alpha, args.delta, ref->ToString() + " (calibration part)", {}};
  auto calibration = CalibrateForProduction(**model, splits.calibration, calibrate);
  if (!calibration.ok()) return Fail(calibration.status().WithContext("calibrating"));
  std::printf("calibrated on %zu held-back images: %s\n", splits.calibration.size(),
              DescribeCalibration(*calibration).c_str());
  auto baseline = TrainingQualityBaseline(splits.train);
  if (!baseline.ok()) return Fail(baseline.status().WithContext("learning the quality baseline"));
  (*model)->SetQualityBaseline(baseline->ToJson());
  std::printf(
      "quality baseline learned from %zu training images (the gate's fallback for sites without "
      "one)\n",
      baseline->n);
  if (Status st = (*model)->Save(args.out); !st.ok()) return Fail(st);
  const auto& m = (*model)->card().metrics;
  std::printf("saved %s (id %s): best epoch %d of %d, validation accuracy %.4f, %.0f s\n",
              args.out.c_str(), (*model)->card().id.c_str(), m["best_epoch"].get<int>(),
              m["epochs_run"].get<int>(), m["val_accuracy"].get<double>(),
              m["train_seconds"].get<double>());
  return 0;
}

void AddTrainCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", "Train a classifier (default architecture seye-cnn)");
  cmd->add_option("--data", args->data,
                  "fashion-mnist[:train] or an image folder (one sub-folder per class)")
      ->capture_default_str();
  cmd->add_option("--out", args->out, "Where to write the model bundle (.seye)")->required();
  cmd->add_option("--epochs", args->options.epochs,
                  "Maximum passes over the data (default 11 robust, 18 standard)")
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("!--standard", args->options.robust,
                "Train without production conditions (default: robust training, each image also "
                "shown under anticipated conditions with a consistency loss)");
  cmd->add_option("--patience", args->options.patience,
                  "Early stopping: epochs without validation gain")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--seed", args->options.seed, "Random seed (weights, shuffling, augmentation)")
      ->capture_default_str();
  AddThreadsOption(*cmd, args->options.threads);
  AddRiskOptions(*cmd, args->alpha, args->delta);
  cmd->add_option("--batch-size", args->options.batch_size)
      ->capture_default_str()
      ->check(CLI::Range(2, 4096));
  cmd->add_option("--lr", args->options.learning_rate, "Peak learning rate")->capture_default_str();
  cmd->add_option("--widths", args->options.widths, "Channels per stage")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--depths", args->options.depths, "Convolutions per stage")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--consistency-weight", args->options.consistency_weight,
                  "Robust training: weight of the clean/production consistency loss")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--production-share", args->options.production_share,
                  "Robust training: share of images per step also shown as a production view")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 1.0));
  cmd->add_option("--label-smoothing", args->options.label_smoothing)
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.5));
  cmd->add_option("--input", args->input,
                  "Input shape CxHxW for image folders (default: chosen from the images)");
  cmd->add_option("--limit", args->limit, "Use at most this many images (0 = all)");
  cmd->add_flag("--no-augment", args->no_augment,
                "Train without random shifts, flips and erasing (with --standard only)");
  cmd->add_flag("!--fp32", args->options.mixed_precision,
                "Train in float32 only (default: bfloat16 convolutions where the CPU has them)");
  cmd->callback([args, &exit_code] { exit_code = RunTrain(*args); });
}

}  // namespace steadyeye::cli
