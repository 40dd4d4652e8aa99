#include "steadyeye/data/source.h"

#include <gtest/gtest.h>

#include <set>

#include "steadyeye/data/splits.h"
#include "steadyeye/image/codec.h"
#include "test_util.h"

namespace steadyeye {
namespace {

DataRef FashionMnist(Split split) {
  DataRef ref;
  ref.split = split;
  return ref;
}

TEST(FashionMnist, LoadsBothSplitsFromIdx) {
  const auto train = LoadDataset(FashionMnist(Split::kTrain), {});
  ASSERT_TRUE(train.ok()) << train.status().ToString();
  EXPECT_EQ(train->size(), 60000u);
  EXPECT_EQ(train->height, 28);
  EXPECT_EQ(train->width, 28);
  EXPECT_EQ(train->channels, 1);
  for (size_t count : train->ClassCounts()) EXPECT_EQ(count, 6000u);
  const auto test = LoadDataset(FashionMnist(Split::kTest), {});
  ASSERT_TRUE(test.ok());
  EXPECT_EQ(test->size(), 10000u);
  EXPECT_EQ(test->sources[7], "fashion-mnist:test#7");
  EXPECT_NE(train->Fingerprint(), test->Fingerprint());
}

TEST(FashionMnist, LimitSpreadsOverClassesAndMissingDirSaysHowToFix) {
  LoadOptions options;
  options.limit = 100;
  const auto some = LoadDataset(FashionMnist(Split::kTest), options);
  ASSERT_TRUE(some.ok());
  for (size_t count : some->ClassCounts()) EXPECT_EQ(count, 10u);
  options.fashion_mnist_dir = "/nonexistent";
  const auto missing = LoadDataset(FashionMnist(Split::kTest), options);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("dataset-fashion-mnist"), std::string::npos);
}

TEST(DataRef, ParsesNamesAndFolders) {
  EXPECT_EQ(ParseDataRef("fashion-mnist")->split, Split::kDefault);
  EXPECT_EQ(ParseDataRef("fashion-mnist:test")->split, Split::kTest);
  EXPECT_EQ(ParseDataRef("fashion-mnist:val")->split, Split::kValidation);
  EXPECT_EQ(ParseDataRef("fashion-mnist:calib")->ToString(), "fashion-mnist:calib");
  const auto unknown = ParseDataRef("fashion-mnist:dev");
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("fashion-mnist-lab[:train|:val|:calib]"),
            std::string::npos)
      << unknown.status().message();
  EXPECT_EQ(ParseDataRef("fashion-mnist:pool")->split, Split::kPool);
  EXPECT_TRUE(ParseDataRef("fashion-mnist-lab")->lab);
  EXPECT_EQ(ParseDataRef("fashion-mnist-lab:calib")->ToString(), "fashion-mnist-lab:calib");
  EXPECT_EQ(ParseDataRef("fashion-mnist-lab:pool").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDataRef("/no/such/folder").status().code(), StatusCode::kNotFound);
  testing::TempDir dir;
  EXPECT_EQ(ParseDataRef(dir.path().string())->kind, DataRef::Kind::kFolder);
}

TEST(DataRef, HeldBackSplitsAreTheTrainingSplitsValidationAndCalibrationParts) {
  const auto train = LoadDataset(FashionMnist(Split::kTrain), {});
  const auto val = LoadDataset(FashionMnist(Split::kValidation), {});
  const auto calib = LoadDataset(FashionMnist(Split::kCalibration), {});
  ASSERT_TRUE(train.ok() && val.ok() && calib.ok());
  const TrainingSplits parts = SplitForTraining(*train);
  EXPECT_EQ(val->size(), 3000u);
  EXPECT_EQ(calib->size(), 5000u);
  EXPECT_EQ(val->Fingerprint(), parts.validation.Fingerprint());
  EXPECT_EQ(calib->Fingerprint(), parts.calibration.Fingerprint());
}

