// Quickly trained real models for tests: TrainTinyModel for tests that need any classifier, and
// SmallStandardOptions for tests that need one good enough that a production condition visibly
// costs it accuracy.
#pragma once

#include "fashion_mnist.h"
#include "steadyeye/data/splits.h"
#include "steadyeye/model/train.h"

namespace steadyeye::testing {

// A three-stage network (8, 16, 32 channels) trained without production views for `epochs`.
inline TrainOptions SmallStandardOptions(int epochs) {
  TrainOptions o;
  o.robust = false;
  o.epochs = epochs;
  o.widths = {8, 16, 32};
  o.depths = {1, 1, 1};
  o.batch_size = 64;
  o.learning_rate = 0.1;
  return o;
}

// One epoch of a 4-channel network on `limit` Fashion-MNIST train images.
inline StatusOr<std::unique_ptr<Classifier>> TrainTinyModel(size_t limit = 600) {
  SEYE_ASSIGN_OR_RETURN(Dataset all, LoadFashionMnist(Split::kTrain, limit));
  const TrainingSplits s = SplitForTraining(all);
  TrainOptions o;
  o.epochs = 1;
  o.widths = {4};
  o.depths = {1};
  o.batch_size = 32;
  return TrainClassifier(s.train, s.validation, FitNormalization(s.train), o);
}

}  // namespace steadyeye::testing
