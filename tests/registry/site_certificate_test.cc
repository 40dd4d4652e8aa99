// RecalibrateOnSite on a real store: a model trained on Fashion-MNIST train images serves a
// site whose captures are Fashion-MNIST test images (evaluation only), labelled by a person.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "model/tiny_model.h"
#include "steadyeye/core/file.h"
#include "steadyeye/image/codec.h"
#include "steadyeye/registry/site_loop.h"
#include "test_util.h"

namespace steadyeye {
namespace {

constexpr int64_t kStepMs = 1000;  // between captures
constexpr size_t kCaptures = 2500;
// The site accepts 3%: a small test model is sure of itself on a few images it gets wrong, more
// than a 1% target allows on a couple of thousand images.
constexpr double kAlpha = 0.03;

class SiteCertificate : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto all = testing::LoadFashionMnist(Split::kTrain, 7000);
    ASSERT_TRUE(all.ok());
    const TrainingSplits splits = SplitForTraining(*all);
    TrainOptions o = testing::SmallStandardOptions(12);
    o.threads = 1;
    auto model =
        TrainClassifier(splits.train, splits.validation, FitNormalization(splits.train), o);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    model_ = model->release();
    auto site = testing::LoadFashionMnist(Split::kTest, kCaptures);
    ASSERT_TRUE(site.ok());
    site_ = new Dataset(std::move(*site));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete site_;
  }

  // A store serving the model from `registered_ms` on, with the site's captures taken every
  // second from 1 s, each labelled by a person who answers a random wrong class with
  // probability `slips`.
  std::unique_ptr<Store> OpenStore(const std::filesystem::path& dir, int64_t registered_ms,
                                   double slips) {
    StoreOptions options;
    options.double_review_share = 0;
    options.second_opinion_confidence = 2;  // one answer each: the slips stay in
    auto store = OpenSqliteStore(dir, options);
    EXPECT_TRUE(store.ok());
    if (!store.ok()) return nullptr;
    const auto bundle = dir / "model.seye";
    EXPECT_TRUE(model_->Save(bundle).ok());
    const std::string version = model_->card().Version();
    EXPECT_TRUE((*store)
                    ->RegisterModel(bundle, version, model_->card().ToJson(), "test", "the lab's",
                                    registered_ms)
                    .ok());
    EXPECT_TRUE((*store)->SetAlias(kChampionAlias, version, "test", "", registered_ms).ok());
    std::vector<NewCapture> batch;
    for (size_t i = 0; i < site_->size(); ++i) {
      NewCapture n;
      Capture& c = n.capture;
      c.time_ms = c.received_ms = int64_t(i + 1) * kStepMs;
      c.site = "s";
      c.camera = "cam-1";
      c.model_version = version;
      c.label_name = site_->class_names[0];
      c.confidence = 0.5;
      c.probabilities = std::vector<float>(site_->class_names.size(), 0.1f);
      c.decision = "review";
      c.kept_because = KeptBecause::kReview;
      c.inclusion_probability = 1;
      c.quality = {{"verdict", "ok"}};
      c.image_format = "png";
      c.width = site_->width;
      c.height = site_->height;
      auto png = EncodePng(site_->image(i));
      EXPECT_TRUE(png.ok());
      n.image = std::move(*png);
      batch.push_back(std::move(n));
    }
    EXPECT_TRUE((*store)->Insert(batch).ok());
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> unit(0, 1);
    const int k = int(site_->class_names.size());
    std::uniform_int_distribution<int> other(1, k - 1);
    inserted_.clear();
    for (const auto& n : batch) inserted_.push_back(n.capture);
    std::map<int64_t, int> truth_of;  // capture id -> class
    for (size_t i = 0; i < batch.size(); ++i) truth_of[batch[i].capture.id] = site_->labels[i];
    for (size_t i = 0; i < batch.size(); ++i) {
      auto task = (*store)->NextTask("rita", 0, 60'000);
      EXPECT_TRUE(task.ok() && task->has_value());
      if (!task.ok() || !task->has_value()) break;
      const int truth = truth_of.at((*task)->capture_id);
      const int answer = unit(rng) < slips ? (truth + other(rng)) % k : truth;
      EXPECT_TRUE(
          (*store)->Answer((*task)->id, "rita", site_->class_names[size_t(answer)], 1).ok());
    }
    return std::move(*store);
  }

  static StatusOr<SiteRecalibration> Recalibrate(Store& store, int64_t since_ms = 0) {
    SiteRecalibrateOptions o;
    o.site = "s";
    o.since_ms = since_ms;
    o.alpha = kAlpha;
    return RecalibrateOnSite(store, o);
  }

  std::vector<Capture> inserted_;  // by the last OpenStore, with their ids
  static inline Classifier* model_ = nullptr;
  static inline Dataset* site_ = nullptr;
};

TEST_F(SiteCertificate, ASiteCertifiesItsThresholdOnImagesTheModelWasNotTrainedOn) {
  ASSERT_NE(model_, nullptr);
  testing::TempDir dir;
  // Registered half-way: the trainable captures before that might have been trained on.
  const int64_t registered_ms = int64_t(kCaptures / 2) * kStepMs;
  auto store = OpenStore(dir.path(), registered_ms, 0);
  ASSERT_NE(store, nullptr);
  auto made = Recalibrate(*store);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  size_t expected = 0;  // held out from the gate, or taken after the model was registered
  ASSERT_EQ(inserted_.size(), kCaptures);
  for (const Capture& c : inserted_) expected += IsGateHoldout(c.id) || c.time_ms >= registered_ms;
  EXPECT_EQ(made->images, expected);
  ASSERT_TRUE(made->calibration.threshold.certified) << made->ToJson().dump();
  EXPECT_LE(made->calibration.threshold.error_upper_bound, kAlpha);
  ASSERT_TRUE(made->record.has_value());
  // Served at the site as a child of the model it re-calibrated; the champion is unchanged.
  auto aliases = store->Aliases();
  ASSERT_TRUE(aliases.ok());
  EXPECT_EQ(aliases->at(SiteAlias("s")), made->record->id);
  EXPECT_EQ(aliases->at(kChampionAlias), model_->card().Version());
  EXPECT_EQ(made->record->parent, model_->card().Version());
  auto served = LoadSiteModel(*store, "s");
  ASSERT_TRUE(served.ok());
  ASSERT_TRUE((*served)->card().calibration.has_value());
  EXPECT_NE((*served)->card().calibration->data.find("site s"), std::string::npos);

  // Nothing since the last capture: too few images, nothing changes.
  auto none = Recalibrate(*store, int64_t(kCaptures + 1) * kStepMs);
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(none.status().message().find("0 reviewed images"), std::string::npos)
      << none.status().ToString();
}

TEST_F(SiteCertificate, LabelsWithSlipsCertifyNothingAndChangeNothing) {
  ASSERT_NE(model_, nullptr);
  testing::TempDir dir;
  // A person wrong one time in ten: the errors among confident decisions look over three times
  // worse than the 3% this site accepts.
  auto store = OpenStore(dir.path(), 0, 0.1);
  ASSERT_NE(store, nullptr);
  auto made = Recalibrate(*store);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->images, kCaptures);  // registered before every capture
  EXPECT_FALSE(made->calibration.threshold.certified) << made->ToJson().dump();
  EXPECT_FALSE(made->record.has_value());
  auto aliases = store->Aliases();
  ASSERT_TRUE(aliases.ok());
  EXPECT_EQ(aliases->count(SiteAlias("s")), 0u);
}

}  // namespace
}  // namespace steadyeye
