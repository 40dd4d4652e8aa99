#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "steadyeye/calib/calibration.h"

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
  EXPECT_EQ(CertifyThreshold(confidence, correct, 0.0, 0.05).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CertifyThreshold(confidence, std::vector<uint8_t>(3), 0.01, 0.05).status().code(),
            StatusCode::kInvalidArgument);
  const auto json = c->ToJson();
  EXPECT_EQ(json["certified"], false);
  EXPECT_EQ(json["n"], 1000);
}

// Logits of an overconfident classifier: labels drawn at temperature 2, logits given at 1.
struct SyntheticLogits {
  std::vector<float> logits;
  std::vector<int> labels;
  size_t k = 4;
};
SyntheticLogits OverconfidentLogits(size_t n, uint64_t seed) {
  SyntheticLogits s;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 4);
  s.logits.resize(n * s.k);
  s.labels.resize(n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < s.k; ++j) s.logits[i * s.k + j] = float(normal(rng));
    const auto p =
        TemperedSoftmax(std::span<const float>(s.logits.data() + i * s.k, s.k), s.k, 2.0);
    std::discrete_distribution<int> draw(p.begin(), p.end());
    s.labels[i] = draw(rng);
  }
  return s;
}

TEST(FitCalibration, FitsOnOneFifthCertifiesOnTheRestAndImprovesCalibration) {
  const auto s = OverconfidentLogits(10000, 5);
  const auto c = FitCalibration(s.logits, s.labels, s.k, 0.05, 0.05);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->n_temperature, 2000u);
  EXPECT_EQ(c->threshold.n, 8000u);
  EXPECT_NEAR(c->temperature, 2.0, 0.2);
  EXPECT_LT(c->ece_after, c->ece_before / 2);
  EXPECT_LT(c->nll_after, c->nll_before);
  ASSERT_TRUE(c->threshold.certified);
  EXPECT_LE(c->threshold.error_upper_bound, 0.05);
  EXPECT_TRUE(c->DecidesAutomatically(float(c->threshold.threshold)));
  EXPECT_FALSE(c->DecidesAutomatically(float(c->threshold.threshold) - 0.01f));

  // Automatic decisions on the certifying images reproduce the certificate's own counts.
  std::vector<float> rows;
  std::vector<int> labels;
  for (size_t i = 0; i < s.labels.size(); ++i) {
    if (i % Calibration::kTemperatureEvery == 0) continue;
    rows.insert(rows.end(), s.logits.begin() + i * s.k, s.logits.begin() + (i + 1) * s.k);
    labels.push_back(s.labels[i]);
  }
  const auto d =
      MeasureAutomaticDecisions(TemperedSoftmax(rows, s.k, c->temperature), labels, s.k, *c);
  EXPECT_EQ(d.decided, c->threshold.accepted);
  EXPECT_EQ(d.errors, c->threshold.errors);
  EXPECT_NEAR(d.coverage, c->threshold.coverage, 1e-12);

  EXPECT_EQ(FitCalibration(std::span<const float>(s.logits).first(9 * s.k),
                           std::span<const int>(s.labels).first(9), s.k, 0.05, 0.05)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(FitCalibration(s.logits, s.labels, s.k, 1.5, 0.05).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Calibration, RoundTripsThroughJsonAndRefusesBrokenJson) {
  const auto s = OverconfidentLogits(3000, 6);
  auto c = FitCalibration(s.logits, s.labels, s.k, 0.05, 0.05);
  ASSERT_TRUE(c.ok());
  c->data = "fashion-mnist:calib";
  const auto back = Calibration::FromJson(c->ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), c->ToJson());
  auto broken = c->ToJson();
  broken["temperature"] = -1;
  EXPECT_EQ(Calibration::FromJson(broken).status().code(), StatusCode::kInvalidArgument);
  broken = c->ToJson();
  broken["threshold"].erase("alpha");
  const auto missing = Calibration::FromJson(broken);
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("alpha"), std::string::npos);
  EXPECT_EQ(Calibration::FromJson(nlohmann::json{{"temperature", "warm"}}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ShiftCertificate, TheLargestThresholdHoldsForAllAndOneUncertifiedConditionVoidsIt) {
  auto threshold = [](bool certified, double t) {
    CertifiedThreshold c;
    c.alpha = 0.01;
    c.delta = 0.05;
    c.n = 1000;
    c.certified = certified;
    c.threshold = t;
    return c;
  };
  const auto both = CombineShiftThresholds(
      {{"glare", threshold(true, 0.93)}, {"dust", threshold(true, 0.97)}}, 9);
  EXPECT_TRUE(both.certified);
  EXPECT_DOUBLE_EQ(both.threshold, 0.97);
  EXPECT_EQ(both.worst_condition, "dust");
  EXPECT_EQ(both.seed, 9u);
  const auto one_fails = CombineShiftThresholds(
      {{"glare", threshold(true, 0.93)}, {"night", threshold(false, 1.0)}}, 9);
  EXPECT_FALSE(one_fails.certified);
  EXPECT_EQ(one_fails.worst_condition, "night");
  EXPECT_FALSE(CombineShiftThresholds({}, 1).certified);

  // Within a calibration: tightening needs both certificates, and decides only above both.
  Calibration c;
  c.threshold = threshold(true, 0.9);
  EXPECT_FALSE(c.CanTighten());
  EXPECT_FALSE(c.ToJson().contains("shift"));  // models calibrated before keep their version
  c.shift = both;
  EXPECT_TRUE(c.CanTighten());
  EXPECT_TRUE(c.DecidesAutomatically(0.95f));
  EXPECT_FALSE(c.DecidesAutomaticallyUnderShift(0.95f));
  EXPECT_TRUE(c.DecidesAutomaticallyUnderShift(0.975f));
  c.shift = one_fails;
  EXPECT_FALSE(c.CanTighten());
  EXPECT_FALSE(c.DecidesAutomaticallyUnderShift(0.999f));

  c.shift = both;
  const auto back = Calibration::FromJson(c.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), c.ToJson());
  ASSERT_TRUE(back->shift.has_value());
  EXPECT_EQ(back->shift->per_condition.size(), 2u);
  auto broken = c.ToJson();
  broken["shift"]["per_condition"]["dust"].erase("delta");
  const auto bad = Calibration::FromJson(broken);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("dust"), std::string::npos) << bad.status().ToString();
}

