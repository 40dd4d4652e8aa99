#include "steadyeye/quality/quality.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "fashion_mnist.h"
#include "steadyeye/core/file.h"
#include "steadyeye/shift/shift.h"
#include "test_util.h"

namespace steadyeye {
namespace {

class QualityGate : public ::testing::Test {
 protected:
  // A baseline from 3,000 Fashion-MNIST train images, judged on test images.
  static void SetUpTestSuite() {
    const auto train = testing::LoadFashionMnist(Split::kTrain, 3000);
    ASSERT_TRUE(train.ok());
    std::vector<Image> reference;
    for (size_t i = 0; i < train->size(); ++i) reference.push_back(train->image(i));
    auto baseline = BuildBaseline(reference);
    ASSERT_TRUE(baseline.ok()) << baseline.status().ToString();
    baseline_ = new QualityBaseline(std::move(*baseline));
    test_ = new Dataset(*testing::LoadFashionMnist(Split::kTest, 500));
  }
  static void TearDownTestSuite() {
    delete baseline_;
    delete test_;
  }

  // Share of test images flagged under `condition` (empty: clean), and how often each metric
  // was the likeliest cause.
  static double FlaggedShare(const std::string& condition, int severity,
                             std::map<QualityMetric, int>* first_cause = nullptr) {
    size_t flagged = 0;
    for (size_t i = 0; i < test_->size(); ++i) {
      Image image = test_->image(i);
      if (!condition.empty()) image = *ApplyCondition(image, condition, severity, i);
      const auto a = AssessQuality(image, baseline_);
      EXPECT_TRUE(a.ok());
      if (a->pass()) continue;
      ++flagged;
      if (first_cause) ++(*first_cause)[a->flags[0].metric];
    }
    return double(flagged) / double(test_->size());
  }

  static QualityBaseline* baseline_;
  static Dataset* test_;
};
QualityBaseline* QualityGate::baseline_ = nullptr;
Dataset* QualityGate::test_ = nullptr;

TEST_F(QualityGate, CleanImagesPass) { EXPECT_LE(FlaggedShare("", 0), 0.02); }

TEST_F(QualityGate, DarkBlurredAndVeiledImagesAreFlaggedWithTheirCause) {
  std::map<QualityMetric, int> dark, blurred, veiled;
  EXPECT_GE(FlaggedShare("underexposure", 3, &dark), 0.9);
  EXPECT_GE(FlaggedShare("defocus", 3, &blurred), 0.9);
  EXPECT_GE(FlaggedShare("haze", 3, &veiled), 0.9);
  EXPECT_GT(dark[QualityMetric::kPeak] + dark[QualityMetric::kBrightness], 450);
  EXPECT_GT(blurred[QualityMetric::kFineDetail], 250);
  // Haze both veils and softens: either is a fair first cause.
  EXPECT_GT(veiled[QualityMetric::kFloor] + veiled[QualityMetric::kContrast] +
                veiled[QualityMetric::kFineDetail],
            250);
}

TEST_F(QualityGate, CauseIsWrittenInWords) {
  const Image dark = *ApplyCondition(test_->image(0), "underexposure", 4, 1);
  const auto a = AssessQuality(dark, baseline_);
  ASSERT_TRUE(a.ok());
  ASSERT_FALSE(a->pass());
  EXPECT_NE(a->flags[0].cause.find("too dark"), std::string::npos) << a->flags[0].cause;
  EXPECT_NE(a->flags[0].cause.find("of site baseline"), std::string::npos);
  const auto json = a->ToJson();
  EXPECT_EQ(json["verdict"], "flag");
  EXPECT_TRUE(json["metrics"].contains("sharpness"));
  EXPECT_EQ(json["flags"][0]["cause"], a->flags[0].cause);
}

TEST_F(QualityGate, DisplacementIsMeasuredAgainstTheReference) {
  Image image = test_->image(3);
  Image moved(image.width, image.height, 1);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) moved.at(x, y) = image.at(std::max(0, x - 5), y);
  const auto here = MeasureQuality(image, baseline_), there = MeasureQuality(moved, baseline_);
  ASSERT_TRUE(here.ok() && there.ok());
  const size_t d = size_t(QualityMetric::kDisplacement);
  EXPECT_GT((*there)[d], (*here)[d] + 2.0 / 28);
}

TEST_F(QualityGate, WithoutBaselineOnlyMetrics) {
  const auto a = AssessQuality(test_->image(0), nullptr);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->judged);
  EXPECT_EQ(a->ToJson()["verdict"], "unjudged");
}

TEST_F(QualityGate, BaselineSurvivesAFileRoundTrip) {
  testing::TempDir dir;
  const auto path = dir / "site.json";
  ASSERT_TRUE(SaveBaseline(*baseline_, path).ok());
  const auto loaded = LoadBaseline(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->n, 3000u);
  const auto a = AssessQuality(test_->image(5), baseline_),
             b = AssessQuality(test_->image(5), &*loaded);
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t m = 0; m < kNumQualityMetrics; ++m) EXPECT_NEAR(a->values[m], b->values[m], 1e-5);
  EXPECT_EQ(a->pass(), b->pass());
}

// Limits learned under other metric definitions would judge numbers that mean something else.
TEST_F(QualityGate, ABaselineLearnedWithOtherMetricDefinitionsIsRefused) {
  nlohmann::json json = baseline_->ToJson();
  EXPECT_EQ(json["metrics_version"], kQualityMetricsVersion);
  json["metrics_version"] = kQualityMetricsVersion + 1;
  const auto newer = QualityBaseline::FromJson(json);
  EXPECT_EQ(newer.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(newer.status().message().find(
                fmt::format("learned with quality metrics version {}", kQualityMetricsVersion + 1)),
            std::string::npos)
      << newer.status().ToString();
  EXPECT_NE(newer.status().message().find("learn it again"), std::string::npos);

  // Baselines saved before the field existed were learned with the first definitions.
  json.erase("metrics_version");
  const auto unversioned = QualityBaseline::FromJson(json);
  EXPECT_EQ(unversioned.ok(), kQualityMetricsVersion == 1) << unversioned.status().ToString();
}

TEST(QualityBaselineErrors, SpecificErrors) {
  testing::TempDir dir;
  std::vector<Image> few(5, Image(8, 8, 1));
  EXPECT_NE(BuildBaseline(few).status().message().find("at least 20 reference images"),
            std::string::npos);
  EXPECT_EQ(MeasureQuality(Image()).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(WriteFileAtomic(dir / "bad.json", std::string("{not json")).ok());
  EXPECT_NE(LoadBaseline(dir / "bad.json").status().message().find("not valid JSON"),
            std::string::npos);
  ASSERT_TRUE(WriteFileAtomic(dir / "other.json", std::string("{\"format\": \"x\"}")).ok());
  EXPECT_NE(
      LoadBaseline(dir / "other.json").status().message().find("not a steadyeye quality baseline"),
      std::string::npos);
  EXPECT_EQ(LoadBaseline(dir / "missing.json").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace steadyeye
