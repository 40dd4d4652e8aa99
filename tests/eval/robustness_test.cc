#include "steadyeye/eval/robustness.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "model/tiny_model.h"
#include "steadyeye/model/predict.h"
#include "steadyeye/shift/shift.h"

namespace steadyeye {
namespace {

TEST(SelectConditions, NamedSetsAndLists) {
  EXPECT_EQ(SelectConditions("all")->size(), AllConditions().size());
  EXPECT_EQ(*SelectConditions("heldout"), ConditionNames(true));
  EXPECT_EQ(*SelectConditions("anticipated"), ConditionNames(false));
  // Suite order, duplicates dropped.
  EXPECT_EQ(*SelectConditions("jpeg, underexposure,jpeg"),
            (std::vector<std::string>{"underexposure", "jpeg"}));
  const auto unknown = SelectConditions("jpeg,fog");
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("unknown condition 'fog'"), std::string::npos);
  EXPECT_EQ(SelectConditions(" , ").status().code(), StatusCode::kInvalidArgument);
}

TEST(CorruptDataset, EachImageDependsOnlyOnItsIndexAndTheSeed) {
  const auto data = testing::LoadFashionMnist(Split::kTest, 50);
  ASSERT_TRUE(data.ok());
  const auto a = CorruptDataset(*data, "gaussian_noise", 3, 11);
  const auto b = CorruptDataset(*data, "gaussian_noise", 3, 11);
  const auto other_seed = CorruptDataset(*data, "gaussian_noise", 3, 12);
  ASSERT_TRUE(a.ok() && b.ok() && other_seed.ok());
  EXPECT_EQ(a->pixels, b->pixels);
  EXPECT_NE(a->pixels, other_seed->pixels);
  EXPECT_NE(a->pixels, data->pixels);
  EXPECT_EQ(a->labels, data->labels);
  // Image i is the same image alone as in the whole set: its seed does not depend on the others.
  const std::vector<size_t> first = {0};
  const auto alone = CorruptDataset(data->Subset(first), "gaussian_noise", 3, 11);
  ASSERT_TRUE(alone.ok());
  EXPECT_EQ(alone->image(0), a->image(0));
  EXPECT_EQ(CorruptDataset(*data, "nope", 3, 1).status().code(), StatusCode::kNotFound);
}

// A standard model trained for a few epochs on 3,000 train images: good enough that a condition
// visibly costs it. `validation` receives its validation split.
StatusOr<std::unique_ptr<Classifier>> TrainSmallModel(Dataset* validation = nullptr) {
  SEYE_ASSIGN_OR_RETURN(const Dataset train, testing::LoadFashionMnist(Split::kTrain, 3000));
  const TrainingSplits splits = SplitForTraining(train);
  TrainOptions o = testing::SmallStandardOptions(4);
  o.threads = 1;
  if (validation) *validation = splits.validation;
  return TrainClassifier(splits.train, splits.validation, FitNormalization(splits.train), o);
}

TEST(EvaluateRobustness, CellsMeansAndDropOnARealModel) {
  const auto model = TrainSmallModel();
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const auto data = testing::LoadFashionMnist(Split::kTest, 200);
  ASSERT_TRUE(data.ok());
  const std::vector<std::string> conditions = {"underexposure", "pixelate"};
  size_t last_done = 0, last_total = 0;
  const auto r = EvaluateRobustness(**model, *data, conditions, 5, [&](size_t done, size_t total) {
    last_done = done;
    last_total = total;
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(last_done, 200u * 11);
  EXPECT_EQ(last_total, 200u * 11);
  ASSERT_EQ(r->cells.size(), 10u);
  EXPECT_EQ(r->cells[0].condition, "underexposure");
  EXPECT_FALSE(r->cells[0].held_out);
  EXPECT_EQ(r->cells[9].condition, "pixelate");
  EXPECT_TRUE(r->cells[9].held_out);
  EXPECT_EQ(r->cells[9].severity, 5);
  double anticipated = 0, all = 0;
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(r->cells[i].metrics.n, 200u);
    all += r->cells[i].metrics.accuracy;
    if (i < 5) anticipated += r->cells[i].metrics.accuracy;
  }
  EXPECT_DOUBLE_EQ(*r->mean_anticipated_accuracy, anticipated / 5);
  EXPECT_NEAR(r->relative_drop, 1 - (all / 10) / r->clean.accuracy, 1e-12);
  EXPECT_GT(r->clean.accuracy, 0.6);
  // Pixelation at severity 5 costs a model trained on clean images accuracy.
  EXPECT_LT(r->cells[9].metrics.accuracy, r->clean.accuracy);

  const auto json = RobustnessToJson(*r);
  EXPECT_EQ(json["conditions"].size(), 10u);
  EXPECT_EQ(json["conditions"][9]["condition"], "pixelate");
  EXPECT_DOUBLE_EQ(json["heldout_corruption_error"].get<double>(), 1 - *r->mean_heldout_accuracy);
  EXPECT_EQ(json["condition_seed"], 5);

  // The same seed gives the same figures: two models compare on the same images.
  const auto again = EvaluateRobustness(**model, *data, conditions, 5);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(RobustnessToJson(*again), json);
  const auto clean_only = EvaluateRobustness(**model, *data, {}, 5);
  ASSERT_TRUE(clean_only.ok());
  EXPECT_TRUE(clean_only->cells.empty());
  EXPECT_TRUE(RobustnessToJson(*clean_only)["mean_heldout_accuracy"].is_null());
}

TEST(CertifyUnderConditions, EachAnticipatedConditionOnTheCertifyingImagesTheLargestWins) {
  Dataset calib;
  auto model = TrainSmallModel(&calib);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const std::vector<std::string> two = {"uneven_light", "glare"};
  const auto uncalibrated = CertifyUnderConditions(**model, calib, two, 3);
  EXPECT_EQ(uncalibrated.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(uncalibrated.status().message().find("certified threshold"), std::string::npos);

  // A weak model certifies a loose target; the shift certificate comes with the calibration.
  CalibrateOptions loose{0.2, 0.05, "val", {}};
  const auto c = CalibrateForProduction(**model, calib, loose, /*shift_images=*/60);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->threshold.certified);
  ASSERT_TRUE(c->shift.has_value());
  ASSERT_EQ((*model)->card().calibration->shift->ToJson(), c->shift->ToJson());
  const auto anticipated = ConditionNames(false);
  ASSERT_EQ(c->shift->per_condition.size(), anticipated.size());
  double largest = 0;
  for (size_t i = 0; i < anticipated.size(); ++i) {
    const auto& [name, t] = c->shift->per_condition[i];
    EXPECT_EQ(name, anticipated[i]);
    EXPECT_EQ(t.n, 60u) << name;  // the first 75 images, less every fifth
    EXPECT_DOUBLE_EQ(t.alpha, 0.2);
    if (t.certified) largest = std::max(largest, t.threshold);
  }
  if (c->shift->certified) {
    EXPECT_DOUBLE_EQ(c->shift->threshold, largest);
  }

  // Recomputed by hand for one condition: the certifying images (not every fifth), the j-th at
  // severity 1 + j % 5, certified as the calibration's threshold is.
  const auto direct = CertifyUnderConditions(**model, calib, two, kDefaultConditionSeed);
  ASSERT_TRUE(direct.ok());
  std::vector<float> confidence;
  std::vector<uint8_t> correct;
  for (int severity = 1; severity <= 5; ++severity) {
    std::vector<size_t> rows;
    for (size_t i = 0, j = 0; i < calib.size(); ++i) {
      if (i % Calibration::kTemperatureEvery == 0) continue;
      if (int(j++ % 5) + 1 == severity) rows.push_back(i);
    }
    const auto shifted =
        CorruptDataset(calib.Subset(rows), "uneven_light", severity, kDefaultConditionSeed);
    ASSERT_TRUE(shifted.ok());
    const auto probs = PredictDataset(**model, *shifted);
    ASSERT_TRUE(probs.ok());
    const size_t k = (*model)->num_classes();
    for (size_t r = 0; r < shifted->size(); ++r) {
      const float* row = probs->data() + r * k;
      const size_t top = size_t(std::max_element(row, row + k) - row);
      confidence.push_back(row[top]);
      correct.push_back(int(top) == shifted->labels[r]);
    }
  }
  const auto by_hand = CertifyThreshold(confidence, correct, 0.2, 0.05);
  ASSERT_TRUE(by_hand.ok());
  EXPECT_TRUE(by_hand->certified);  // so that the comparison covers a threshold
  EXPECT_EQ(direct->per_condition[0].second.ToJson(), by_hand->ToJson());
}

}  // namespace
}  // namespace steadyeye