TEST(Calibration, UncalibratedOrUncertifiedDecidesNothing) {
  Calibration c;
  EXPECT_FALSE(c.DecidesAutomatically(1.0f));
  const std::vector<float> probs = {0.9f, 0.1f, 0.2f, 0.8f};
  const std::vector<int> labels = {0, 0};
  const auto d = MeasureAutomaticDecisions(probs, labels, 2, c);
  EXPECT_EQ(d.decided, 0u);
  EXPECT_EQ(d.coverage, 0.0);
  c.threshold.certified = true;
  c.threshold.threshold = 0.85;
  const auto e = MeasureAutomaticDecisions(probs, labels, 2, c);
  EXPECT_EQ(e.decided, 1u);
  EXPECT_EQ(e.errors, 0u);
  EXPECT_DOUBLE_EQ(e.coverage, 0.5);
}

TEST(AuditCertificate, CountsViolationsOnCheckHalves) {
  const auto s = OverconfidentLogits(8000, 7);
  const auto audit = AuditCertificate(s.logits, s.labels, s.k, 0.1, 0.05, 40, 3000, 1);
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->draws, 40);
  EXPECT_EQ(audit->check_size, 5000u);
  EXPECT_EQ(audit->certified, 40);
  EXPECT_LE(audit->violations, 5);
  EXPECT_GT(audit->mean_coverage, 0.1);
  EXPECT_LE(audit->mean_error, 0.1);
  EXPECT_EQ(audit->ToJson()["draws"], 40);
  EXPECT_EQ(AuditCertificate(s.logits, s.labels, s.k, 0.1, 0.05, 0, 0, 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(AuditCertificate(s.logits, s.labels, s.k, 0.1, 0.05, 10, 8000, 1).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace steadyeye

namespace steadyeye {
namespace {

TEST(Atc, TheShareAboveTheThresholdIsTheAccuracyAndTheCardKeepsIt) {
  const std::vector<float> confidence = {0.6f, 0.95f, 0.7f, 0.8f, 0.9f};
  const std::vector<uint8_t> correct = {0, 1, 1, 0, 1};  // 3 of 5 right
  const double t = AtcThreshold(confidence, correct);
  EXPECT_FLOAT_EQ(float(t), 0.8f);
  EXPECT_EQ(std::count_if(confidence.begin(), confidence.end(), [&](float c) { return c >= t; }),
            3);
  EXPECT_EQ(AtcThreshold(confidence, std::vector<uint8_t>(5, 0)), 1.0);
  Calibration c;
  c.atc_threshold = t;
  auto back = Calibration::FromJson(c.ToJson());
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->atc_threshold.has_value());
  EXPECT_DOUBLE_EQ(*back->atc_threshold, t);
  nlohmann::json old = c.ToJson();
  old.erase("atc_threshold");  // a card calibrated before ATC
  EXPECT_FALSE(Calibration::FromJson(old)->atc_threshold.has_value());
}

}  // namespace
}  // namespace steadyeye
