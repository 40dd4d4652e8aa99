#include "steadyeye/calib/calibration.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace steadyeye {
namespace {

TEST(ClopperPearson, MatchesClosedFormsAndKnownValues) {
  // Zero errors: P(X = 0) = (1 - p)^n = delta.
  EXPECT_NEAR(ClopperPearsonUpper(0, 299, 0.05), 1 - std::pow(0.05, 1.0 / 299), 1e-9);
  EXPECT_NEAR(ClopperPearsonUpper(0, 10, 0.05), 1 - std::pow(0.05, 0.1), 1e-9);
  // 5 errors in 100 at 95%: the exact one-sided upper bound is 0.1023 (beta quantile).
  EXPECT_NEAR(ClopperPearsonUpper(5, 100, 0.05), 0.1023, 5e-4);
  EXPECT_EQ(ClopperPearsonUpper(0, 0, 0.05), 1.0);
  EXPECT_GT(ClopperPearsonUpper(50, 1000, 0.05), 0.05);
  EXPECT_LT(ClopperPearsonUpper(50, 1000, 0.05), 0.065);
}

// Logits whose true class probability under temperature 2 is what generated the labels: the
// fitted temperature must come back near 2.
TEST(Temperature, RecoversTheTemperatureThatGeneratedTheLabels) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal(0, 3);
  const size_t n = 20000, k = 4;
  std::vector<float> logits(n * k);
  std::vector<int> labels(n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < k; ++j) logits[i * k + j] = float(normal(rng));
    const auto p = TemperedSoftmax(std::span<const float>(logits.data() + i * k, k), k, 2.0);
    std::discrete_distribution<int> draw(p.begin(), p.end());
    labels[i] = draw(rng);
  }
  const auto t = FitTemperature(logits, labels, k);
  ASSERT_TRUE(t.ok());
  EXPECT_NEAR(*t, 2.0, 0.1);
  EXPECT_LT(TemperedNll(logits, labels, k, *t), TemperedNll(logits, labels, k, 1.0));
  const std::vector<int> bad_labels(n, 7);
  EXPECT_EQ(FitTemperature(logits, bad_labels, k).status().code(), StatusCode::kInvalidArgument);
}

// Synthetic calibrated scores shaped like a classifier's (most confidences near 1):
// c = 1 - u^3 / 2 with u ~ U(0, 1), correct with probability c. Then the true error among images
// with c >= t is exactly (1 - t) / 4 and their share is (2 (1 - t))^(1/3). Over 100 draws the
// certified threshold's true error may exceed alpha in at most a delta share of them.
TEST(CertifyThreshold, GuaranteeHoldsOverRepeatedDraws) {
  const double alpha = 0.02, delta = 0.05;
  auto true_error = [](double t) { return (1 - t) / 4; };
  int violations = 0, certified = 0;
  double coverage_sum = 0;
  for (int draw = 0; draw < 100; ++draw) {
    std::mt19937_64 rng(100 + draw);
    std::uniform_real_distribution<double> unit(0, 1);
    const size_t n = 5000;
    std::vector<float> confidence(n);
    std::vector<uint8_t> correct(n);
    for (size_t i = 0; i < n; ++i) {
      const double u = unit(rng);
      confidence[i] = float(1 - u * u * u / 2);
      correct[i] = unit(rng) < confidence[i];
    }
    const auto c = CertifyThreshold(confidence, correct, alpha, delta);
    ASSERT_TRUE(c.ok());
    if (!c->certified) continue;
    ++certified;
    EXPECT_LE(c->error_upper_bound, alpha);
    violations += true_error(c->threshold) > alpha;
    coverage_sum += c->coverage;
  }
  EXPECT_GE(certified, 95);
  EXPECT_LE(violations, 5);  // delta = 5% of 100 draws
  // The best possible threshold is 0.92 (true error exactly alpha), covering 54% of images; the
  // certificate costs some of that.
  const double coverage = coverage_sum / std::max(1, certified);
  EXPECT_GT(coverage, 0.35);
  EXPECT_LT(coverage, 0.543);
}

TEST(CertifyThreshold, UncertifiableDataDecidesNothingAndBadInputIsRefused) {
  std::vector<float> confidence(1000, 0.99f);
  std::vector<uint8_t> correct(1000, 0);
  for (size_t i = 0; i < 1000; i += 2) correct[i] = 1;  // 50% wrong at any threshold
  const auto c = CertifyThreshold(confidence, correct, 0.01, 0.05);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->certified);
  EXPECT_EQ(c->accepted, 0u);
  EXPECT_EQ(c->coverage, 0.0);
  EXPECT_EQ(CertifyThreshold(confidence, correct, 0.0, 0.05).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CertifyThreshold(confidence, std::vector<uint8_t>(3), 0.01, 0.05).status().code(),
            StatusCode::kInvalidArgument);
  const auto json = c->ToJson();
  EXPECT_EQ(json["certified"], false);
  EXPECT_EQ(json["n"], 1000);
}

}  // namespace
}  // namespace steadyeye
