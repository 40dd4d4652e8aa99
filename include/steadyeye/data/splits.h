// How labelled training data is divided, the same way every time: the validation part drives
// early stopping, the calibration part is reserved for fitting confidences and certified
// thresholds, and the rest is trained on. Test data is never part of this.
#pragma once

#include <cstdint>

#include "steadyeye/data/dataset.h"

namespace steadyeye {

// Fixed so that every model trained on the same data shares the same calibration split.
inline constexpr uint64_t kDefaultSplitSeed = 20261128;

struct TrainingSplits {
  Dataset train;
  Dataset validation;
  Dataset calibration;
};

// Stratified: validation gets min(3000, max(2 per class, 5%)) images, calibration
// min(5000, max(2 per class, 1/12)), training the rest (60k Fashion-MNIST: 52000/3000/5000).
TrainingSplits SplitForTraining(const Dataset& all, uint64_t split_seed = kDefaultSplitSeed);

}  // namespace steadyeye
