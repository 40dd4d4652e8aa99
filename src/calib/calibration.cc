#include "steadyeye/calib/calibration.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "steadyeye/core/time.h"

namespace steadyeye {

namespace {

Status CheckLogits(std::span<const float> logits, std::span<const int> labels, size_t k) {
  if (k < 2 || labels.empty() || logits.size() != labels.size() * k) {
    return InvalidArgumentError("calibration needs labels and labels.size() x k logits (k >= 2)");
  }
  for (int label : labels) {
    if (label < 0 || size_t(label) >= k)
      return InvalidArgumentError("label out of range in calibration data");
  }
  return Status::Ok();
}

// log(sum_j exp(z_j / temperature)) of one row, stable for large logits.
double LogSumExp(const float* z, size_t k, double temperature) {
  double top = -INFINITY, sum = 0;
  for (size_t j = 0; j < k; ++j) top = std::max(top, double(z[j]) / temperature);
  for (size_t j = 0; j < k; ++j) sum += std::exp(double(z[j]) / temperature - top);
  return top + std::log(sum);
}

// log P(X <= errors) for X ~ Binomial(n, p), summed in log space (n reaches 10^5 and more).
double LogBinomialCdf(size_t errors, size_t n, double p) {
  if (p <= 0) return 0.0;
  if (p >= 1) return errors >= n ? 0.0 : -INFINITY;
  const double lp = std::log(p), lq = std::log1p(-p), lfn = std::lgamma(double(n) + 1);
  double top = -INFINITY, sum = 0;
  std::vector<double> terms;
  terms.reserve(errors + 1);
  for (size_t i = 0; i <= errors && i <= n; ++i) {
    const double t = lfn - std::lgamma(double(i) + 1) - std::lgamma(double(n - i) + 1) +
                     double(i) * lp + double(n - i) * lq;
    terms.push_back(t);
    top = std::max(top, t);
  }
  for (double t : terms) sum += std::exp(t - top);
  return top + std::log(sum);
}

// The smallest number of accepted images at which an observed error rate of alpha / 2 would
// certify alpha; n + 1 when even all n would not do.
size_t MinTestableAccepted(double alpha, double delta, size_t n) {
  for (size_t m = 1; m <= n; ++m) {
    if (ClopperPearsonUpper(size_t(alpha * double(m) / 2), m, delta) <= alpha) return m;
  }
  return n + 1;
}

}  // namespace

double TemperedNll(std::span<const float> logits, std::span<const int> labels, size_t k,
                   double temperature) {
  double total = 0;
  for (size_t row = 0; row < labels.size(); ++row) {
    const float* z = logits.data() + row * k;
    total += LogSumExp(z, k, temperature) - double(z[labels[row]]) / temperature;
  }
  return total / double(labels.size());
}

StatusOr<double> FitTemperature(std::span<const float> logits, std::span<const int> labels,
                                size_t k) {
  SEYE_RETURN_IF_ERROR(CheckLogits(logits, labels, k));
  // Golden-section search on log T: the NLL is unimodal there.
  const double phi = (std::sqrt(5.0) - 1) / 2;
  double lo = std::log(0.05), hi = std::log(20.0);
  auto nll = [&](double log_t) { return TemperedNll(logits, labels, k, std::exp(log_t)); };
  double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo);
  double fa = nll(a), fb = nll(b);
  for (int it = 0; it < 60; ++it) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - phi * (hi - lo);
      fa = nll(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + phi * (hi - lo);
      fb = nll(b);
    }
  }
  return std::exp((lo + hi) / 2);
}

std::vector<float> TemperedSoftmax(std::span<const float> logits, size_t k, double temperature) {
  std::vector<float> out(logits.size());
  for (size_t row = 0; row * k < logits.size(); ++row) {
    const float* z = logits.data() + row * k;
    const double log_sum = LogSumExp(z, k, temperature);
    for (size_t j = 0; j < k; ++j)
      out[row * k + j] = float(std::exp(double(z[j]) / temperature - log_sum));
  }
  return out;
}