TEST(DataRef, TheProductionPoolAndTheLabDataPartitionTheTrainSplit) {
  DataRef lab = FashionMnist(Split::kTrain);
  lab.lab = true;
  const auto pool = LoadDataset(FashionMnist(Split::kPool), {});
  const auto rest = LoadDataset(lab, {});
  ASSERT_TRUE(pool.ok() && rest.ok());
  EXPECT_EQ(pool->size() + rest->size(), 60000u);
  EXPECT_NEAR(double(pool->size()), 10000, 300);
  std::set<std::string> sources(pool->sources.begin(), pool->sources.end());
  for (const auto& source : rest->sources) ASSERT_EQ(sources.count(source), 0u) << source;
  // The lab's calibration part is carved from the rest, never from the pool.
  lab.split = Split::kCalibration;
  const auto calib = LoadDataset(lab, {});
  ASSERT_TRUE(calib.ok());
  for (const auto& source : calib->sources) ASSERT_EQ(sources.count(source), 0u) << source;
  EXPECT_EQ(calib->Fingerprint(), SplitForTraining(*rest).calibration.Fingerprint());
}

Image Filled(int w, int h, int c, uint8_t v) {
  Image img(w, h, c);
  std::fill(img.pixels.begin(), img.pixels.end(), v);
  return img;
}

TEST(Folder, LoadsMixedSizesAndColoursAndSkipsBadFiles) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir / "cat");
  std::filesystem::create_directories(dir / "dog");
  ASSERT_TRUE(SaveImageFile(dir / "cat" / "a.png", Filled(40, 30, 3, 10)).ok());
  ASSERT_TRUE(SaveImageFile(dir / "cat" / "b.jpg", Filled(64, 64, 1, 20)).ok());
  ASSERT_TRUE(SaveImageFile(dir / "dog" / "c.PNG", Filled(20, 50, 1, 30)).ok());
  std::ofstream(dir / "dog" / "broken.jpg") << "\xFF\xD8\xFF garbage";
  std::ofstream(dir / "dog" / "notes.txt") << "ignored";

  LoadReport report;
  DataRef ref = *ParseDataRef(dir.path().string());
  const auto data = LoadDataset(ref, {}, &report);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(data->size(), 3u);
  EXPECT_EQ(data->channels, 3);  // one colour image makes the chosen spec colour
  EXPECT_EQ(data->width, data->height);
  EXPECT_EQ(data->labels, (std::vector<int>{0, 0, 1}));
  ASSERT_EQ(report.skipped.size(), 1u);
  EXPECT_NE(report.skipped[0].find("broken.jpg"), std::string::npos);

  LoadOptions eval;
  eval.spec = *ParseInputShape("1x16x16");
  eval.class_names = {"dog", "cat", "bird"};
  const auto mapped = LoadDataset(ref, eval);
  ASSERT_TRUE(mapped.ok());
  EXPECT_EQ(mapped->labels, (std::vector<int>{1, 1, 0}));  // matched by name, model's order
  EXPECT_EQ(mapped->width, 16);

  eval.class_names = {"cat", "bird"};
  const auto unknown = LoadDataset(ref, eval);
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("'dog'"), std::string::npos);
}

TEST(Folder, EmptyOrFlatFoldersAreErrors) {
  testing::TempDir dir;
  DataRef ref = *ParseDataRef(dir.path().string());
  EXPECT_NE(LoadDataset(ref, {}).status().message().find("no class sub-folders"),
            std::string::npos);
  std::filesystem::create_directories(dir / "a");
  EXPECT_NE(LoadDataset(ref, {}).status().message().find("no .png"), std::string::npos);
}

// The same Fashion-MNIST image reaches a model with identical pixels whether it is read from the
// IDX files or from the exported PNG folder: one conversion path.
TEST(Export, FolderRoundTripGivesIdenticalPixels) {
  LoadOptions options;
  options.limit = 50;
  const auto idx = LoadDataset(FashionMnist(Split::kTest), options);
  ASSERT_TRUE(idx.ok());
  testing::TempDir dir;
  ASSERT_EQ(*ExportImages(*idx, dir.path()), 50u);
  EXPECT_TRUE(std::filesystem::exists(dir / "T-shirt_top"));
  LoadOptions folder;
  folder.spec = InputSpec{};
  folder.class_names = FashionMnistClassNames();
  const auto back = LoadDataset(*ParseDataRef(dir.path().string()), folder);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), idx->size());
  // Files are named by their index in the exported data; the folder is read class by class.
  for (size_t k = 0; k < back->size(); ++k) {
    const size_t i = std::stoul(std::filesystem::path(back->sources[k]).stem().string());
    EXPECT_EQ(back->labels[k], idx->labels[i]) << back->sources[k];
    const auto a = back->pixels_of(k), b = idx->pixels_of(i);
    EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin())) << back->sources[k];
  }
}

}  // namespace
}  // namespace steadyeye
