// Training the default classifier (architecture "seye-cnn") from labelled images.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/data/dataset.h"
#include "steadyeye/model/classifier.h"
#include "steadyeye/shift/augment.h"

namespace steadyeye {

struct TrainProgress {
  int epoch = 0;  // 1-based
  int epochs = 0;
  size_t seen = 0;  // images seen in this epoch
  size_t epoch_size = 0;
  double loss = 0;      // running mean over this epoch
  double accuracy = 0;  // running training accuracy over this epoch
  bool epoch_done = false;
  double val_accuracy = 0;  // set when epoch_done
  double val_nll = 0;
};

struct TrainOptions {
  // Passes over the training images; 0 = the default for the mode (ResolvedEpochs()). A robust
  // epoch costs two standard ones (two views per image). On validation, 9 robust epochs (the
  // standard default's compute) were 0.8 point below standard on clean images, 11 were 0.3
  // below, and 15 were 0.1 above, with 1.7x standard's training time (docs/BENCHMARKS.md); the
  // clean gap is a matter of steps, which 15 epochs buy within the 10-minute training budget.
  int epochs = 0;
  static constexpr int kRobustEpochs = 15;
  static constexpr int kStandardEpochs = 18;
  int patience = 4;  // stop when validation accuracy has not improved for this many epochs
  int batch_size = 128;
  double learning_rate = 0.05;  // peak, reached after a one-epoch warm-up, then cosine decay
  double weight_decay = 5e-4;
  double label_smoothing = 0.0;
  uint64_t seed = 1;
  int threads = 0;  // 0 = all cores
  // Stage widths and convolutions per stage; 2x2 max-pooling between stages.
  std::vector<int> widths = {32, 64, 128};
  std::vector<int> depths = {1, 2, 2};
  // Train convolutions in bfloat16 (float32 weights) where the CPU supports it natively; the
  // card records which precision was used. Inference is always float32.
  bool mixed_precision = true;
  bool augment = true;  // random shifts of up to 2 px, horizontal flips, random erasing
  // Robust training (the default): every image is shown twice per step, as its augmented view
  // and as a production view of anticipated conditions (shift/augment.h); the loss is the
  // cross-entropy on both plus `consistency_weight` x the Jensen-Shannon divergence between the
  // two predictions (AugMix's consistency loss with two views instead of three, which keeps the
  // cost per step equal to standard training). Needs `augment` and an even batch size.
  bool robust = true;
  double consistency_weight = 2.0;
  // Share of each step's images that also get a production view; the batch holds the clean
  // views of all plus those production views (images x (1 + share) = batch_size).
  double production_share = 1.0;
  ProductionViewOptions production_views;
  std::string data_source;  // recorded in the card
  std::function<void(const TrainProgress&)> on_progress;

  int ResolvedEpochs() const {
    return epochs > 0 ? epochs : robust ? kRobustEpochs : kStandardEpochs;
  }
};

// Trains on `train`, selects the epoch with the best accuracy on `val` (early stopping), and
// returns the classifier with those weights. `spec` gives the normalisation; its size and
// channels must match the data. Deterministic for a given seed and thread count.
StatusOr<std::unique_ptr<Classifier>> TrainClassifier(const Dataset& train, const Dataset& val,
                                                      const InputSpec& spec,
                                                      const TrainOptions& options);

// Continues training `start` (a native model: FailedPrecondition for an imported one) on
// `train`, keeping its architecture, classes (InvalidArgument when the data's differ) and input
// normalisation; options' widths and depths are ignored. The result is a new model whose card
// names `start`'s version as its parent and keeps its quality baseline; it has no calibration
// until one is fitted.
StatusOr<std::unique_ptr<Classifier>> FineTuneClassifier(const Classifier& start,
                                                         const Dataset& train, const Dataset& val,
                                                         const TrainOptions& options);

// Per-channel mean and standard deviation of pixel/255 over the dataset: the normalisation
// stored in the model's input spec.
InputSpec FitNormalization(const Dataset& data);

}  // namespace steadyeye
