#include <gtest/gtest.h>

#include "steadyeye/data/source.h"
#include "steadyeye/data/splits.h"
#include "steadyeye/eval/metrics.h"
#include "steadyeye/model/predict.h"
#include "steadyeye/model/train.h"
#include "steadyeye/shift/shift.h"
#include "fashion_mnist.h"
#include "test_util.h"
#include "tiny_model.h"

namespace steadyeye {
namespace {

// A small but real training run: 4,000 Fashion-MNIST train images, a narrow network, 4 epochs.
class TinyTraining : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto all = testing::LoadFashionMnist(Split::kTrain, 4000);
    ASSERT_TRUE(all.ok());
    splits_ = new TrainingSplits(SplitForTraining(*all));
    test_ = new Dataset(*testing::LoadFashionMnist(Split::kTest, 1000));
  }
  static void TearDownTestSuite() {
    delete splits_;
    delete test_;
  }

  // Standard training keeps these tests quick (robust steps cost two views, far more under the
  // sanitizers); the robust path has its own tests below.
  static TrainOptions Options(uint64_t seed) {
    TrainOptions o = testing::SmallStandardOptions(4);
    o.seed = seed;
    o.threads = 1;
    return o;
  }

  static std::unique_ptr<Classifier> Train(uint64_t seed) { return Train(Options(seed)); }
  static std::unique_ptr<Classifier> Train(const TrainOptions& options) {
    auto model = TrainClassifier(splits_->train, splits_->validation,
                                 FitNormalization(splits_->train), options);
    EXPECT_TRUE(model.ok()) << model.status().ToString();
    return model.ok() ? std::move(*model) : nullptr;
  }

  static TrainingSplits* splits_;
  static Dataset* test_;
};
TrainingSplits* TinyTraining::splits_ = nullptr;
Dataset* TinyTraining::test_ = nullptr;

TEST_F(TinyTraining, ClearlyBeatsChanceOnHeldOutTestImages) {
  auto model = Train(1);
  ASSERT_NE(model, nullptr);
  const auto probs = PredictDataset(*model, *test_);
  ASSERT_TRUE(probs.ok());
  const auto m = ComputeMetrics(*probs, test_->labels, model->num_classes());
  // Chance is 0.10 on ten balanced classes.
  EXPECT_GT(m.accuracy, 0.60);
  const auto& card = model->card();
  EXPECT_EQ(card.kind, "native");
  EXPECT_EQ(card.class_names, FashionMnistClassNames());
  EXPECT_EQ(card.training_data["fingerprint"], ToHex(splits_->train.Fingerprint()));
  EXPECT_EQ(card.training_data["n_train"], splits_->train.size());
  EXPECT_GT(card.metrics["val_accuracy"].get<double>(), 0.5);
  EXPECT_EQ(card.id.size(), 16u);
}

TEST_F(TinyTraining, SameSeedSameWeightsOtherSeedOtherWeights) {
  const auto a = Train(7), b = Train(7), c = Train(8);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->card().id, b->card().id);  // the id is a hash of the weights
  EXPECT_NE(a->card().id, c->card().id);
}

// One short robust run per seed: the default training path is deterministic too, and its card
// says how it trained.
TEST_F(TinyTraining, RobustTrainingIsDeterministicAndRecorded) {
  auto robust = [](uint64_t seed) {
    TrainOptions o = Options(seed);
    o.robust = true;
    o.epochs = 1;
    o.widths = {8};
    o.depths = {1};
    return Train(o);
  };
  const auto a = robust(7), b = robust(7), c = robust(8);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->card().id, b->card().id);
  EXPECT_NE(a->card().id, c->card().id);
  const auto& r = a->card().hyperparameters["robust"];
  EXPECT_EQ(r["production_share"], 1.0);
  EXPECT_EQ(r["conditions"], ConditionNames(/*held_out=*/false));
  EXPECT_FALSE(Train(7)->card().hyperparameters.contains("robust"));
}

TEST_F(TinyTraining, BundleRoundTripGivesBitIdenticalPredictions) {
  auto model = Train(3);
  ASSERT_NE(model, nullptr);
  testing::TempDir dir;
  ASSERT_TRUE(model->Save(dir / "m.seye").ok());
  auto loaded = Classifier::Load(dir / "m.seye");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->card().ToJson(), model->card().ToJson());
  const auto p1 = PredictDataset(*model, *test_);
  const auto p2 = PredictDataset(**loaded, *test_);
  ASSERT_TRUE(p1.ok() && p2.ok());
  EXPECT_EQ(*p1, *p2);
}

TEST_F(TinyTraining, RejectsBadTrainingInput) {
  TrainOptions o = Options(1);
  o.epochs = -1;
  const auto spec = FitNormalization(splits_->train);
  EXPECT_EQ(TrainClassifier(splits_->train, splits_->validation, spec, o).status().code(),
            StatusCode::kInvalidArgument);
  o = Options(1);
  o.robust = true;
  o.production_share = 0;
  const auto none = TrainClassifier(splits_->train, splits_->validation, spec, o);
  EXPECT_NE(none.status().message().find("a production share in (0, 1]"), std::string::npos);
  InputSpec wrong = spec;
  wrong.height = 32;
  const auto r = TrainClassifier(splits_->train, splits_->validation, wrong, Options(1));
  EXPECT_NE(r.status().message().find("does not match the input spec"), std::string::npos);
}

TEST(Predict, LogitsRejectWrongInputSize) {
  const auto model = testing::TrainTinyModel();
  ASSERT_TRUE(model.ok());
  std::vector<float> too_few(100);
  const auto r = (*model)->Logits(too_few, 1);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("expected 784"), std::string::npos);
  // Images of any size and colour go through the one conversion path.
  Image big(300, 200, 3);
  std::fill(big.pixels.begin(), big.pixels.end(), 128);
  const auto preds = PredictImages(**model, std::span<const Image>(&big, 1));
  ASSERT_TRUE(preds.ok());
  EXPECT_EQ(preds->front().top.size(), 3u);
  float sum = 0;
  for (float p : preds->front().probabilities) sum += p;
  EXPECT_NEAR(sum, 1.0f, 1e-5);
}

}  // namespace
}  // namespace steadyeye
