#include "steadyeye/eval/metrics.h"

#include <gtest/gtest.h>

namespace steadyeye {
namespace {

TEST(Metrics, AccuracyConfusionNllByHand) {
  // 3 images, 2 classes.
  const std::vector<float> probs = {0.9f, 0.1f,   // true 0, right
                                    0.3f, 0.7f,   // true 0, wrong
                                    0.2f, 0.8f};  // true 1, right
  const std::vector<int> labels = {0, 0, 1};
  const auto m = ComputeMetrics(probs, labels, 2);
  EXPECT_EQ(m.n, 3u);
  EXPECT_DOUBLE_EQ(m.accuracy, 2.0 / 3);
  EXPECT_EQ(m.confusion[0][0], 1u);
  EXPECT_EQ(m.confusion[0][1], 1u);
  EXPECT_EQ(m.confusion[1][1], 1u);
  EXPECT_DOUBLE_EQ(m.per_class_accuracy[0], 0.5);
  EXPECT_DOUBLE_EQ(m.per_class_accuracy[1], 1.0);
  EXPECT_NEAR(m.nll, -(std::log(0.9) + std::log(0.3) + std::log(0.8)) / 3, 1e-6);
}

TEST(Metrics, EceOfPerfectlyCalibratedAndOverconfidentModels) {
  // Ten images at confidence 0.8, eight right: calibrated, ECE 0.
  std::vector<float> probs;
  std::vector<int> labels;
  for (int i = 0; i < 10; ++i) {
    probs.insert(probs.end(), {0.8f, 0.2f});
    labels.push_back(i < 8 ? 0 : 1);
  }
  EXPECT_NEAR(ExpectedCalibrationError(probs, labels, 2), 0.0, 1e-6);
  // Same confidence, only half right: ECE |0.5 - 0.8| = 0.3.
  for (int i = 0; i < 10; ++i) labels[i] = i < 5 ? 0 : 1;
  EXPECT_NEAR(ExpectedCalibrationError(probs, labels, 2), 0.3, 1e-6);
}

}  // namespace
}  // namespace steadyeye
