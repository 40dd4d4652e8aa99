#include "steadyeye/shift/augment.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "fashion_mnist.h"

namespace steadyeye {
namespace {

Image FirstTrainImage() {
  const auto data = testing::LoadFashionMnist(Split::kTrain, 10);
  EXPECT_TRUE(data.ok());
  return data->image(0);
}

TEST(ProductionView, SameSeedSameViewOtherSeedOtherView) {
  const Image image = FirstTrainImage();
  const auto a = ProductionView(image, 7), b = ProductionView(image, 7),
             c = ProductionView(image, 8);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
}

TEST(ProductionView, KeepsShapeAndChangesTheImage) {
  Image rgb(40, 30, 3);
  for (size_t i = 0; i < rgb.pixels.size(); ++i) rgb.pixels[i] = uint8_t((i * 37) % 251);
  // As strings: GCC 12 warns falsely on ordering vectors of bytes (a known -Wstringop-overread
  // bug).
  std::set<std::string> distinct;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const auto view = ProductionView(rgb, seed);
    ASSERT_TRUE(view.ok()) << view.status().ToString();
    EXPECT_EQ(view->width, 40);
    EXPECT_EQ(view->height, 30);
    EXPECT_EQ(view->channels, 3);
    distinct.emplace(view->pixels.begin(), view->pixels.end());
  }
  EXPECT_EQ(distinct.count(std::string(rgb.pixels.begin(), rgb.pixels.end())),
            0u);  // every view shows some condition
  EXPECT_GE(distinct.size(), 19u);
}

TEST(ProductionView, BothPureViewsAndMixturesOccur) {
  const Image image = FirstTrainImage();
  ProductionViewOptions pure, mixed;
  pure.pure_share = 1.0;
  mixed.pure_share = 0.0;
  const auto p = ProductionView(image, 3, pure), m = ProductionView(image, 3, mixed);
  ASSERT_TRUE(p.ok() && m.ok());
  EXPECT_NE(*p, *m);
}

TEST(ProductionView, RejectsEmptyImagesAndBadOptions) {
  EXPECT_EQ(ProductionView(Image(), 1).status().code(), StatusCode::kInvalidArgument);
  ProductionViewOptions bad;
  bad.width = 0;
  const auto r = ProductionView(FirstTrainImage(), 1, bad);
  EXPECT_NE(r.status().message().find("width, depth >= 1"), std::string::npos);
}

}  // namespace
}  // namespace steadyeye