double ClopperPearsonUpper(size_t errors, size_t n, double delta) {
  if (n == 0 || errors >= n) return 1.0;
  // P(X <= errors | p) falls as p grows: bisect for the p where it equals delta.
  const double log_delta = std::log(delta);
  double lo = double(errors) / double(n), hi = 1.0;
  for (int it = 0; it < 100; ++it) {
    const double mid = (lo + hi) / 2;
    (LogBinomialCdf(errors, n, mid) > log_delta ? lo : hi) = mid;
  }
  return hi;
}

StatusOr<CertifiedThreshold> CertifyThreshold(std::span<const float> confidence,
                                              std::span<const uint8_t> correct, double alpha,
                                              double delta) {
  if (!(alpha > 0 && alpha < 1) || !(delta > 0 && delta < 1)) {
    return InvalidArgumentError("alpha and delta must be in (0, 1)");
  }
  if (confidence.size() != correct.size() || confidence.empty()) {
    return InvalidArgumentError("need one correctness flag per confidence, and at least one image");
  }
  std::vector<size_t> order(confidence.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return confidence[a] > confidence[b]; });
  CertifiedThreshold result;
  result.alpha = alpha;
  result.delta = delta;
  result.n = confidence.size();
  const size_t min_accepted = MinTestableAccepted(alpha, delta, result.n);
  size_t taken = 0, errors = 0;
  for (int step = 0; step <= kThresholdGridSteps; ++step) {
    const double threshold = 1.0 - double(step) / kThresholdGridSteps;
    while (taken < order.size() && double(confidence[order[taken]]) >= threshold) {
      errors += correct[order[taken]] ? 0 : 1;
      ++taken;
    }
    // Thresholds accepting fewer than `min_accepted` images are not tested (see the header);
    // that depends on the confidences alone, never on correctness, so the sequence stays fixed.
    if (taken < min_accepted) continue;
    const double bound = ClopperPearsonUpper(errors, taken, delta);
    if (bound > alpha) break;  // fixed sequence: the first failure ends the testing
    result.certified = true;
    result.threshold = threshold;
    result.accepted = taken;
    result.errors = errors;
    result.error_upper_bound = bound;
  }
  result.coverage = double(result.accepted) / double(result.n);
  return result;
}

namespace {

size_t ArgMax(const float* row, size_t k) { return size_t(std::max_element(row, row + k) - row); }

}  // namespace

void ConfidenceAndCorrectness(std::span<const float> probs, std::span<const int> labels, size_t k,
                              std::vector<float>& confidence, std::vector<uint8_t>& correct) {
  confidence.resize(labels.size());
  correct.resize(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    const float* row = probs.data() + i * k;
    const size_t top = ArgMax(row, k);
    confidence[i] = row[top];
    correct[i] = top == size_t(labels[i]) ? 1 : 0;
  }
}

namespace {

// The rows `rows` of a labels.size() x k matrix and their labels.
void TakeRows(std::span<const float> logits, std::span<const int> labels, size_t k,
              std::span<const size_t> rows, std::vector<float>& out_logits,
              std::vector<int>& out_labels) {
  out_logits.clear();
  out_labels.clear();
  for (size_t r : rows) {
    out_logits.insert(out_logits.end(), logits.begin() + r * k, logits.begin() + (r + 1) * k);
    out_labels.push_back(labels[r]);
  }
}

}  // namespace

