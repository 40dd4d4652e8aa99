#include "steadyeye/shift/shift.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "fashion_mnist.h"

namespace steadyeye {
namespace {

double Mean(const Image& img) {
  double s = 0;
  for (uint8_t v : img.pixels) s += v;
  return s / double(img.pixels.size());
}

double StdDev(const Image& img) {
  const double m = Mean(img);
  double s = 0;
  for (uint8_t v : img.pixels) s += (v - m) * (v - m);
  return std::sqrt(s / double(img.pixels.size()));
}

// Variance of the 4-neighbour Laplacian: falls as an image gets blurrier.
double Sharpness(const Image& img) {
  std::vector<double> lap;
  for (int y = 1; y + 1 < img.height; ++y)
    for (int x = 1; x + 1 < img.width; ++x)
      lap.push_back(4.0 * img.at(x, y) - img.at(x - 1, y) - img.at(x + 1, y) - img.at(x, y - 1) - img.at(x, y + 1));
  double m = 0, v = 0;
  for (double l : lap) m += l;
  m /= double(lap.size());
  for (double l : lap) v += (l - m) * (l - m);
  return v / double(lap.size());
}

double MeanAbsDiff(const Image& a, const Image& b) {
  double s = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) s += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
  return s / double(a.pixels.size());
}

class Shift : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto data = testing::LoadFashionMnist(Split::kTest, 40);
    ASSERT_TRUE(data.ok());
    images_ = new std::vector<Image>();
    for (size_t i = 0; i < data->size(); ++i) images_->push_back(data->image(i));
  }
  static void TearDownTestSuite() { delete images_; }
  static std::vector<Image>* images_;
};
std::vector<Image>* Shift::images_ = nullptr;

TEST(ShiftRegistry, ListsTheAgreedConditionsAndHeldOutSet) {
  EXPECT_EQ(AllConditions().size(), 19u);
  const auto held = ConditionNames(true);
  EXPECT_EQ(std::set<std::string>(held.begin(), held.end()),
            (std::set<std::string>{"haze", "pixelate", "perspective", "zoom", "shot_noise"}));
  EXPECT_EQ(ConditionNames(false).size(), 14u);
  const auto unknown = FindCondition("rain");
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("glare"), std::string::npos);
}

TEST(ShiftRegistry, RejectsBadArguments) {
  Image img(8, 8, 1);
  EXPECT_EQ(ApplyCondition(img, "glare", 0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyCondition(img, "glare", 6, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyCondition(Image(), "glare", 3, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyCondition(img, "rain", 3, 1).status().code(), StatusCode::kNotFound);
}

TEST_F(Shift, PreservesSizeAndChannelsAndReproducesFromTheSeed) {
  Image colour(64, 48, 3);
  for (size_t i = 0; i < colour.pixels.size(); ++i) colour.pixels[i] = uint8_t((i * 37) % 251);
  for (const auto& c : AllConditions()) {
    for (const Image& img : {images_->front(), colour}) {
      for (int s = kMinSeverity; s <= kMaxSeverity; ++s) {
        const auto a = ApplyCondition(img, c.name, s, 42);
        ASSERT_TRUE(a.ok()) << c.name << " " << a.status().ToString();
        EXPECT_EQ(a->width, img.width) << c.name;
        EXPECT_EQ(a->height, img.height) << c.name;
        EXPECT_EQ(a->channels, img.channels) << c.name;
        EXPECT_EQ(*a, *ApplyCondition(img, c.name, s, 42)) << c.name << " is not reproducible";
      }
    }
  }
}

TEST_F(Shift, RandomConditionsDependOnTheSeed) {
  for (const char* name : {"night", "motion_blur", "dust", "glare", "gaussian_noise", "shot_noise",
                           "displacement", "perspective", "occlusion", "uneven_light"}) {
    int differing = 0;
    for (const Image& img : *images_) {
      differing += !(*ApplyCondition(img, name, 3, 1) == *ApplyCondition(img, name, 3, 2));
    }
    EXPECT_GT(differing, int(images_->size()) / 2) << name;
  }
}

// Severity is monotone: a measured statistic, averaged over real images, moves the expected way
// from severity 1 to 5, and severity 1 already differs from the clean image.
TEST_F(Shift, SeverityIsMonotone) {
  using Stat = std::function<double(const Image& clean, const Image& shifted)>;
  const Stat mean = [](const Image&, const Image& s) { return Mean(s); };
  const Stat contrast = [](const Image&, const Image& s) { return StdDev(s); };
  const Stat sharpness = [](const Image&, const Image& s) { return Sharpness(s); };
  const Stat change = [](const Image& c, const Image& s) { return MeanAbsDiff(c, s); };
  struct Expectation {
    Stat stat;
    int direction;  // +1: grows with severity, -1: falls
  };
  const std::map<std::string, Expectation> expected = {
      {"underexposure", {mean, -1}},   {"overexposure", {mean, +1}},   {"low_contrast", {contrast, -1}},
      {"gamma", {mean, -1}},           {"uneven_light", {mean, -1}},   {"night", {mean, -1}},
      {"motion_blur", {sharpness, -1}}, {"defocus", {sharpness, -1}},  {"dust", {change, +1}},
      {"glare", {mean, +1}},           {"haze", {contrast, -1}},       {"gaussian_noise", {change, +1}},
      {"shot_noise", {change, +1}},    {"jpeg", {change, +1}},         {"pixelate", {change, +1}},
      {"displacement", {change, +1}},  {"zoom", {change, +1}},         {"perspective", {change, +1}},
      {"occlusion", {change, +1}},
  };
  ASSERT_EQ(expected.size(), AllConditions().size());
  for (const auto& [name, e] : expected) {
    std::vector<double> by_severity;
    double clean = 0;
    for (int s = kMinSeverity; s <= kMaxSeverity; ++s) {
      double total = 0;
      for (size_t i = 0; i < images_->size(); ++i) {
        const Image& img = (*images_)[i];
        total += e.stat(img, *ApplyCondition(img, name, s, 1000 + i));
        if (s == kMinSeverity) clean += e.stat(img, img);
      }
      by_severity.push_back(total / double(images_->size()));
    }
    clean /= double(images_->size());
    EXPECT_GT(e.direction * (by_severity[0] - clean), 0) << name << ": severity 1 changes nothing";
    for (size_t s = 1; s < by_severity.size(); ++s) {
      EXPECT_GT(e.direction * (by_severity[s] - by_severity[s - 1]), 0)
          << name << ": severity " << s + 1 << " is not stronger than " << s;
    }
  }
}

}  // namespace
}  // namespace steadyeye
