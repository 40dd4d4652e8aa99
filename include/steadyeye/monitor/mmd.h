// Two-sample test of the maximum mean discrepancy (MMD; Gretton, Borgwardt, Rasch, Schoelkopf
// and Smola, "A Kernel Two-Sample Test", JMLR 13, 2012) with a Gaussian kernel, for comparing
// a window of a model's embeddings with a sample of the reference period's.
//
// The statistic is the biased (V-statistic) estimate of MMD^2. Its null distribution comes from
// permutations of the pooled sample; with a few dozen permutations the exact p-value could not
// go below 1 / (permutations + 1), so the permutation distribution's mean and variance are
// matched to a Gamma distribution (as Gretton et al. 2012 suggest for MMD^2), whose tail is
// turned into a standard normal value by the Wilson-Hilferty cube-root transform: z is about
// N(0, 1) when both samples come from one distribution and grows with the discrepancy. We
// write this ourselves because it is a few dozen lines on data already in memory, and no
// library of our stack has a kernel two-sample test.
//
// Thread-safe: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace steadyeye {

struct MmdResult {
  double mmd2 = 0;     // biased estimate of MMD^2
  double z = 0;        // standard normal under the null (Gamma fit + Wilson-Hilferty)
  double p_value = 1;  // from the permutations themselves: (1 + #{perm >= mmd2}) / (perms + 1)
};

// `x` holds n points and `y` m points of `dim` floats each, row-major (n, m >= 2).
// `bandwidth` is the Gaussian kernel's sigma: k(a, b) = exp(-|a - b|^2 / (2 sigma^2)).
// The permutations are drawn from `seed`, so a result is reproducible.
MmdResult MmdPermutationTest(std::span<const float> x, std::span<const float> y, size_t dim,
                             double bandwidth, size_t permutations, uint64_t seed);

// The median heuristic: the median distance between pairs of the points (at most the first
// `max_points` of them), a usual kernel width. 1 when all points coincide.
double MedianPairwiseDistance(std::span<const float> points, size_t dim, size_t max_points = 200);

}  // namespace steadyeye