double ExpectedCalibrationError(std::span<const float> probs, std::span<const int> labels, size_t k,
                                int bins) {
  std::vector<double> conf_sum(bins, 0), correct(bins, 0), count(bins, 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    const float* row = probs.data() + i * k;
    const size_t pred = ArgMax(row, k);
    const double conf = row[pred];
    const int b = std::min(bins - 1, static_cast<int>(conf * bins));
    conf_sum[b] += conf;
    correct[b] += pred == size_t(labels[i]) ? 1 : 0;
    count[b] += 1;
  }
  double ece = 0;
  for (int b = 0; b < bins; ++b) {
    if (count[b] > 0)
      ece += count[b] / double(labels.size()) *
             std::abs(correct[b] / count[b] - conf_sum[b] / count[b]);
  }
  return ece;
}

double AtcThreshold(std::span<const float> confidence, std::span<const uint8_t> correct) {
  size_t right = 0;
  for (uint8_t c : correct) right += c;
  std::vector<float> sorted(confidence.begin(), confidence.end());
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  // The `right` most confident images lie at or above the threshold: as many as are correct.
  if (right == 0) return 1.0;
  return double(sorted[right - 1]);
}

StatusOr<Calibration> FitCalibration(std::span<const float> logits, std::span<const int> labels,
                                     size_t k, double alpha, double delta) {
  SEYE_RETURN_IF_ERROR(CheckLogits(logits, labels, k));
  if (labels.size() < 2 * Calibration::kTemperatureEvery) {
    return InvalidArgumentError("calibration needs at least " +
                                std::to_string(2 * Calibration::kTemperatureEvery) +
                                " labelled images, got " + std::to_string(labels.size()));
  }
  std::vector<size_t> fit_rows, certify_rows;
  for (size_t i = 0; i < labels.size(); ++i) {
    (i % Calibration::kTemperatureEvery == 0 ? fit_rows : certify_rows).push_back(i);
  }
  std::vector<float> part_logits;
  std::vector<int> part_labels;
  TakeRows(logits, labels, k, fit_rows, part_logits, part_labels);
  Calibration c;
  SEYE_ASSIGN_OR_RETURN(c.temperature, FitTemperature(part_logits, part_labels, k));
  c.n_temperature = fit_rows.size();
  TakeRows(logits, labels, k, certify_rows, part_logits, part_labels);
  const auto before = TemperedSoftmax(part_logits, k, 1.0);
  const auto after = TemperedSoftmax(part_logits, k, c.temperature);
  c.ece_before = ExpectedCalibrationError(before, part_labels, k);
  c.ece_after = ExpectedCalibrationError(after, part_labels, k);
  c.nll_before = TemperedNll(part_logits, part_labels, k, 1.0);
  c.nll_after = TemperedNll(part_logits, part_labels, k, c.temperature);
  std::vector<float> confidence;
  std::vector<uint8_t> correct;
  ConfidenceAndCorrectness(after, part_labels, k, confidence, correct);
  SEYE_ASSIGN_OR_RETURN(c.threshold, CertifyThreshold(confidence, correct, alpha, delta));
  c.atc_threshold = AtcThreshold(confidence, correct);
  c.created_at = UtcNowIso8601();
  return c;
}

AutomaticDecisions MeasureAutomaticDecisions(std::span<const float> probs,
                                             std::span<const int> labels, size_t k,
                                             const Calibration& calibration) {
  std::vector<float> confidence;
  std::vector<uint8_t> correct;
  ConfidenceAndCorrectness(probs, labels, k, confidence, correct);
  AutomaticDecisions d;
  d.n = labels.size();
  for (size_t i = 0; i < d.n; ++i) {
    if (!calibration.DecidesAutomatically(confidence[i])) continue;
    ++d.decided;
    d.errors += correct[i] ? 0 : 1;
  }
  d.coverage = d.n > 0 ? double(d.decided) / double(d.n) : 0.0;
  d.error = d.decided > 0 ? double(d.errors) / double(d.decided) : 0.0;
  return d;
}

