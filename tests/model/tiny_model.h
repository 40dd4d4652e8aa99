// A quickly trained real model for tests that need any classifier: one epoch of a 4-channel
// network on `limit` Fashion-MNIST train images.
#pragma once

#include "fashion_mnist.h"
#include "steadyeye/data/splits.h"
#include "steadyeye/model/train.h"

namespace steadyeye::testing {

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
