#include "steadyeye/image/input_spec.h"

#include <gtest/gtest.h>

namespace steadyeye {
namespace {

TEST(InputSpec, ParsesShapes) {
  const auto spec = ParseInputShape("3x64x48");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->channels, 3);
  EXPECT_EQ(spec->height, 64);
  EXPECT_EQ(spec->width, 48);
  EXPECT_EQ(spec->ShapeString(), "3x64x48");
  for (const char* bad : {"", "28x28", "2x28x28", "1x28x28x", "1x4x4", "axbxc"}) {
    EXPECT_EQ(ParseInputShape(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(InputSpec, ConformsChannelsAndSize) {
  Image rgb(100, 50, 3);
  for (size_t i = 0; i < rgb.pixels.size(); i += 3) {
    rgb.pixels[i] = 255;  // pure red
  }
  InputSpec gray;  // 1x28x28
  const Image g = ConformImage(rgb, gray);
  EXPECT_EQ(g.width, 28);
  EXPECT_EQ(g.height, 28);
  EXPECT_EQ(g.channels, 1);
  EXPECT_NEAR(g.at(10, 10), 76, 1);  // BT.601 luminance of red: 0.299 * 255

  Image small(7, 7, 1);
  small.pixels.assign(49, 200);
  InputSpec colour = *ParseInputShape("3x14x14");
  const Image c = ConformImage(small, colour);
  EXPECT_EQ(c.channels, 3);
  EXPECT_EQ(c.width, 14);
  EXPECT_EQ(c.at(5, 5, 2), 200);
}

TEST(InputSpec, NormalizesToChw) {
  InputSpec spec = *ParseInputShape("3x8x8");
  spec.mean = {0.0f, 0.5f, 1.0f};
  spec.std = {1.0f, 0.5f, 0.25f};
  Image img(8, 8, 3);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = 255;
  std::vector<float> out(spec.values_per_image());
  Normalize(img.pixels, spec, out);
  EXPECT_FLOAT_EQ(out[0], 1.0f);        // channel 0: (1 - 0) / 1
  EXPECT_FLOAT_EQ(out[64], 1.0f);       // channel 1: (1 - 0.5) / 0.5
  EXPECT_FLOAT_EQ(out[128 + 5], 0.0f);  // channel 2: (1 - 1) / 0.25
}

}  // namespace
}  // namespace steadyeye
