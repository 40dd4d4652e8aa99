// Accuracy under production conditions: a model evaluated on every selected condition at
// severities 1..5 of the shift suite. The corrupted images depend only on the data, the
// condition, the severity and the seed, never on the model, so two models evaluated with the
// same seed see exactly the same images and compare exactly.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/data/dataset.h"
#include "steadyeye/eval/metrics.h"
#include "steadyeye/model/calibrate.h"
#include "steadyeye/model/classifier.h"

namespace steadyeye {

inline constexpr uint64_t kDefaultConditionSeed = 20261129;

// "all", "anticipated", "heldout", or comma-separated condition names (NotFound for an unknown
// one, InvalidArgument for an empty list). Result in the suite's order, without duplicates.
StatusOr<std::vector<std::string>> SelectConditions(std::string_view selector);

// `data` with `condition` at `severity` applied to every image; image i uses a seed derived
// from (`seed`, i), so any subset of the same indices reproduces the same corrupted images.
StatusOr<Dataset> CorruptDataset(const Dataset& data, std::string_view condition, int severity,
                                 uint64_t seed);

struct ConditionCell {
  std::string condition;
  bool held_out = false;
  int severity = 0;
  ClassificationMetrics metrics;
};

struct RobustnessResult {
  ClassificationMetrics clean;
  std::vector<ConditionCell> cells;  // the selected conditions in order, severities 1..5 each
  // Means of accuracy over the cells of each set; empty when the set was not evaluated.
  std::optional<double> mean_anticipated_accuracy;
  std::optional<double> mean_heldout_accuracy;
  double mean_corrupted_accuracy = 0;  // over all cells
  double relative_drop = 0;            // 1 - mean_corrupted_accuracy / clean accuracy
  uint64_t seed = 0;
};

// Evaluates `model` on `data` (already conformed to its input) clean and under each of
// `conditions` x severities 1..5. `on_progress(done, total)` counts images.
StatusOr<RobustnessResult> EvaluateRobustness(
    const Classifier& model, const Dataset& data, std::span<const std::string> conditions,
    uint64_t seed, const std::function<void(size_t, size_t)>& on_progress = {});

// The shift certificate of calib/calibration.h for a calibrated `model`: its certifying
// calibration images (those the temperature was not fitted on: every image whose index is not a
// multiple of Calibration::kTemperatureEvery), already conformed to its input, under each of
// `conditions`, the j-th of them at severity 1 + j % 5. Certified at the model's own alpha and
// delta. FailedPrecondition for a model without a certified threshold.
StatusOr<ShiftCertificate> CertifyUnderConditions(
    const Classifier& model, const Dataset& calibration_data,
    std::span<const std::string> conditions, uint64_t seed,
    const std::function<void(size_t, size_t)>& on_progress = {});

// CalibrateClassifier (model/calibrate.h), then, when it certified a threshold, the shift
// certificate under the anticipated conditions (seed kDefaultConditionSeed) on at most
// `shift_images` of the certifying images (0 = all), stored in the model's calibration. The
// calibration every command that calibrates a model uses.
StatusOr<Calibration> CalibrateForProduction(Classifier& model, const Dataset& data,
                                             const CalibrateOptions& options,
                                             size_t shift_images = 0,
                                             std::vector<float>* logits = nullptr);

// {"conditions": [{condition, held_out, severity, accuracy, ece, nll, n}, ...],
//  "mean_anticipated_accuracy", "mean_heldout_accuracy" (null when not evaluated),
//  "anticipated_corruption_error", "heldout_corruption_error" (1 - the means),
//  "mean_corrupted_accuracy", "relative_drop", "condition_seed"}
nlohmann::json RobustnessToJson(const RobustnessResult& result);

}  // namespace steadyeye
