#include "steadyeye/calib/calibration.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace steadyeye {

namespace {

Status CheckLogits(std::span<const float> logits, std::span<const int> labels, size_t k) {
  if (k < 2 || labels.empty() || logits.size() != labels.size() * k) {
    return InvalidArgumentError("calibration needs labels and labels.size() x k logits (k >= 2)");
  }
  for (int label : labels) {
    if (label < 0 || size_t(label) >= k) return InvalidArgumentError("label out of range in calibration data");
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
    const double t = lfn - std::lgamma(double(i) + 1) - std::lgamma(double(n - i) + 1) + double(i) * lp +
                     double(n - i) * lq;
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

StatusOr<double> FitTemperature(std::span<const float> logits, std::span<const int> labels, size_t k) {
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
    for (size_t j = 0; j < k; ++j) out[row * k + j] = float(std::exp(double(z[j]) / temperature - log_sum));
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
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return confidence[a] > confidence[b]; });
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

nlohmann::json CertifiedThreshold::ToJson() const {
  return {{"alpha", alpha},       {"delta", delta},       {"n", n},
          {"certified", certified}, {"threshold", threshold}, {"accepted", accepted},
          {"errors", errors},     {"coverage", coverage}, {"error_upper_bound", error_upper_bound},
          {"method", "Learn-then-Test, fixed-sequence over a 0.001 grid, Clopper-Pearson"}};
}

}  // namespace steadyeye
