// Classification metrics over predicted probabilities and true labels.
#pragma once

#include <span>
#include <vector>

#include <nlohmann/json.hpp>

namespace steadyeye {

struct ClassificationMetrics {
  size_t n = 0;
  double accuracy = 0;                       // 0..1
  double nll = 0;                            // mean negative log-likelihood (nats)
  double ece = 0;                            // expected calibration error, equal-width bins
  std::vector<double> per_class_accuracy;    // recall per true class; NaN-free (0 when absent)
  std::vector<size_t> per_class_n;
  std::vector<std::vector<size_t>> confusion;  // [true][predicted]
};

inline constexpr int kDefaultEceBins = 15;

// `probs` is labels.size() x k, row-major; each row sums to 1.
ClassificationMetrics ComputeMetrics(std::span<const float> probs, std::span<const int> labels,
                                     size_t k, int ece_bins = kDefaultEceBins);

// Expected calibration error: bins by top-1 confidence, sum over bins of
// (bin share) * |accuracy - mean confidence|.
double ExpectedCalibrationError(std::span<const float> probs, std::span<const int> labels, size_t k,
                                int bins = kDefaultEceBins);

nlohmann::json MetricsToJson(const ClassificationMetrics& m, const std::vector<std::string>& classes);

}  // namespace steadyeye
