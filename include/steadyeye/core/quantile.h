// Order statistics of a sample: pure functions, safe from any thread.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

namespace steadyeye {

// The q-quantile of sorted values, interpolating linearly between neighbours (type 7 of Hyndman
// and Fan, as R and NumPy default to). `sorted` must be non-empty and ascending; q in [0, 1].
inline double QuantileOfSorted(std::span<const double> sorted, double q) {
  const double pos = q * double(sorted.size() - 1);
  const size_t i = size_t(pos);
  const double frac = pos - double(i);
  return i + 1 < sorted.size() ? sorted[i] * (1 - frac) + sorted[i + 1] * frac : sorted[i];
}

// The median of |v - centre| over `values` (any order, non-empty): the median absolute deviation
// when `centre` is their median. Times 1.4826 it estimates a normal spread, unmoved by outliers.
inline double MedianAbsoluteDeviation(std::span<const double> values, double centre) {
  std::vector<double> deviations(values.size());
  std::transform(values.begin(), values.end(), deviations.begin(),
                 [centre](double v) { return std::abs(v - centre); });
  std::sort(deviations.begin(), deviations.end());
  return QuantileOfSorted(deviations, 0.5);
}

}  // namespace steadyeye
