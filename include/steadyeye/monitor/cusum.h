// Change detection on a stream of standardized values: the two-sided CUSUM of Page (1954).
//
//   S+ = max(0, S+ + z - k),  S- = max(0, S- - z - k),  alarm when S+ > h or S- > h
//
// `z` is a value standardized against the reference period (mean 0, standard deviation 1 while
// nothing has changed); `k` is half the shift, in standard deviations, that the detector is
// tuned for, and `h` sets the false-alarm rate. Consecutive camera frames are not independent:
// callers feed batch means (for example of 20 frames, standardized by the batch mean's own
// spread), which are close to independent, and count run lengths in batches.
//
// The threshold for a wanted in-control average run length comes from Siegmund's approximation
// (CusumThresholdForRunLength), which the tests check against simulation.
//
// Thread-compatible: one Cusum per stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace steadyeye {

struct CusumOptions {
  double k = 0.5;  // half the shift to detect, in standard deviations
  double h = 5.0;  // alarm threshold
};

class Cusum {
 public:
  explicit Cusum(CusumOptions options = {}) : options_(options) {}

  // Adds one standardized value; true when this value raises an alarm (the statistic crossed h).
  // After an alarm the statistics restart from zero, so a lasting shift alarms again.
  bool Add(double z);
  void Reset();

  double threshold() const { return options_.h; }
  double upper() const { return upper_; }   // evidence of an upward shift
  double lower() const { return lower_; }   // evidence of a downward shift
  int64_t count() const { return count_; }  // values added since the last reset or alarm
  // Direction of the last alarm: +1 up, -1 down, 0 none yet.
  int last_direction() const { return last_direction_; }
  // Values the alarming side had been above zero when it alarmed: the change-point estimate is
  // that many values before the alarm (the CUSUM's own maximum-likelihood onset).
  int64_t last_alarm_run() const { return last_alarm_run_; }

 private:
  CusumOptions options_;
  double upper_ = 0, lower_ = 0;
  int64_t count_ = 0;
  int64_t upper_run_ = 0, lower_run_ = 0;  // values since each side was last zero
  int last_direction_ = 0;
  int64_t last_alarm_run_ = 0;
};

// One-sided CUSUM of a 0/1 stream (an audit answer was wrong, or not) for a rise of its rate
// from `p0` to `p1` (0 < p0 < p1 < 1): the log-likelihood-ratio CUSUM for Bernoulli data
// (Reynolds and Stoumbos, 1999). Rare events make batch means of 0/1 values too skewed for a
// normal CUSUM; the likelihood ratio needs no such approximation. The threshold is
// h = ln(run_length): a CUSUM of log-likelihood ratios has an in-control average run length of
// at least e^h (Lorden, 1971), so this errs towards fewer false alarms.
class BernoulliCusum {
 public:
  BernoulliCusum(double p0, double p1, double run_length);

  // True when this value raises an alarm; the statistic then restarts from zero.
  bool Add(bool event);
  double statistic() const { return statistic_; }
  double threshold() const { return h_; }
  // Values the statistic had been above zero when it last alarmed (the onset estimate).
  int64_t last_alarm_run() const { return last_alarm_run_; }

 private:
  double h_, on_event_, on_other_;  // the increments: log(p1/p0), log((1-p1)/(1-p0))
  double statistic_ = 0;
  int64_t run_ = 0, last_alarm_run_ = 0;
};

// Siegmund's approximation of the average run length of one side of the CUSUM (the upper) on
// independent N(mean, 1) values: to a false alarm for mean 0, to detection for a shift.
double CusumOneSidedRunLength(double k, double h, double mean);

// Siegmund's approximation of the average run length to a false alarm of a two-sided CUSUM on
// independent N(0, 1) values (k > 0, h > 0), in values.
double CusumInControlRunLength(double k, double h);

// The smallest h whose in-control run length (as above) is at least `run_length` values.
double CusumThresholdForRunLength(double k, double run_length);

}  // namespace steadyeye

namespace steadyeye {

// The reference of one monitored quantity: mean and spread of its batch means over the
// reference period, measured from consecutive batches of the reference stream itself, so that
// correlation between neighbouring frames is in the spread (a batch of correlated frames varies
// more than sd / sqrt(batch) says). What correlation remains between neighbouring batch means
// is measured too, and `sd` is their long-run spread under an AR(1) model of it.
struct BatchReference {
  size_t batch = 20;
  double mean = 0;
  double sd = 1;          // long-run standard deviation of batch means: what z divides by
  size_t batches = 0;     // how many reference batches it rests on
  double batch_lag1 = 0;  // correlation of neighbouring batch means (clamped to [0, 0.95])
};

// nullopt when the reference holds fewer than 10 batches or no
// spread at all (a constant quantity cannot be standardized).
std::optional<BatchReference> FitBatchReference(std::span<const double> values, size_t batch);

// CUSUM on batch means: values go in one by one; every `batch` values, their mean is
// standardized against the reference and fed to the CUSUM. The threshold is set so that a
// stationary stream raises a false alarm once per `values_per_false_alarm` values on average.
class BatchMeanCusum {
 public:
  BatchMeanCusum(const BatchReference& reference, double values_per_false_alarm, double k = 0.5);

  // True when this value completes a batch that raises an alarm.
  bool Add(double value);
  // The last batch mean, standardized (0 before the first batch completes).
  double last_z() const { return last_z_; }
  const Cusum& cusum() const { return cusum_; }

 private:
  BatchReference reference_;
  Cusum cusum_;
  double sum_ = 0;
  size_t in_batch_ = 0;
  double last_z_ = 0;
};

}  // namespace steadyeye
