// Calibration of a real trained model on real held-back Fashion-MNIST images, including the
// issue's honest check of the certificate over 100 random calibration/check splits.
#include "steadyeye/model/calibrate.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "steadyeye/eval/metrics.h"
#include "steadyeye/model/predict.h"
#include "test_util.h"
#include "tiny_model.h"

namespace steadyeye {
namespace {

// A narrow network trained for 2 epochs on 4,000 training-part images of a 24,000-image slice of
// the train split. Held back: every other image of the slice (the rest of its training part,
// plus its validation and calibration parts), about 20,000 images the model never learned from
// (validation only picked the epoch). Sizes keep the sanitizer build's run near a minute.
class RealCalibration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto all = testing::LoadFashionMnist(Split::kTrain, 24000);
    ASSERT_TRUE(all.ok());
    const TrainingSplits s = SplitForTraining(*all);
    std::vector<size_t> first(4000);
    for (size_t i = 0; i < first.size(); ++i) first[i] = i;
    const Dataset train = s.train.Subset(first);
    std::vector<size_t> rest(s.train.size() - first.size());
    for (size_t i = 0; i < rest.size(); ++i) rest[i] = first.size() + i;
    held_back_ = new Dataset(s.train.Subset(rest));
    for (const Dataset* part : {&s.validation, &s.calibration}) held_back_->Extend(*part);
    const TrainOptions o = testing::SmallStandardOptions(2);
    auto model = TrainClassifier(train, s.validation, FitNormalization(train), o);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    model_ = model->release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete held_back_;
  }
  static Classifier* model_;
  static Dataset* held_back_;
};
Classifier* RealCalibration::model_ = nullptr;
Dataset* RealCalibration::held_back_ = nullptr;

// Over 100 random draws of 4,000 calibration images from the held-back images, the error among
// automatic decisions on all the others (about 16,000: large, so that their own noise adds few
// violations) exceeds alpha in at most about delta of them. alpha = 10% because this small model
// cannot certify 1%; docs/BENCHMARKS.md has the audit at 1% for the default model
// (steadyeye calibrate --audit 100). Then the calibration is stored in a bundle and used.
// One test, so that the sanitizer build trains the model once.
TEST_F(RealCalibration, CertificateHoldsOverOneHundredRandomSplitsAndIsStoredInTheBundle) {
  ASSERT_NE(model_, nullptr);
  const auto logits = DatasetLogits(*model_, *held_back_);
  ASSERT_TRUE(logits.ok());
  const auto audit = AuditCertificate(*logits, held_back_->labels, model_->num_classes(), 0.10,
                                      0.05, 100, 4000, 1);
  ASSERT_TRUE(audit.ok());
  std::printf("audit: %s\n", audit->ToJson().dump().c_str());
  EXPECT_GE(audit->certified, 95);
  EXPECT_LE(audit->violations, 8);  // delta x 100 = 5, plus binomial noise in the count
  EXPECT_LE(audit->mean_error, 0.10);
  EXPECT_GT(audit->mean_coverage, 0.2);

  testing::TempDir dir;
  const auto copy_path = dir / "m.seye";
  ASSERT_TRUE(model_->Save(copy_path).ok());
  auto model = Classifier::Load(copy_path);
  ASSERT_TRUE(model.ok());
  const auto raw = PredictDataset(**model, *held_back_);
  ASSERT_TRUE(raw.ok());
  CalibrateOptions options;
  options.alpha = 0.10;
  options.data_source = "fashion-mnist:held-back";
  const auto c = CalibrateClassifier(**model, *held_back_, options);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->threshold.n,
            held_back_->size() - (held_back_->size() + 4) / Calibration::kTemperatureEvery);
  EXPECT_LE(c->ece_after, c->ece_before + 1e-9);
  ASSERT_TRUE((*model)->Save(copy_path).ok());
  auto loaded = Classifier::Load(copy_path);
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE((*loaded)->card().calibration.has_value());
  EXPECT_EQ((*loaded)->card().calibration->ToJson(), c->ToJson());
  EXPECT_EQ((*loaded)->card().id, model_->card().id);  // same weights, same id
  const auto calibrated = PredictDataset(**loaded, *held_back_);
  ASSERT_TRUE(calibrated.ok());
  const size_t k = model_->num_classes();
  const auto before = ComputeMetrics(*raw, held_back_->labels, k);
  const auto after =
      ComputeMetrics(*calibrated, held_back_->labels, k, (*loaded)->card().calibration);
  EXPECT_EQ(before.accuracy, after.accuracy);  // temperature never changes the top-1 label
  EXPECT_LE(after.nll, before.nll + 1e-6);
  ASSERT_TRUE(after.automatic.has_value());
  EXPECT_GT(after.automatic->coverage, 0.0);
  EXPECT_FALSE(before.automatic.has_value());

  Dataset wrong_classes = *held_back_;
  wrong_classes.class_names[0] = "Hat";
  EXPECT_EQ(CalibrateClassifier(**model, wrong_classes, options).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace steadyeye
