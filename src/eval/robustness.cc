#include "steadyeye/eval/robustness.h"

#include <algorithm>
#include <numeric>

#include "steadyeye/core/hash.h"
#include "steadyeye/model/predict.h"
#include "steadyeye/shift/shift.h"

namespace steadyeye {

namespace {

std::vector<std::string> Split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(sep, start), text.size());
    std::string part(text.substr(start, end - start));
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    if (!part.empty()) parts.push_back(part);
    start = end + 1;
  }
  return parts;
}

// Neighbouring indices get unrelated seeds.
uint64_t ImageSeed(uint64_t seed, size_t index) {
  return SplitMix64Finalize(seed + 0x9E3779B97F4A7C15ull * (uint64_t(index) + 1));
}

std::optional<double> MeanAccuracy(const std::vector<ConditionCell>& cells, bool held_out) {
  double sum = 0;
  size_t n = 0;
  for (const auto& c : cells) {
    if (c.held_out != held_out) continue;
    sum += c.metrics.accuracy;
    ++n;
  }
  if (n == 0) return std::nullopt;
  return sum / double(n);
}

nlohmann::json OptionalNumber(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

}  // namespace

StatusOr<std::vector<std::string>> SelectConditions(std::string_view selector) {
  if (selector == "all" || selector == "anticipated" || selector == "heldout") {
    std::vector<std::string> names;
    for (const auto& c : AllConditions()) {
      if (selector == "all" || c.held_out == (selector == "heldout")) names.push_back(c.name);
    }
    return names;
  }
  const auto wanted = Split(selector, ',');
  if (wanted.empty()) {
    return InvalidArgumentError("no conditions selected: give all, anticipated, heldout or names");
  }
  for (const auto& name : wanted) SEYE_RETURN_IF_ERROR(FindCondition(name).status());
  std::vector<std::string> names;
  for (const auto& c : AllConditions()) {
    if (std::find(wanted.begin(), wanted.end(), c.name) != wanted.end()) names.push_back(c.name);
  }
  return names;
}

StatusOr<Dataset> CorruptDataset(const Dataset& data, std::string_view condition, int severity,
                                 uint64_t seed) {
  Dataset out = data;
  for (size_t i = 0; i < data.size(); ++i) {
    SEYE_ASSIGN_OR_RETURN(const Image shifted,
                          ApplyCondition(data.image(i), condition, severity, ImageSeed(seed, i)));
    std::copy(shifted.pixels.begin(), shifted.pixels.end(),
              out.pixels.begin() + i * data.image_bytes());
  }
  return out;
}

StatusOr<ShiftCertificate> CertifyUnderConditions(
    const Classifier& model, const Dataset& calibration_data,
    std::span<const std::string> conditions, uint64_t seed,
    const std::function<void(size_t, size_t)>& on_progress) {
  const auto& calibration = model.card().calibration;
  if (!calibration || !calibration->threshold.certified) {
    return FailedPreconditionError("a shift certificate needs a model with a certified threshold");
  }
  // The images of each severity, among those that certify the threshold.
  std::vector<std::vector<size_t>> by_severity(kMaxSeverity);
  size_t certifying = 0;
  for (size_t i = 0; i < calibration_data.size(); ++i) {
    if (i % Calibration::kTemperatureEvery == 0) continue;
    by_severity[certifying++ % kMaxSeverity].push_back(i);
  }
  if (certifying == 0) return InvalidArgumentError("no calibration images to certify on");
  const size_t total = certifying * conditions.size();
  size_t done = 0;
  std::vector<std::pair<std::string, CertifiedThreshold>> per_condition;
  for (const auto& name : conditions) {
    std::vector<float> probs;
    std::vector<int> labels;
    for (int severity = kMinSeverity; severity <= kMaxSeverity; ++severity) {
      const Dataset part = calibration_data.Subset(by_severity[severity - 1]);
      if (part.size() == 0) continue;
      SEYE_ASSIGN_OR_RETURN(const Dataset shifted, CorruptDataset(part, name, severity, seed));
      SEYE_ASSIGN_OR_RETURN(const auto part_probs, PredictDataset(model, shifted));
      probs.insert(probs.end(), part_probs.begin(), part_probs.end());
      labels.insert(labels.end(), shifted.labels.begin(), shifted.labels.end());
      done += part.size();
      if (on_progress) on_progress(done, total);
    }
    std::vector<float> confidence;
    std::vector<uint8_t> correct;
    ConfidenceAndCorrectness(probs, labels, model.num_classes(), confidence, correct);
    SEYE_ASSIGN_OR_RETURN(CertifiedThreshold t,
                          CertifyThreshold(confidence, correct, calibration->threshold.alpha,
                                           calibration->threshold.delta));
    per_condition.emplace_back(name, std::move(t));
  }
  return CombineShiftThresholds(std::move(per_condition), seed);
}

