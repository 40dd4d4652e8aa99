// The q-quantile of sorted values, interpolating linearly between neighbours (type 7 of Hyndman
// and Fan, as R and NumPy default to). `sorted` must be non-empty and ascending; q in [0, 1].
#pragma once

#include <cstddef>
#include <span>

namespace steadyeye {

inline double QuantileOfSorted(std::span<const double> sorted, double q) {
  const double pos = q * double(sorted.size() - 1);
  const size_t i = size_t(pos);
  const double frac = pos - double(i);
  return i + 1 < sorted.size() ? sorted[i] * (1 - frac) + sorted[i + 1] * frac : sorted[i];
}

}  // namespace steadyeye
