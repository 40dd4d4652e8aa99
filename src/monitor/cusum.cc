#include "steadyeye/monitor/cusum.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace steadyeye {

bool Cusum::Add(double z) {
  upper_ = std::max(0.0, upper_ + z - options_.k);
  lower_ = std::max(0.0, lower_ - z - options_.k);
  ++count_;
  upper_run_ = upper_ > 0 ? upper_run_ + 1 : 0;
  lower_run_ = lower_ > 0 ? lower_run_ + 1 : 0;
  if (upper_ <= options_.h && lower_ <= options_.h) return false;
  last_direction_ = upper_ > options_.h ? 1 : -1;
  last_alarm_run_ = last_direction_ > 0 ? upper_run_ : lower_run_;
  Reset();
  return true;
}

void Cusum::Reset() {
  upper_ = lower_ = 0;
  count_ = 0;
  upper_run_ = lower_run_ = 0;
}

BernoulliCusum::BernoulliCusum(double p0, double p1, double run_length)
    : h_(std::log(std::max(run_length, 2.0))),
      on_event_(std::log(p1 / p0)),
      on_other_(std::log((1 - p1) / (1 - p0))) {}

bool BernoulliCusum::Add(bool event) {
  statistic_ = std::max(0.0, statistic_ + (event ? on_event_ : on_other_));
  run_ = statistic_ > 0 ? run_ + 1 : 0;
  if (statistic_ <= h_) return false;
  last_alarm_run_ = run_;
  statistic_ = 0;
  run_ = 0;
  return true;
}

double CusumOneSidedRunLength(double k, double h, double mean) {
  // Siegmund (1985): with drift d = mean - k per value and b = h + 1.166,
  // ARL = (exp(-2 d b) + 2 d b - 1) / (2 d^2), and b^2 in the limit d -> 0.
  const double d = mean - k, b = h + 1.166;
  if (std::abs(d) < 1e-9) return b * b;
  return (std::exp(-2 * d * b) + 2 * d * b - 1) / (2 * d * d);
}

double CusumInControlRunLength(double k, double h) {
  // The two sides alarm independently: 1 / ARL = 1 / ARL+ + 1 / ARL-, equal by symmetry.
  return CusumOneSidedRunLength(k, h, 0) / 2;
}

double CusumThresholdForRunLength(double k, double run_length) {
  double low = 0, high = 1;
  while (CusumInControlRunLength(k, high) < run_length) high *= 2;
  for (int i = 0; i < 100; ++i) {
    const double mid = (low + high) / 2;
    (CusumInControlRunLength(k, mid) < run_length ? low : high) = mid;
  }
  return high;
}

}  // namespace steadyeye

namespace steadyeye {

std::optional<BatchReference> FitBatchReference(std::span<const double> values, size_t batch) {
  if (batch == 0) return std::nullopt;
  const size_t batches = values.size() / batch;
  if (batches < 10) return std::nullopt;
  std::vector<double> means(batches);
  for (size_t b = 0; b < batches; ++b) {
    double sum = 0;
    for (size_t i = 0; i < batch; ++i) sum += values[b * batch + i];
    means[b] = sum / double(batch);
  }
  double mean = 0;
  for (double m : means) mean += m;
  mean /= double(batches);
  double var = 0, lag1 = 0;
  for (size_t b = 0; b < batches; ++b) {
    var += (means[b] - mean) * (means[b] - mean);
    if (b > 0) lag1 += (means[b] - mean) * (means[b - 1] - mean);
  }
  if (!(var > 0)) return std::nullopt;
  const double rho = std::clamp(lag1 / var, 0.0, 0.95);
  var /= double(batches - 1);
  // The CUSUM adds batch means up; neighbouring ones that still move together make the sum
  // wander more than independent ones would. Standardizing by the long-run spread of an AR(1)
  // with the measured lag-1 correlation keeps the false-alarm rate.
  const double long_run = std::sqrt(var * (1 + rho) / (1 - rho));
  return BatchReference{batch, mean, long_run, batches, rho};
}

BatchMeanCusum::BatchMeanCusum(const BatchReference& reference, double values_per_false_alarm,
                               double k)
    : reference_(reference),
      cusum_({k, CusumThresholdForRunLength(
                     k, values_per_false_alarm / double(std::max<size_t>(1, reference.batch)))}) {}

bool BatchMeanCusum::Add(double value) {
  sum_ += value;
  if (++in_batch_ < reference_.batch) return false;
  last_z_ = (sum_ / double(in_batch_) - reference_.mean) / reference_.sd;
  sum_ = 0;
  in_batch_ = 0;
  return cusum_.Add(last_z_);
}

}  // namespace steadyeye
