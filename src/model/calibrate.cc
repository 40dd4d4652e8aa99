#include "steadyeye/model/calibrate.h"

#include "steadyeye/model/predict.h"

namespace steadyeye {

StatusOr<Calibration> CalibrateClassifier(Classifier& model, const Dataset& data,
                                          const CalibrateOptions& options,
                                          std::vector<float>* logits_out) {
  if (data.class_names != model.card().class_names) {
    return InvalidArgumentError("calibration data has different classes than the model");
  }
  SEYE_ASSIGN_OR_RETURN(auto logits, DatasetLogits(model, data, 256, options.on_progress));
  SEYE_ASSIGN_OR_RETURN(Calibration c, FitCalibration(logits, data.labels, model.num_classes(),
                                                      options.alpha, options.delta));
  c.data = options.data_source;
  model.SetCalibration(c);
  if (logits_out != nullptr) *logits_out = std::move(logits);
  return c;
}

}  // namespace steadyeye
