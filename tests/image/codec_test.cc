#include "steadyeye/image/codec.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace steadyeye {
namespace {

// A gradient with a distinct value at every pixel so orientation changes are visible.
Image Gradient(int w, int h, int c) {
  Image img(w, h, c);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) img.at(x, y, k) = uint8_t((x * 255) / std::max(1, w - 1) / (k + 1) + y);
  return img;
}

TEST(Codec, PngRoundTripIsLossless) {
  for (int c : {1, 3}) {
    const Image img = Gradient(17, 9, c);
    const auto png = EncodePng(img);
    ASSERT_TRUE(png.ok());
    const auto back = DecodeImage(*png);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, img);
  }
}

TEST(Codec, JpegKeepsSizeAndChannels) {
  const Image img = Gradient(40, 30, 3);
  const auto jpg = EncodeJpeg(img, 90);
  ASSERT_TRUE(jpg.ok());
  const auto back = DecodeImage(*jpg);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->width, 40);
  EXPECT_EQ(back->height, 30);
  EXPECT_EQ(back->channels, 3);
  const auto dims = ProbeDimensions(*jpg);
  EXPECT_EQ(dims.width, 40);
  EXPECT_EQ(dims.height, 30);
}

TEST(Codec, RejectsEmptyGarbageAndTruncatedData) {
  EXPECT_EQ(DecodeImage({}).status().message(), "empty input: 0 bytes");
  const std::vector<uint8_t> garbage = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
  EXPECT_NE(DecodeImage(garbage).status().message().find("not a PNG or JPEG"), std::string::npos);

  const Image img = Gradient(64, 64, 3);
  auto jpg = *EncodeJpeg(img, 90);
  jpg.resize(jpg.size() / 2);
  const auto cut_jpeg = DecodeImage(jpg);
  EXPECT_EQ(cut_jpeg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(cut_jpeg.status().message().find("truncated JPEG"), std::string::npos);

  auto png = *EncodePng(img);
  png.resize(png.size() / 2);
  const auto cut_png = DecodeImage(png);
  EXPECT_EQ(cut_png.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(cut_png.status().message().find("PNG"), std::string::npos);
}

TEST(Codec, RefusesHugeDimensionsBeforeDecoding) {
  auto png = *EncodePng(Gradient(4, 4, 1));
  // Rewrite IHDR width/height to 100000 x 100000: the header alone must be enough to refuse.
  for (int i : {16, 20}) {
    png[i] = 0x00;
    png[i + 1] = 0x01;
    png[i + 2] = 0x86;
    png[i + 3] = 0xA0;
  }
  const auto r = DecodeImage(png);
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(r.status().message().find("100000x100000"), std::string::npos);
}

// Builds an APP1 Exif segment (big-endian TIFF) holding only the orientation tag.
std::vector<uint8_t> ExifOrientationSegment(uint16_t orientation) {
  std::vector<uint8_t> tiff = {'M', 'M', 0, 42, 0, 0, 0, 8,  // header, IFD at offset 8
                               0, 1,                          // one entry
                               0x01, 0x12, 0, 3, 0, 0, 0, 1,  // tag 0x0112, SHORT, count 1
                               uint8_t(orientation >> 8), uint8_t(orientation), 0, 0,
                               0, 0, 0, 0};                   // no next IFD
  std::vector<uint8_t> seg = {0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
  seg.insert(seg.end(), tiff.begin(), tiff.end());
  const size_t len = seg.size() - 2;
  seg[2] = uint8_t(len >> 8);
  seg[3] = uint8_t(len);
  return seg;
}

TEST(Codec, HonoursExifOrientation) {
  const Image img = Gradient(32, 16, 3);
  auto jpg = *EncodeJpeg(img, 95);
  const auto exif = ExifOrientationSegment(6);  // 6: rotate 90 degrees clockwise to display
  jpg.insert(jpg.begin() + 2, exif.begin(), exif.end());
  const auto back = DecodeImage(jpg);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->width, 16);
  EXPECT_EQ(back->height, 32);
  // After a clockwise turn the original left column (dark) is the top row.
  EXPECT_LT(back->at(8, 0, 0), back->at(8, 31, 0));
}

TEST(Codec, FileErrorsNameThePath) {
  testing::TempDir dir;
  EXPECT_EQ(LoadImageFile(dir / "nope.png").status().code(), StatusCode::kNotFound);
  std::ofstream(dir / "bad.png") << "not an image";
  const auto r = LoadImageFile(dir / "bad.png");
  EXPECT_NE(r.status().message().find("bad.png"), std::string::npos);
  ASSERT_TRUE(SaveImageFile(dir / "ok.jpg", Gradient(8, 8, 1)).ok());
  EXPECT_TRUE(LoadImageFile(dir / "ok.jpg").ok());
  EXPECT_EQ(SaveImageFile(dir / "x.gif", Gradient(8, 8, 1)).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace steadyeye
