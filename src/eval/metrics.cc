#include "steadyeye/eval/metrics.h"

#include <algorithm>
#include <cmath>

namespace steadyeye {

namespace {
// Probabilities are clamped before the log so that one confident mistake gives a large but
// finite NLL.
constexpr double kMinProbability = 1e-12;

size_t ArgMax(const float* row, size_t k) { return size_t(std::max_element(row, row + k) - row); }
}  // namespace

ClassificationMetrics ComputeMetrics(std::span<const float> probs, std::span<const int> labels,
                                     size_t k, const std::optional<Calibration>& calibration,
                                     int ece_bins) {
  ClassificationMetrics m;
  m.n = labels.size();
  m.confusion.assign(k, std::vector<size_t>(k, 0));
  m.per_class_n.assign(k, 0);
  m.per_class_accuracy.assign(k, 0);
  if (m.n == 0) return m;
  size_t correct = 0;
  double nll = 0;
  for (size_t i = 0; i < m.n; ++i) {
    const float* row = probs.data() + i * k;
    const size_t pred = ArgMax(row, k);
    const size_t truth = size_t(labels[i]);
    ++m.confusion[truth][pred];
    ++m.per_class_n[truth];
    correct += pred == truth;
    nll -= std::log(std::max(double(row[truth]), kMinProbability));
  }
  m.accuracy = double(correct) / double(m.n);
  m.nll = nll / double(m.n);
  for (size_t c = 0; c < k; ++c) {
    if (m.per_class_n[c] > 0)
      m.per_class_accuracy[c] = double(m.confusion[c][c]) / double(m.per_class_n[c]);
  }
  m.ece = ExpectedCalibrationError(probs, labels, k, ece_bins);
  if (calibration) m.automatic = MeasureAutomaticDecisions(probs, labels, k, *calibration);
  return m;
}

nlohmann::json AutomaticToJson(const std::optional<AutomaticDecisions>& a) {
  if (!a) return nullptr;
  return {{"coverage", a->coverage},
          {"error", a->error},
          {"decided", a->decided},
          {"errors", a->errors},
          {"n", a->n}};
}

nlohmann::json MetricsToJson(const ClassificationMetrics& m,
                             const std::vector<std::string>& classes) {
  nlohmann::json per_class = nlohmann::json::object();
  for (size_t c = 0; c < classes.size(); ++c) {
    per_class[classes[c]] = {{"accuracy", m.per_class_accuracy[c]}, {"n", m.per_class_n[c]}};
  }
  return {{"n", m.n},
          {"accuracy", m.accuracy},
          {"nll", m.nll},
          {"ece", m.ece},
          {"ece_bins", kDefaultEceBins},
          {"classes", classes},
          {"per_class", per_class},
          {"confusion", m.confusion},
          {"automatic", AutomaticToJson(m.automatic)}};
}

}  // namespace steadyeye
