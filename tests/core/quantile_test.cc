#include "steadyeye/core/quantile.h"

#include <gtest/gtest.h>

#include <vector>

namespace steadyeye {
namespace {

TEST(Quantile, InterpolatesBetweenNeighboursAndReachesTheEnds) {
  const std::vector<double> sorted = {1, 2, 4, 8};
  EXPECT_DOUBLE_EQ(QuantileOfSorted(sorted, 0), 1);
  EXPECT_DOUBLE_EQ(QuantileOfSorted(sorted, 0.5), 3);
  EXPECT_DOUBLE_EQ(QuantileOfSorted(sorted, 1), 8);
  EXPECT_DOUBLE_EQ(QuantileOfSorted(std::vector<double>{5}, 0.3), 5);
}

TEST(Quantile, TheMedianAbsoluteDeviationIgnoresAFewFarValues) {
  // Deviations from 10: 0, 1, 1, 2, 2, 90, 990: their median is 2, however far the last two go.
  const std::vector<double> values = {10, 11, 9, 12, 8, 100, 1000};
  EXPECT_DOUBLE_EQ(MedianAbsoluteDeviation(values, 10), 2);
  EXPECT_DOUBLE_EQ(MedianAbsoluteDeviation(std::vector<double>{3, 3, 3}, 3), 0);
}

}  // namespace
}  // namespace steadyeye
