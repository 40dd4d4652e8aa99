#include "steadyeye/monitor/mmd.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

namespace steadyeye {

namespace {

double SquaredDistance(const float* a, const float* b, size_t dim) {
  double d = 0;
  for (size_t i = 0; i < dim; ++i) {
    const double diff = double(a[i]) - double(b[i]);
    d += diff * diff;
  }
  return d;
}

// MMD^2 (biased) of a split of the pooled points: w' K w, with w_i = 1/nx for a point of the
// first sample and -1/ny for one of the second (the three block means in one pass, branch-free).
double SplitMmd2(const std::vector<double>& k, const std::vector<double>& w) {
  const size_t n = w.size();
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    const double* row = &k[i * n];
    double s = 0;
    for (size_t j = 0; j < n; ++j) s += row[j] * w[j];
    total += w[i] * s;
  }
  return total;
}

// Wilson-Hilferty: a Gamma variate with the given mean and variance, as a standard normal.
double GammaToNormal(double value, double mean, double variance) {
  if (!(mean > 0) || !(variance > 0)) return value > mean ? 10.0 : 0.0;
  const double nu = 2 * mean * mean / variance;  // as a chi-square's degrees of freedom
  const double v = 2 / (9 * nu);
  return (std::cbrt(std::max(value, 0.0) / mean) - (1 - v)) / std::sqrt(v);
}

}  // namespace

MmdResult MmdPermutationTest(std::span<const float> x, std::span<const float> y, size_t dim,
                             double bandwidth, size_t permutations, uint64_t seed) {
  const size_t nx = x.size() / dim, ny = y.size() / dim, n = nx + ny;
  std::vector<const float*> points;
  for (size_t i = 0; i < nx; ++i) points.push_back(x.data() + i * dim);
  for (size_t i = 0; i < ny; ++i) points.push_back(y.data() + i * dim);
  const double gamma = 1 / (2 * bandwidth * bandwidth);
  std::vector<double> k(n * n, 1.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      k[i * n + j] = k[j * n + i] = std::exp(-gamma * SquaredDistance(points[i], points[j], dim));
    }
  }
  std::vector<double> w(n, -1.0 / double(ny));
  std::fill(w.begin(), w.begin() + nx, 1.0 / double(nx));
  MmdResult r;
  r.mmd2 = SplitMmd2(k, w);
  std::mt19937_64 rng(seed);
  double sum = 0, sum_sq = 0;
  size_t at_least = 0;
  for (size_t p = 0; p < permutations; ++p) {
    // Fisher-Yates with our own draws: std::shuffle's order is not fixed by the standard.
    for (size_t i = n - 1; i > 0; --i) std::swap(w[i], w[rng() % (i + 1)]);
    const double s = SplitMmd2(k, w);
    sum += s;
    sum_sq += s * s;
    if (s >= r.mmd2) ++at_least;
  }
  r.p_value = double(1 + at_least) / double(permutations + 1);
  if (permutations >= 2) {
    const double mean = sum / double(permutations);
    const double variance =
        (sum_sq - double(permutations) * mean * mean) / double(permutations - 1);
    r.z = GammaToNormal(r.mmd2, mean, variance);
  }
  return r;
}

double MedianPairwiseDistance(std::span<const float> points, size_t dim, size_t max_points) {
  const size_t n = std::min(points.size() / dim, max_points);
  std::vector<double> d;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j)
      d.push_back(std::sqrt(SquaredDistance(&points[i * dim], &points[j * dim], dim)));
  if (d.empty()) return 1;
  std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
  const double median = d[d.size() / 2];
  return median > 0 ? median : 1;
}

}  // namespace steadyeye
