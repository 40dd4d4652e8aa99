// Calibrated confidences and certified automatic decisions.
//
// Temperature scaling (Guo et al., ICML 2017) divides a model's logits by one fitted number T so
// that its confidences match its accuracy on held-back calibration data.
//
// A certified threshold picks the confidence above which decisions are made automatically, so
// that the error rate among those decisions is at most `alpha` with probability at least
// 1 - `delta` over the draw of the calibration data. Method: Learn-then-Test (Angelopoulos,
// Bates et al., 2021) with fixed-sequence testing. Candidate thresholds form a grid fixed before
// any data is seen (1.000, 0.999, ..., 0.000). They are tested from the most confident down,
// each at level delta, with an exact one-sided Clopper-Pearson bound on the error among the
// images it accepts, stopping at the first that fails. Fixed-sequence testing keeps the
// family-wise error at delta with no correction for the number of candidates. Its weakness is
// that one unlucky failure ends the sequence, and the first thresholds accept few images: one
// error among 300 already fails alpha = 1%. So thresholds accepting fewer images than needed to
// certify alpha at an observed error rate of alpha / 2 are not tested (about 2,000 images at
// alpha = 1%, delta = 5%). That depends on the confidences only, never on correctness, so the
// sequence is still fixed before the labels are looked at; the price is that fewer calibration
// images than that certify nothing.
//
// Pure functions on plain arrays; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "steadyeye/core/status.h"

namespace steadyeye {

// Mean negative log-likelihood (nats) of `labels` under softmax(logits / temperature).
// `logits` is labels.size() x k, row-major.
double TemperedNll(std::span<const float> logits, std::span<const int> labels, size_t k,
                   double temperature);

// The temperature in [0.05, 20] that minimises TemperedNll (the NLL is convex in 1/T; golden-
// section search on log T). InvalidArgument for empty or inconsistent inputs.
StatusOr<double> FitTemperature(std::span<const float> logits, std::span<const int> labels,
                                size_t k);

// softmax(logits / temperature), row-wise.
std::vector<float> TemperedSoftmax(std::span<const float> logits, size_t k, double temperature);

// One-sided (1 - delta) Clopper-Pearson upper bound on a binomial proportion after `errors` in
// `n` trials: the p at which P(X <= errors | n, p) = delta. 1 when n == 0.
double ClopperPearsonUpper(size_t errors, size_t n, double delta);

struct CertifiedThreshold {
  double alpha = 0;      // target error rate among automatic decisions
  double delta = 0;      // allowed probability that the certificate is wrong
  size_t n = 0;          // calibration images
  bool certified = false;  // false: no threshold on the grid passed; decide nothing automatically
  double threshold = 1.0;  // automatic when confidence >= threshold (only if certified)
  size_t accepted = 0;     // calibration images at or above the threshold
  size_t errors = 0;       // of those, wrong
  double coverage = 0;     // accepted / n
  double error_upper_bound = 1.0;  // Clopper-Pearson bound at the threshold

  nlohmann::json ToJson() const;
};

inline constexpr int kThresholdGridSteps = 1000;

// `confidence[i]` is the calibrated top-1 probability of image i, `correct[i]` whether the top-1
// label was right. InvalidArgument for alpha or delta outside (0, 1) or mismatched sizes.
StatusOr<CertifiedThreshold> CertifyThreshold(std::span<const float> confidence,
                                              std::span<const uint8_t> correct, double alpha,
                                              double delta);

}  // namespace steadyeye