StatusOr<CertificateAudit> AuditCertificate(std::span<const float> logits,
                                            std::span<const int> labels, size_t k, double alpha,
                                            double delta, int draws, size_t calibration_size,
                                            uint64_t seed) {
  SEYE_RETURN_IF_ERROR(CheckLogits(logits, labels, k));
  if (draws < 1) return InvalidArgumentError("an audit needs at least one draw");
  const size_t cut = calibration_size > 0 ? calibration_size : labels.size() / 2;
  if (cut >= labels.size()) {
    return InvalidArgumentError("the audit's calibration part (" + std::to_string(cut) +
                                " images) leaves nothing to check on (" +
                                std::to_string(labels.size()) + " images)");
  }
  CertificateAudit audit;
  audit.draws = draws;
  audit.calibration_size = cut;
  audit.check_size = labels.size() - cut;
  std::vector<size_t> order(labels.size());
  std::vector<float> part_logits;
  std::vector<int> part_labels;
  double error_sum = 0;
  for (int draw = 0; draw < draws; ++draw) {
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(seed + uint64_t(draw));
    std::shuffle(order.begin(), order.end(), rng);
    TakeRows(logits, labels, k, std::span<const size_t>(order).first(cut), part_logits,
             part_labels);
    SEYE_ASSIGN_OR_RETURN(const Calibration c,
                          FitCalibration(part_logits, part_labels, k, alpha, delta));
    TakeRows(logits, labels, k, std::span<const size_t>(order).subspan(cut), part_logits,
             part_labels);
    const auto d = MeasureAutomaticDecisions(TemperedSoftmax(part_logits, k, c.temperature),
                                             part_labels, k, c);
    audit.mean_coverage += d.coverage / draws;
    if (!c.threshold.certified) continue;
    ++audit.certified;
    audit.violations += d.error > alpha ? 1 : 0;
    error_sum += d.error;
    audit.max_error = std::max(audit.max_error, d.error);
  }
  audit.mean_error = audit.certified > 0 ? error_sum / audit.certified : 0.0;
  return audit;
}

nlohmann::json CertificateAudit::ToJson() const {
  return {{"draws", draws},           {"calibration_size", calibration_size},
          {"check_size", check_size}, {"certified", certified},
          {"violations", violations}, {"mean_coverage", mean_coverage},
          {"mean_error", mean_error}, {"max_error", max_error}};
}

nlohmann::json Calibration::ToJson() const {
  nlohmann::json j{
      {"temperature", temperature},
      {"n_temperature", n_temperature},
      {"ece_before", ece_before},
      {"ece_after", ece_after},
      {"nll_before", nll_before},
      {"nll_after", nll_after},
      {"threshold", threshold.ToJson()},
      {"data", data},
      {"created_at", created_at},
      {"atc_threshold", atc_threshold ? nlohmann::json(*atc_threshold) : nlohmann::json()}};
  // Only when present: the JSON is part of the model's version (model_card.h), which must not
  // change for models calibrated before shift certificates existed.
  if (shift) j["shift"] = shift->ToJson();
  return j;
}

ShiftCertificate CombineShiftThresholds(
    std::vector<std::pair<std::string, CertifiedThreshold>> per_condition, uint64_t seed) {
  ShiftCertificate out;
  out.seed = seed;
  out.certified = !per_condition.empty();
  out.threshold = 0;
  for (const auto& [condition, t] : per_condition) {
    if (!t.certified) out.certified = false;
    if (t.certified && t.threshold > out.threshold) {
      out.threshold = t.threshold;
      out.worst_condition = condition;
    }
  }
  if (!out.certified) {
    out.threshold = 1.0;
    out.worst_condition.clear();
    for (const auto& [condition, t] : per_condition) {
      if (!t.certified) {
        out.worst_condition = condition;  // the first that could not be certified
        break;
      }
    }
  }
  out.per_condition = std::move(per_condition);
  return out;
}

nlohmann::json ShiftCertificate::ToJson() const {
  nlohmann::json conditions = nlohmann::json::object();
  for (const auto& [condition, t] : per_condition) conditions[condition] = t.ToJson();
  return {{"certified", certified},
          {"threshold", threshold},
          {"worst_condition", worst_condition},
          {"seed", seed},
          {"per_condition", conditions},
          {"method",
           "each condition certified on the certifying images with it applied (severities 1-5 "
           "in equal shares); the largest threshold"}};
}

