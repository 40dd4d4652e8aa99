#include "steadyeye/eval/robustness.h"

#include <gtest/gtest.h>

#include "model/tiny_model.h"
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

TEST(EvaluateRobustness, CellsMeansAndDropOnARealModel) {
  // A standard model trained for a few epochs: good enough that a condition visibly costs it.
  const auto train = testing::LoadFashionMnist(Split::kTrain, 3000);
  ASSERT_TRUE(train.ok());
  const TrainingSplits splits = SplitForTraining(*train);
  TrainOptions o = testing::SmallStandardOptions(4);
  o.threads = 1;
  const auto model =
      TrainClassifier(splits.train, splits.validation, FitNormalization(splits.train), o);
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

}  // namespace
}  // namespace steadyeye
