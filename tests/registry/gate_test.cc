#include "steadyeye/registry/gate.h"

#include <gtest/gtest.h>

#include <random>

#include "model/tiny_model.h"
#include "steadyeye/eval/robustness.h"

namespace steadyeye {
namespace {

TEST(ComparePaired, TheBoundComesFromTheDiscordantPairs) {
  // 100 images: 10 only the challenger gets right, 5 only the incumbent, 60 both, 25 neither.
  std::vector<uint8_t> incumbent(100, 0), challenger(100, 0);
  for (size_t i = 0; i < 60; ++i) incumbent[i] = challenger[i] = 1;
  for (size_t i = 60; i < 70; ++i) challenger[i] = 1;
  for (size_t i = 70; i < 75; ++i) incumbent[i] = 1;
  GateOptions o;
  o.margin = 0.01;
  PairedComparison c = ComparePaired("s", incumbent, challenger, o);
  EXPECT_EQ(c.n, 100u);
  EXPECT_EQ(c.only_challenger_right, 10u);
  EXPECT_EQ(c.only_incumbent_right, 5u);
  EXPECT_DOUBLE_EQ(c.incumbent_accuracy, 0.65);
  EXPECT_DOUBLE_EQ(c.challenger_accuracy, 0.70);
  EXPECT_NEAR(c.difference, 0.05, 1e-12);
  // sqrt(15 - 25/100) / 100 = 0.038406; 0.05 - 1.645 * 0.038406 = -0.013178.
  EXPECT_NEAR(c.lower_bound, -0.013178, 1e-5);
  EXPECT_FALSE(c.non_inferior);
  o.margin = 0.02;
  EXPECT_TRUE(ComparePaired("s", incumbent, challenger, o).non_inferior);
  // Identical answers: no difference, and no doubt about it.
  c = ComparePaired("s", incumbent, incumbent, o);
  EXPECT_EQ(c.difference, 0);
  EXPECT_EQ(c.lower_bound, 0);
  EXPECT_TRUE(c.non_inferior);
  EXPECT_FALSE(ComparePaired("s", {}, {}, o).non_inferior);
}

// Real models trained on Fashion-MNIST train images, judged on a "site" (test images under
// glare, for evaluation only) and on the clean calibration split.
class Gate : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto all = testing::LoadFashionMnist(Split::kTrain, 7000);
    ASSERT_TRUE(all.ok());
    splits_ = new TrainingSplits(SplitForTraining(*all));
    auto test = testing::LoadFashionMnist(Split::kTest, 1000);
    ASSERT_TRUE(test.ok());
    auto site = CorruptDataset(*test, "glare", 2, 1);
    ASSERT_TRUE(site.ok());
    sets_ = new std::vector<GateSet>{{"site", std::move(*site), true, {}},
                                     {"clean", splits_->calibration, false, {}}};
    incumbent_ = Train(splits_->train, 2).release();
  }
  static void TearDownTestSuite() {
    delete incumbent_;
    delete sets_;
    delete splits_;
  }
  static std::unique_ptr<Classifier> Train(const Dataset& data, int epochs) {
    TrainOptions o = testing::SmallStandardOptions(epochs);
    o.threads = 1;
    auto model = TrainClassifier(data, splits_->validation, FitNormalization(splits_->train), o);
    EXPECT_TRUE(model.ok()) << model.status().ToString();
    return model.ok() ? std::move(*model) : nullptr;
  }
  static GateDecision Judge(const Classifier& challenger) {
    auto d = JudgeChallenger(*incumbent_, challenger, *sets_, GateOptions{});
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : GateDecision{};
  }
  static inline TrainingSplits* splits_ = nullptr;
  static inline std::vector<GateSet>* sets_ = nullptr;
  static inline Classifier* incumbent_ = nullptr;
};

TEST_F(Gate, AChallengerTrainedOnCorruptedLabelsIsNeverPromoted) {
  ASSERT_NE(incumbent_, nullptr);
  // The same recipe as the incumbent, on labels a careless or malicious review would give:
  // (a) two pairs of classes swapped throughout (shirt <-> T-shirt, pullover <-> coat);
  Dataset swapped = splits_->train;
  for (int& label : swapped.labels) {
    static const int kSwap[10] = {6, 1, 4, 3, 2, 5, 0, 7, 8, 9};
    label = kSwap[label];
  }
  // (b) half of the labels replaced by a random other class.
  Dataset noisy = splits_->train;
  std::mt19937_64 rng(7);
  for (int& label : noisy.labels) {
    if (rng() % 2) label = int((label + 1 + rng() % 9) % 10);
  }
  for (const Dataset* corrupted : {&swapped, &noisy}) {
    const auto challenger = Train(*corrupted, 2);
    ASSERT_NE(challenger, nullptr);
    const GateDecision d = Judge(*challenger);
    EXPECT_FALSE(d.promote) << d.ToJson().dump(1);
    ASSERT_EQ(d.comparisons.size(), 2u);
    EXPECT_FALSE(d.comparisons[1].non_inferior) << d.ToJson().dump(1);
    EXPECT_FALSE(d.refusals.empty());
  }
}

TEST_F(Gate, ABetterChallengerIsPromotedAndTheIncumbentAgainstItselfIsNot) {
  ASSERT_NE(incumbent_, nullptr);
  // More training on the same clean labels: better at the site and no worse on clean images.
  const auto better = Train(splits_->train, 6);
  ASSERT_NE(better, nullptr);
  const GateDecision d = Judge(*better);
  EXPECT_TRUE(d.promote) << d.ToJson().dump(1);
  EXPECT_GT(d.comparisons[0].difference, 0);
  // Itself: no worse anywhere, but not better where it was meant to be.
  const GateDecision same = Judge(*incumbent_);
  EXPECT_FALSE(same.promote);
  ASSERT_EQ(same.refusals.size(), 1u) << same.ToJson().dump(1);
  EXPECT_NE(same.refusals[0].find("not better"), std::string::npos) << same.refusals[0];
  // Without a target set nothing is promoted; with too few images nothing is decided.
  std::vector<GateSet> no_target = {(*sets_)[1]};
  auto d2 = JudgeChallenger(*incumbent_, *better, no_target, GateOptions{});
  ASSERT_TRUE(d2.ok());
  EXPECT_FALSE(d2->promote);
  GateOptions strict;
  strict.min_images = 100000;
  auto d3 = JudgeChallenger(*incumbent_, *better, *sets_, strict);
  ASSERT_TRUE(d3.ok());
  EXPECT_FALSE(d3->promote);
  EXPECT_NE(d3->refusals[0].find("images, 100000 needed"), std::string::npos) << d3->refusals[0];
}

TEST(JudgeChallenger, ModelsOfOtherClassesOrShapesCannotBeCompared) {
  auto a = testing::TrainTinyModel(), b = testing::TrainTinyModel(700);
  ASSERT_TRUE(a.ok() && b.ok());
  auto data = testing::LoadFashionMnist(Split::kTest, 100);
  ASSERT_TRUE(data.ok());
  const std::vector<GateSet> sets = {{"site", *data, true, {}}};
  // Same classes and shape (their normalisations differ, which does not matter): comparable.
  EXPECT_TRUE(JudgeChallenger(**a, **b, sets, GateOptions{}).ok());
  Dataset renamed = *data;
  renamed.class_names[0] = "Tee";
  TrainOptions o = testing::SmallStandardOptions(1);
  o.widths = {4};
  o.depths = {1};
  auto other = TrainClassifier(renamed, renamed, FitNormalization(renamed), o);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(JudgeChallenger(**a, **other, sets, GateOptions{}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace steadyeye
