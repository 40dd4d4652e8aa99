#include "steadyeye/model/calibrate.h"

#include "steadyeye/model/predict.h"

namespace steadyeye {

StatusOr<Calibration> CalibrateClassifier(Classifier& model, const Dataset& data,
                                          const CalibrateOptions& options) {
  if (data.class_names != model.card().class_names) {
    return InvalidArgumentError("calibration data has different classes than the model");
  }
  SEYE_ASSIGN_OR_RETURN(const auto logits, DatasetLogits(model, data, 256, options.on_progress));
  SEYE_ASSIGN_OR_RETURN(Calibration c, FitCalibration(logits, data.labels, model.num_classes(),
                                                      options.alpha, options.delta));
  c.data = options.data_source;
  model.SetCalibration(c);
  return c;
}

}  // namespace steadyeye
