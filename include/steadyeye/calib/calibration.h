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
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

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

// Per row of `probs` (labels.size() x k, row-major): the top-1 probability and whether the top-1
// class is the label. Both outputs are resized to labels.size().
void ConfidenceAndCorrectness(std::span<const float> probs, std::span<const int> labels, size_t k,
                              std::vector<float>& confidence, std::vector<uint8_t>& correct);

struct CertifiedThreshold {
  double alpha = 0;        // target error rate among automatic decisions
  double delta = 0;        // allowed probability that the certificate is wrong
  size_t n = 0;            // calibration images
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
// Parses CertifiedThreshold::ToJson(); InvalidArgument naming the bad field.
StatusOr<CertifiedThreshold> CertifiedThresholdFromJson(const nlohmann::json& j);

inline constexpr int kDefaultEceBins = 15;

// Expected calibration error of probabilities (labels.size() x k, rows sum to 1): images binned
// by top-1 confidence into equal-width bins; the sum over bins of (bin share) x |accuracy - mean
// confidence|.
double ExpectedCalibrationError(std::span<const float> probs, std::span<const int> labels, size_t k,
                                int bins = kDefaultEceBins);

inline constexpr double kDefaultAlpha = 0.01;
inline constexpr double kDefaultDelta = 0.05;

// The threshold that keeps automatic decisions certified under production conditions the
// model was built for: a drift monitor that names an image fault (a dusty lens, glare, blur)
// can tighten automatic decisions to it instead of suspending them. Each condition's threshold
// is certified (CertifyThreshold, at the calibration's alpha and delta) on the certifying
// calibration images with the condition applied, severities 1..5 in equal shares; `threshold`
// is the largest of them, so it holds under each condition on its own. Certified only when
// every condition's threshold was. No guarantee for conditions outside `per_condition`.
struct ShiftCertificate {
  bool certified = false;
  double threshold = 1.0;
  std::string worst_condition;  // the condition that set `threshold`
  std::vector<std::pair<std::string, CertifiedThreshold>> per_condition;
  uint64_t seed = 0;  // of the simulated conditions

  nlohmann::json ToJson() const;
  static StatusOr<ShiftCertificate> FromJson(const nlohmann::json& j);
};
// The largest of `per_condition`'s thresholds, certified only if every one is.
ShiftCertificate CombineShiftThresholds(
    std::vector<std::pair<std::string, CertifiedThreshold>> per_condition, uint64_t seed);

// A model's calibration: its temperature and its certified threshold, with the evidence.
//
// The certificate requires the confidence function to be fixed before the images that certify
// it are seen, and the temperature is fitted on data. So the labelled images are divided, the
// same way every time: every kTemperatureEvery-th image (in data order) fits the temperature,
// the others certify the threshold. Both parts are stratified when the data is, as our splits
// are.
struct Calibration {
  static constexpr size_t kTemperatureEvery = 5;
  double temperature = 1.0;
  size_t n_temperature = 0;  // images the temperature was fitted on
  double ece_before = 0;     // on the certifying images, at temperature 1 and after
  double ece_after = 0;
  double nll_before = 0;
  double nll_after = 0;
  CertifiedThreshold threshold;  // on the certifying images, with calibrated confidences
  // Average Thresholded Confidence (Garg et al., ICLR 2022): the calibrated confidence above
  // which the share of the certifying images equals their accuracy. On unlabelled images, the
  // share above it estimates the model's accuracy. Absent in cards calibrated before it existed.
  std::optional<double> atc_threshold;
  // Absent when calibrated without production conditions (or before they were certified).
  std::optional<ShiftCertificate> shift;
  std::string data;        // where the labelled images came from, e.g. "fashion-mnist:calib"
  std::string created_at;  // ISO 8601 UTC

  // Automatic decision: only with a certified threshold, and confidence at or above it.
  bool DecidesAutomatically(float confidence) const {
    return threshold.certified && double(confidence) >= threshold.threshold;
  }
  // Automatic decision while a drift of the image is open: also at or above the shift
  // certificate's threshold; nothing without a certified one.
  bool DecidesAutomaticallyUnderShift(float confidence) const {
    return DecidesAutomatically(confidence) && shift && shift->certified &&
           double(confidence) >= shift->threshold;
  }
  bool CanTighten() const { return threshold.certified && shift && shift->certified; }
  nlohmann::json ToJson() const;
  static StatusOr<Calibration> FromJson(const nlohmann::json& j);
};

// The ATC threshold of Calibration::atc_threshold from calibrated confidences and whether each
// image was classified right (1.0 when none was).
double AtcThreshold(std::span<const float> confidence, std::span<const uint8_t> correct);

// Fits the temperature and certifies a threshold (see Calibration). `logits` is labels.size()
// x k raw (temperature 1) logits. InvalidArgument for bad sizes, labels or alpha/delta, and for
// fewer than 2 x kTemperatureEvery images.
StatusOr<Calibration> FitCalibration(std::span<const float> logits, std::span<const int> labels,
                                     size_t k, double alpha, double delta);

// What a threshold does on labelled data: the share decided automatically and the error among
// those decisions.
struct AutomaticDecisions {
  size_t n = 0;
  size_t decided = 0;   // confidence >= threshold
  size_t errors = 0;    // wrong among decided
  double coverage = 0;  // decided / n
  double error = 0;     // errors / decided; 0 when nothing was decided
};
AutomaticDecisions MeasureAutomaticDecisions(std::span<const float> probs,
                                             std::span<const int> labels, size_t k,
                                             const Calibration& calibration);

// An audit of the certificate on the caller's own data, the way the guarantee is stated:
// `draws` random divisions of the labelled images into a calibration part of
// `calibration_size` images (FitCalibration; 0 = half) and a check part (the rest). A violation
// is a draw whose check part shows an error among automatic decisions above alpha. With a sound
// certificate violations stay near or under delta x draws; the check part's own sampling noise
// adds some (the closer the certified threshold's true error is to alpha, the more), so the count
// is an upper estimate, and a large check part makes it sharp.
struct CertificateAudit {
  int draws = 0;
  size_t calibration_size = 0;
  size_t check_size = 0;
  int certified = 0;  // draws in which some threshold was certified
  int violations = 0;
  double mean_coverage = 0;  // on the check parts, over all draws
  double mean_error = 0;     // error among automatic decisions on the check parts, over
                             // certified draws
  double max_error = 0;
  nlohmann::json ToJson() const;
};
StatusOr<CertificateAudit> AuditCertificate(std::span<const float> logits,
                                            std::span<const int> labels, size_t k, double alpha,
                                            double delta, int draws, size_t calibration_size,
                                            uint64_t seed);

}  // namespace steadyeye
