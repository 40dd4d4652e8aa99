#include "steadyeye/monitor/mmd.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace steadyeye {
namespace {

std::vector<float> Gaussian(size_t n, size_t dim, double mean, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(mean, 1.0);
  std::vector<float> out(n * dim);
  for (float& v : out) v = float(normal(rng));
  return out;
}

TEST(Mmd, UnderTheNullZIsAboutStandardNormal) {
  // 300 tests of two samples of one distribution: z's mean and spread should be those of
  // N(0, 1), and a z above 3.1 (one-sided 0.1%) should be rare.
  const size_t dim = 16, tests = 300;
  double sum = 0, sum_sq = 0;
  int above = 0;
  for (size_t t = 0; t < tests; ++t) {
    const auto x = Gaussian(50, dim, 0, 2 * t + 1), y = Gaussian(100, dim, 0, 2 * t + 2);
    const double bandwidth = MedianPairwiseDistance(y, dim);
    const MmdResult r = MmdPermutationTest(x, y, dim, bandwidth, 50, t);
    EXPECT_GE(r.p_value, 1.0 / 51);
    EXPECT_LE(r.p_value, 1.0);
    sum += r.z;
    sum_sq += r.z * r.z;
    above += r.z > 3.1;
  }
  const double mean = sum / tests, sd = std::sqrt(sum_sq / tests - mean * mean);
  EXPECT_NEAR(mean, 0, 0.2);
  EXPECT_NEAR(sd, 1, 0.25);
  EXPECT_LE(above, 3);
}

TEST(Mmd, AShiftedSampleGivesALargeZAndTheSmallestPValue) {
  const size_t dim = 16;
  const auto x = Gaussian(50, dim, 0.6, 1), y = Gaussian(100, dim, 0, 2);
  const MmdResult r = MmdPermutationTest(x, y, dim, MedianPairwiseDistance(y, dim), 50, 9);
  EXPECT_GT(r.mmd2, 0);
  EXPECT_GT(r.z, 6);
  EXPECT_DOUBLE_EQ(r.p_value, 1.0 / 51);
}

TEST(Mmd, TheSameSeedGivesTheSameResult) {
  const size_t dim = 4;
  const auto x = Gaussian(20, dim, 0.2, 3), y = Gaussian(30, dim, 0, 4);
  const MmdResult a = MmdPermutationTest(x, y, dim, 2.0, 40, 5);
  const MmdResult b = MmdPermutationTest(x, y, dim, 2.0, 40, 5);
  EXPECT_EQ(a.z, b.z);
  EXPECT_EQ(a.p_value, b.p_value);
}

TEST(Mmd, MedianDistanceOfCoincidentPointsIsOne) {
  EXPECT_EQ(MedianPairwiseDistance(std::vector<float>(40, 0.5f), 4), 1.0);
  // Two points at distance 5.
  EXPECT_DOUBLE_EQ(MedianPairwiseDistance(std::vector<float>{0, 0, 3, 4}, 2), 5.0);
}

}  // namespace
}  // namespace steadyeye