StatusOr<ShiftCertificate> ShiftCertificate::FromJson(const nlohmann::json& j) {
  ShiftCertificate c;
  try {
    c.certified = j.at("certified").get<bool>();
    c.threshold = j.at("threshold").get<double>();
    c.worst_condition = j.value("worst_condition", "");
    c.seed = j.value("seed", uint64_t{0});
    for (const auto& [condition, t] : j.at("per_condition").items()) {
      auto parsed = CertifiedThresholdFromJson(t);
      if (!parsed.ok()) {
        return InvalidArgumentError("invalid shift certificate for " + condition + ": " +
                                    parsed.status().message());
      }
      c.per_condition.emplace_back(condition, *parsed);
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("invalid shift certificate: ") + e.what());
  }
  if (!(c.threshold >= 0 && c.threshold <= 1)) {
    return InvalidArgumentError("invalid shift certificate: threshold must be in [0, 1]");
  }
  return c;
}

StatusOr<Calibration> Calibration::FromJson(const nlohmann::json& j) {
  Calibration c;
  try {
    c.temperature = j.at("temperature").get<double>();
    c.n_temperature = j.value("n_temperature", size_t{0});
    c.ece_before = j.value("ece_before", 0.0);
    c.ece_after = j.value("ece_after", 0.0);
    c.nll_before = j.value("nll_before", 0.0);
    c.nll_after = j.value("nll_after", 0.0);
    c.data = j.value("data", "");
    c.created_at = j.value("created_at", "");
    if (j.contains("atc_threshold") && !j["atc_threshold"].is_null())
      c.atc_threshold = j["atc_threshold"].get<double>();
    if (j.contains("shift") && !j["shift"].is_null()) {
      auto shift = ShiftCertificate::FromJson(j["shift"]);
      if (!shift.ok()) return shift.status();
      c.shift = std::move(*shift);
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("invalid calibration: ") + e.what());
  }
  if (!(c.temperature > 0) || !std::isfinite(c.temperature)) {
    return InvalidArgumentError("invalid calibration: temperature must be a positive number");
  }
  if (!j.contains("threshold")) return InvalidArgumentError("invalid calibration: no threshold");
  SEYE_ASSIGN_OR_RETURN(c.threshold, CertifiedThresholdFromJson(j.at("threshold")));
  return c;
}

StatusOr<CertifiedThreshold> CertifiedThresholdFromJson(const nlohmann::json& j) {
  CertifiedThreshold t;
  try {
    t.alpha = j.at("alpha").get<double>();
    t.delta = j.at("delta").get<double>();
    t.n = j.at("n").get<size_t>();
    t.certified = j.at("certified").get<bool>();
    t.threshold = j.at("threshold").get<double>();
    t.accepted = j.value("accepted", size_t{0});
    t.errors = j.value("errors", size_t{0});
    t.coverage = j.value("coverage", 0.0);
    t.error_upper_bound = j.value("error_upper_bound", 1.0);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("invalid certified threshold: ") + e.what());
  }
  if (!(t.threshold >= 0 && t.threshold <= 1)) {
    return InvalidArgumentError("invalid certified threshold: threshold must be in [0, 1]");
  }
  return t;
}

nlohmann::json CertifiedThreshold::ToJson() const {
  return {{"alpha", alpha},
          {"delta", delta},
          {"n", n},
          {"certified", certified},
          {"threshold", threshold},
          {"accepted", accepted},
          {"errors", errors},
          {"coverage", coverage},
          {"error_upper_bound", error_upper_bound},
          {"method", "Learn-then-Test, fixed-sequence over a 0.001 grid, Clopper-Pearson"}};
}

}  // namespace steadyeye
