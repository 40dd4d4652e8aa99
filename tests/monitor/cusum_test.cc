#include "steadyeye/monitor/cusum.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

namespace steadyeye {
namespace {

// Mean run length to an alarm over `runs` simulated streams of N(mean, 1) values.
double SimulatedRunLength(const CusumOptions& options, double mean, int runs, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(mean, 1.0);
  double total = 0;
  for (int r = 0; r < runs; ++r) {
    Cusum cusum(options);
    int64_t n = 0;
    do ++n;
    while (!cusum.Add(noise(rng)));
    total += double(n);
  }
  return total / runs;
}

TEST(Cusum, TheApproximateFalseAlarmRunLengthMatchesSimulation) {
  // k = 0.5, h = 4: Siegmund gives about 168 values per false alarm (two-sided).
  const CusumOptions options{0.5, 4.0};
  const double predicted = CusumInControlRunLength(options.k, options.h);
  EXPECT_NEAR(predicted, 168, 5);
  const double simulated = SimulatedRunLength(options, 0.0, 2000, 1);
  EXPECT_NEAR(simulated / predicted, 1.0, 0.12) << simulated;
}

TEST(Cusum, DetectsAShiftQuicklyAndNamesItsDirection) {
  const double h = CusumThresholdForRunLength(0.5, 5000);
  EXPECT_GE(CusumInControlRunLength(0.5, h), 5000);
  EXPECT_LT(CusumInControlRunLength(0.5, h * 0.99), 5000);
  const CusumOptions options{0.5, h};
  // A shift of one standard deviation is found in about 2 (h + 1.166) values.
  const double delay = SimulatedRunLength(options, 1.0, 500, 2);
  EXPECT_NEAR(delay, CusumOneSidedRunLength(0.5, h, 1.0), 0.2 * delay);
  EXPECT_LT(delay, 25);
  Cusum down(options);
  int64_t n = 0;
  while (!down.Add(-1.0)) ++n;
  EXPECT_EQ(down.last_direction(), -1);
  EXPECT_EQ(down.count(), 0);  // restarted after the alarm
  EXPECT_LT(n, 25);
}

}  // namespace
}  // namespace steadyeye

namespace steadyeye {
namespace {

// Camera frames: an AR(1) stream (each value 0.9 of the last plus noise), strongly correlated.
std::vector<double> Correlated(std::mt19937_64& rng, size_t n, double shift_from, double shift) {
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> out(n);
  double x = 0;
  for (size_t i = 0; i < n; ++i) {
    x = 0.9 * x + noise(rng);
    out[i] = x + (double(i) >= shift_from ? shift : 0.0);
  }
  return out;
}

TEST(BatchMeanCusum, KeepsItsFalseAlarmRateOnCorrelatedFramesAndStillDetects) {
  std::mt19937_64 rng(11);
  const auto reference_stream = Correlated(rng, 40'000, 1e18, 0);
  const auto reference = FitBatchReference(reference_stream, 20);
  ASSERT_TRUE(reference.has_value());
  // Batch means of correlated frames spread far more than sd / sqrt(20) of single frames.
  EXPECT_GT(reference->sd, 1.5 * 2.29 / std::sqrt(20.0));

  // Tuned for one false alarm per 20,000 frames; 400,000 stationary frames.
  BatchMeanCusum monitor(*reference, 20'000);
  int alarms = 0;
  for (double v : Correlated(rng, 400'000, 1e18, 0)) alarms += monitor.Add(v) ? 1 : 0;
  EXPECT_LE(alarms, 40) << "expected at most about 20";
  std::printf("batch-mean CUSUM: %d false alarms in 400,000 correlated frames (target rate 20)\n",
              alarms);

  // The same detector on single frames, standardized as if they were independent, alarms far
  // more often: that is what the batch means are for.
  Cusum naive({0.5, CusumThresholdForRunLength(0.5, 20'000)});
  int naive_alarms = 0;
  for (double v : Correlated(rng, 400'000, 1e18, 0)) naive_alarms += naive.Add(v / 2.29) ? 1 : 0;
  EXPECT_GT(naive_alarms, 5 * std::max(alarms, 1));

  // A shift of two frame standard deviations (2 x 2.29) from frame 10,000 is found within 300
  // frames.
  BatchMeanCusum shifted(*reference, 20'000);
  const auto stream = Correlated(rng, 20'000, 10'000, 2 * 2.29);
  size_t found = 0;
  for (size_t i = 0; i < stream.size() && found == 0; ++i)
    if (shifted.Add(stream[i]) && i >= 10'000) found = i;
  ASSERT_GT(found, 0u);
  EXPECT_LE(found - 10'000, 300u);
  std::printf("a shift of 2 frame sd found %zu frames after onset\n", found - 10'000);
}

TEST(BatchMeanCusum, NeedsEnoughReferenceAndSomeSpread) {
  std::vector<double> few(150, 1.0), flat(1000, 3.0);
  EXPECT_FALSE(FitBatchReference(few, 20).has_value());
  EXPECT_FALSE(FitBatchReference(flat, 20).has_value());
}

TEST(BernoulliCusum, FalseAlarmsAreNoMoreFrequentThanDesignedAndARiseIsFound) {
  std::mt19937_64 rng(21);
  std::bernoulli_distribution usual(0.03), risen(0.3);
  // Designed for one false alarm per 5,000 values at p0 = 0.05 (the rate's upper bound); the
  // stream's true rate is 0.03. 500,000 values: at most 100 false alarms.
  BernoulliCusum in_control(0.05, 0.15, 5000);
  int alarms = 0;
  for (int i = 0; i < 500000; ++i) alarms += in_control.Add(usual(rng));
  EXPECT_LE(alarms, 100);
  BernoulliCusum shifted(0.05, 0.15, 5000);
  int values = 0;
  while (!shifted.Add(risen(rng))) ++values;
  EXPECT_LT(values, 60);
  EXPECT_GT(shifted.last_alarm_run(), 0);
  EXPECT_DOUBLE_EQ(shifted.threshold(), std::log(5000.0));
}

}  // namespace
}  // namespace steadyeye
