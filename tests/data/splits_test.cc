#include "steadyeye/data/splits.h"

#include <gtest/gtest.h>

#include <set>

#include "steadyeye/data/source.h"

namespace steadyeye {
namespace {

TEST(Splits, FashionMnistTrainIsCarvedDisjointlyAndStratified) {
  DataRef ref;
  ref.split = Split::kTrain;
  const auto all = LoadDataset(ref, {});
  ASSERT_TRUE(all.ok());
  const TrainingSplits s = SplitForTraining(*all);
  EXPECT_EQ(s.train.size(), 52000u);
  EXPECT_EQ(s.validation.size(), 3000u);
  EXPECT_EQ(s.calibration.size(), 5000u);
  for (size_t count : s.validation.ClassCounts()) EXPECT_EQ(count, 300u);
  std::set<std::string> seen;
  for (const Dataset* part : {&s.train, &s.validation, &s.calibration}) {
    for (const auto& src : part->sources) EXPECT_TRUE(seen.insert(src).second) << src;
  }
  EXPECT_EQ(seen.size(), 60000u);
  // Same seed, same split.
  EXPECT_EQ(SplitForTraining(*all).calibration.sources, s.calibration.sources);
  EXPECT_NE(SplitForTraining(*all, 1).calibration.sources, s.calibration.sources);
}

TEST(Splits, StratifiedSplitCoversEveryIndexOnce) {
  std::vector<int> labels;
  for (int i = 0; i < 103; ++i) labels.push_back(i % 3);
  const size_t sizes[] = {10, 20, 0};
  const auto parts = StratifiedSplit(labels, 3, sizes, 42);
  EXPECT_NEAR(double(parts[0].size()), 10, 2);
  EXPECT_NEAR(double(parts[1].size()), 20, 2);
  std::set<size_t> all;
  for (const auto& p : parts) all.insert(p.begin(), p.end());
  EXPECT_EQ(all.size(), 103u);
}

}  // namespace
}  // namespace steadyeye
