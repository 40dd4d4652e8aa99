#include "steadyeye/model/adapt.h"

#include <gtest/gtest.h>

#include "steadyeye/eval/robustness.h"
#include "steadyeye/model/predict.h"
#include "tiny_model.h"

namespace steadyeye {
namespace {

double Accuracy(const Classifier& model, const Dataset& data) {
  const auto probs = PredictDataset(model, data);
  EXPECT_TRUE(probs.ok());
  const size_t k = model.num_classes();
  size_t right = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    const float* p = &(*probs)[i * k];
    right += size_t(std::max_element(p, p + k) - p) == size_t(data.labels[i]);
  }
  return double(right) / double(data.size());
}

// A small model trained on clean images (no production views): adapting its BatchNorm
// statistics on unlabelled shifted images from the train split's held-back part must recover
// accuracy on shifted test images, which are used for evaluation only.
TEST(AdaptBatchNorm, RecoversAccuracyUnderShiftWithoutLabels) {
  auto all = testing::LoadFashionMnist(Split::kTrain, 8000);
  ASSERT_TRUE(all.ok());
  const TrainingSplits s = SplitForTraining(*all);
  const TrainOptions o = testing::SmallStandardOptions(2);
  auto model = TrainClassifier(s.train, s.validation, FitNormalization(s.train), o);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  // A calibration with a shift certificate: it was measured on the old weights, so the adapted
  // model must not keep it (its drifts suspend rather than tighten).
  Calibration calibration;
  calibration.threshold.certified = true;
  calibration.threshold.threshold = 0.9;
  calibration.shift = CombineShiftThresholds({{"glare", calibration.threshold}}, 1);
  (*model)->SetCalibration(calibration);
  auto test = testing::LoadFashionMnist(Split::kTest, 1000);
  ASSERT_TRUE(test.ok());
  // Conditions that move the image statistics the BatchNorm layers normalise. (Noise barely
  // moves them: adaptation neither helps nor hurts it much, and it is not asserted.)
  for (const auto& [condition, severity] :
       std::vector<std::pair<std::string, int>>{{"underexposure", 4}, {"glare", 3}, {"dust", 3}}) {
    SCOPED_TRACE(condition);
    const Dataset site = *CorruptDataset(s.calibration, condition, severity, 1);
    const Dataset judged = *CorruptDataset(*test, condition, severity, 2);
    AdaptOptions a;
    a.site = "plant";
    auto adapted = AdaptBatchNorm(**model, site, a);
    ASSERT_TRUE(adapted.ok()) << adapted.status().ToString();
    const double before = Accuracy(**model, judged), after = Accuracy(**adapted, judged);
    EXPECT_GE(after, before + 0.1) << before << " -> " << after;
    // A new version of the model, whose card says where it came from.
    const ModelCard& card = (*adapted)->card();
    EXPECT_NE(card.id, (*model)->card().id);
    EXPECT_EQ(card.parent_id, (*model)->card().Version());
    EXPECT_EQ(card.training_data["adaptation"]["images"], site.size());
    EXPECT_EQ(card.training_data["adaptation"]["site"], "plant");
    ASSERT_TRUE(card.calibration.has_value());
    EXPECT_FALSE(card.calibration->shift.has_value());
    // The same images give the same model.
    EXPECT_EQ((*AdaptBatchNorm(**model, site, a))->card().id, card.id);
  }
  EXPECT_EQ(AdaptBatchNorm(**model, test->Subset(std::vector<size_t>{0}), {}).status().code(),
            StatusCode::kInvalidArgument);
  Dataset wrong = *test;
  wrong.width = 14;
  EXPECT_EQ(AdaptBatchNorm(**model, wrong, {}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace steadyeye
