// Calibrating a trained classifier on labelled images it was not trained on: the temperature
// and the certified threshold of calib/calibration.h, stored in the model's card.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "steadyeye/calib/calibration.h"
#include "steadyeye/core/status.h"
#include "steadyeye/data/dataset.h"
#include "steadyeye/model/classifier.h"

namespace steadyeye {

struct CalibrateOptions {
  double alpha = kDefaultAlpha;
  double delta = kDefaultDelta;
  std::string data_source;  // recorded in the calibration
  std::function<void(size_t, size_t)> on_progress;
};

// Runs `model` on `data` (conformed to its input; classes in the model's order), fits the
// calibration and stores it in the model's card (replacing any earlier one). Not thread-safe
// with respect to other users of `model`. `logits`, when given, receives the raw logits of `data`
// (for callers that go on to audit the certificate without running the model again).
StatusOr<Calibration> CalibrateClassifier(Classifier& model, const Dataset& data,
                                          const CalibrateOptions& options,
                                          std::vector<float>* logits = nullptr);

}  // namespace steadyeye