StatusOr<Calibration> CalibrateForProduction(Classifier& model, const Dataset& data,
                                             const CalibrateOptions& options, size_t shift_images,
                                             std::vector<float>* logits) {
  SEYE_ASSIGN_OR_RETURN(Calibration c, CalibrateClassifier(model, data, options, logits));
  if (!c.threshold.certified) return c;
  // The first images, enough that `shift_images` remain once every kTemperatureEvery-th (the
  // temperature's) is left out.
  constexpr size_t kPerSkipped = Calibration::kTemperatureEvery - 1;
  const size_t keep =
      shift_images == 0
          ? data.size()
          : std::min(data.size(), shift_images + (shift_images + kPerSkipped - 1) / kPerSkipped);
  std::vector<size_t> first(keep);
  std::iota(first.begin(), first.end(), 0);
  const auto conditions = ConditionNames(/*held_out=*/false);
  SEYE_ASSIGN_OR_RETURN(c.shift, CertifyUnderConditions(model, data.Subset(first), conditions,
                                                        kDefaultConditionSeed));
  model.SetCalibration(c);
  return c;
}

StatusOr<RobustnessResult> EvaluateRobustness(
    const Classifier& model, const Dataset& data, std::span<const std::string> conditions,
    uint64_t seed, const std::function<void(size_t, size_t)>& on_progress) {
  if (data.size() == 0) return InvalidArgumentError("no images to evaluate");
  const size_t k = model.num_classes();
  const size_t total = data.size() * (1 + conditions.size() * kMaxSeverity);
  size_t done = 0;
  auto evaluate = [&](const Dataset& d) -> StatusOr<ClassificationMetrics> {
    SEYE_ASSIGN_OR_RETURN(auto probs, PredictDataset(model, d, 256, [&](size_t n, size_t) {
                            if (on_progress) on_progress(done + n, total);
                          }));
    done += d.size();
    return ComputeMetrics(probs, d.labels, k, model.card().calibration);
  };
  RobustnessResult result;
  result.seed = seed;
  SEYE_ASSIGN_OR_RETURN(result.clean, evaluate(data));
  for (const auto& name : conditions) {
    SEYE_ASSIGN_OR_RETURN(const ConditionInfo info, FindCondition(name));
    for (int severity = kMinSeverity; severity <= kMaxSeverity; ++severity) {
      SEYE_ASSIGN_OR_RETURN(const Dataset corrupted, CorruptDataset(data, name, severity, seed));
      SEYE_ASSIGN_OR_RETURN(auto metrics, evaluate(corrupted));
      result.cells.push_back({name, info.held_out, severity, std::move(metrics)});
    }
  }
  result.mean_anticipated_accuracy = MeanAccuracy(result.cells, false);
  result.mean_heldout_accuracy = MeanAccuracy(result.cells, true);
  if (!result.cells.empty()) {
    double sum = 0;
    for (const auto& c : result.cells) sum += c.metrics.accuracy;
    result.mean_corrupted_accuracy = sum / double(result.cells.size());
    result.relative_drop = result.clean.accuracy > 0
                               ? 1.0 - result.mean_corrupted_accuracy / result.clean.accuracy
                               : 0.0;
  } else {
    result.mean_corrupted_accuracy = result.clean.accuracy;
  }
  return result;
}

nlohmann::json RobustnessToJson(const RobustnessResult& r) {
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& c : r.cells) {
    cells.push_back({{"condition", c.condition},
                     {"held_out", c.held_out},
                     {"severity", c.severity},
                     {"accuracy", c.metrics.accuracy},
                     {"ece", c.metrics.ece},
                     {"nll", c.metrics.nll},
                     {"n", c.metrics.n},
                     {"automatic", AutomaticToJson(c.metrics.automatic)}});
  }
  auto error = [](const std::optional<double>& mean) {
    return mean ? nlohmann::json(1.0 - *mean) : nlohmann::json();
  };
  return {{"conditions", cells},
          {"mean_anticipated_accuracy", OptionalNumber(r.mean_anticipated_accuracy)},
          {"mean_heldout_accuracy", OptionalNumber(r.mean_heldout_accuracy)},
          {"anticipated_corruption_error", error(r.mean_anticipated_accuracy)},
          {"heldout_corruption_error", error(r.mean_heldout_accuracy)},
          {"mean_corrupted_accuracy", r.mean_corrupted_accuracy},
          {"relative_drop", r.relative_drop},
          {"condition_seed", r.seed}};
}

}  // namespace steadyeye
