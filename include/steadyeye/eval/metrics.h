// Classification metrics over predicted probabilities and true labels.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <vector>

#include "steadyeye/calib/calibration.h"

namespace steadyeye {

struct ClassificationMetrics {
  size_t n = 0;
  double accuracy = 0;                     // 0..1
  double nll = 0;                          // mean negative log-likelihood (nats)
  double ece = 0;                          // expected calibration error, equal-width bins
  std::vector<double> per_class_accuracy;  // recall per true class; NaN-free (0 when absent)
  std::vector<size_t> per_class_n;
  std::vector<std::vector<size_t>> confusion;  // [true][predicted]
  // With a calibrated model: the share decided automatically and the error among those.
  std::optional<AutomaticDecisions> automatic;
};

// `probs` is labels.size() x k, row-major; each row sums to 1. `calibration` (the model's)
// adds the automatic-decision figures.
ClassificationMetrics ComputeMetrics(std::span<const float> probs, std::span<const int> labels,
                                     size_t k,
                                     const std::optional<Calibration>& calibration = std::nullopt,
                                     int ece_bins = kDefaultEceBins);

// {"coverage", "error", "decided", "errors", "n"}, or null without calibration.
nlohmann::json AutomaticToJson(const std::optional<AutomaticDecisions>& automatic);

nlohmann::json MetricsToJson(const ClassificationMetrics& m,
                             const std::vector<std::string>& classes);

}  // namespace steadyeye
