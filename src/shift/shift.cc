#include "steadyeye/shift/shift.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <numbers>
#include <random>

#include "../image/cv_bridge.h"
#include "steadyeye/image/codec.h"

namespace steadyeye {

namespace {

using Rng = std::mt19937_64;
using Table = std::array<double, 5>;

// Pixel work is done on float images in 0..255; the result is rounded and clipped once.
using Transform = std::function<cv::Mat(const cv::Mat& f, double level, Rng& rng)>;

double Uniform(Rng& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }
double RandomSign(Rng& rng) { return (rng() & 1) ? 1.0 : -1.0; }
// Geometric and blur parameters are tabled for 28x28 and scale with the shorter side.
double SizeScale(const cv::Mat& f) { return std::min(f.cols, f.rows) / 28.0; }

// A one-channel map repeated to `like`'s channel count.
cv::Mat Broadcast(const cv::Mat& map, const cv::Mat& like) {
  std::vector<cv::Mat> maps(like.channels(), map);
  cv::Mat out;
  cv::merge(maps, out);
  return out;
}

cv::Mat GaussianField(const cv::Mat& like, Rng& rng) {
  cv::Mat noise(like.size(), like.type());
  cv::RNG cv_rng(rng());
  cv_rng.fill(noise, cv::RNG::NORMAL, 0.0, 1.0);
  return noise;
}

// --- lighting ---------------------------------------------------------------------------

cv::Mat Underexposure(const cv::Mat& f, double gain, Rng&) { return f * gain; }

cv::Mat Overexposure(const cv::Mat& f, double lift, Rng&) {
  return f * (1.0 + lift) + cv::Scalar::all(255.0 * lift * 0.6);
}

cv::Mat LowContrast(const cv::Mat& f, double keep, Rng&) {
  const cv::Scalar mean = cv::mean(f);
  cv::Mat centred = f - mean;
  return centred * keep + mean;
}

cv::Mat Gamma(const cv::Mat& f, double gamma, Rng&) {
  cv::Mat out;
  cv::pow(f / 255.0, gamma, out);
  return out * 255.0;
}

// Light falling off across the frame in a random direction, plus vignetting.
cv::Mat UnevenLight(const cv::Mat& f, double depth, Rng& rng) {
  const double angle = Uniform(rng, 0, 2 * std::numbers::pi);
  const double c = std::cos(angle), s = std::sin(angle);
  const double cx = (f.cols - 1) / 2.0, cy = (f.rows - 1) / 2.0;
  const double extent = std::abs(c) * cx + std::abs(s) * cy + 1e-9;
  const double corner = std::hypot(cx, cy) + 1e-9;
  cv::Mat map(f.size(), CV_32F);
  for (int y = 0; y < f.rows; ++y) {
    for (int x = 0; x < f.cols; ++x) {
      const double t = ((x - cx) * c + (y - cy) * s) / extent;  // -1..1
      const double r = std::hypot(x - cx, y - cy) / corner;     // 0..1
      map.at<float>(y, x) = float((1.0 - depth * (t + 1) / 2) * (1.0 - 0.5 * depth * r * r));
    }
  }
  return f.mul(Broadcast(map, f));
}

// Dark scene: less light, and the photon (shot) noise of a sensor pushed to see in it.
cv::Mat Night(const cv::Mat& f, double gain, Rng& rng) {
  cv::Mat dark = f * gain;
  const double photons = 2000.0 * gain * gain;  // fewer photons per grey level as light falls
  cv::Mat sd;
  cv::sqrt(cv::max(dark, 0.0) * (255.0 / photons), sd);
  return dark + sd.mul(GaussianField(f, rng));
}

// --- optics and motion ------------------------------------------------------------------

cv::Mat MotionBlur(const cv::Mat& f, double length, Rng& rng) {
  const int len = std::max(3, int(std::lround(length * SizeScale(f))) | 1);
  cv::Mat kernel = cv::Mat::zeros(len, len, CV_32F);
  const double angle = Uniform(rng, 0, std::numbers::pi);
  const double half = (len - 1) / 2.0;
  const cv::Point2d d(std::cos(angle) * half, std::sin(angle) * half);
  const cv::Point2d centre(half, half);
  cv::line(kernel, centre - d, centre + d, cv::Scalar(1.0), 1, cv::LINE_AA);
  kernel /= cv::sum(kernel)[0];
  cv::Mat out;
  cv::filter2D(f, out, -1, kernel, cv::Point(-1, -1), 0, cv::BORDER_REPLICATE);
  return out;
}

cv::Mat Defocus(const cv::Mat& f, double radius_28, Rng&) {
  const double r = radius_28 * SizeScale(f);
  const int half = int(std::ceil(r));
  cv::Mat kernel(2 * half + 1, 2 * half + 1, CV_32F);
  for (int y = -half; y <= half; ++y) {
    for (int x = -half; x <= half; ++x) {
      kernel.at<float>(y + half, x + half) = float(std::clamp(r + 0.5 - std::hypot(x, y), 0.0, 1.0));
    }
  }
  kernel /= cv::sum(kernel)[0];
  cv::Mat out;
  cv::filter2D(f, out, -1, kernel, cv::Point(-1, -1), 0, cv::BORDER_REPLICATE);
  return out;
}

// A dusty lens: a slight veil of scattered light plus dark, soft specks.
cv::Mat Dust(const cv::Mat& f, double amount, Rng& rng) {
  cv::Mat veiled = f * (1.0 - 0.6 * amount) + cv::Scalar::all(170.0 * 0.6 * amount);
  cv::Mat mask = cv::Mat::zeros(f.size(), CV_32F);
  const int specks = int(std::lround(amount * 60));
  const double scale = SizeScale(f);
  for (int i = 0; i < specks; ++i) {
    const cv::Point centre(int(Uniform(rng, 0, f.cols)), int(Uniform(rng, 0, f.rows)));
    const int radius = std::max(1, int(std::lround(Uniform(rng, 0.5, 1.6) * scale)));
    cv::circle(mask, centre, radius, cv::Scalar(Uniform(rng, 0.5, 0.9)), cv::FILLED, cv::LINE_AA);
  }
  cv::GaussianBlur(mask, mask, cv::Size(0, 0), 0.6 * scale);
  cv::Mat keep = 1.0 - mask;
  return veiled.mul(Broadcast(keep, f)) + Broadcast(mask * 25.0, f);
}

// A specular hotspot with a reflection streak through it.
cv::Mat Glare(const cv::Mat& f, double peak, Rng& rng) {
  const double side = std::min(f.cols, f.rows);
  const double cx = Uniform(rng, 0.2, 0.8) * f.cols, cy = Uniform(rng, 0.2, 0.8) * f.rows;
  const double sigma = (0.12 + 0.15 * peak) * side;
  const double angle = Uniform(rng, 0, std::numbers::pi);
  const double c = std::cos(angle), s = std::sin(angle);
  cv::Mat map(f.size(), CV_32F);
  for (int y = 0; y < f.rows; ++y) {
    for (int x = 0; x < f.cols; ++x) {
      const double dx = x - cx, dy = y - cy;
      const double spot = std::exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
      const double across = -dx * s + dy * c;  // distance from the streak's axis
      const double streak = 0.5 * std::exp(-across * across / (2 * 0.04 * side * 0.04 * side));
      map.at<float>(y, x) = float(255.0 * peak * std::min(1.0, spot + streak * std::exp(-(dx * dx + dy * dy) / (2 * 9 * sigma * sigma))));
    }
  }
  return f + Broadcast(map, f);
}

// Condensation or fog: contrast washed out towards a bright airlight, slightly soft.
cv::Mat Haze(const cv::Mat& f, double t, Rng&) {
  cv::Mat out = f * (1.0 - t) + cv::Scalar::all(215.0 * t);
  cv::GaussianBlur(out, out, cv::Size(0, 0), 0.3 + 0.8 * t * SizeScale(f));
  return out;
}

// --- sensor and transport ---------------------------------------------------------------

cv::Mat GaussianNoise(const cv::Mat& f, double sigma, Rng& rng) { return f + GaussianField(f, rng) * sigma; }

// Photon noise: variance proportional to the signal (Gaussian approximation of Poisson).
cv::Mat ShotNoise(const cv::Mat& f, double photons, Rng& rng) {
  cv::Mat sd;
  cv::sqrt(cv::max(f, 0.0) * (255.0 / photons), sd);
  return f + sd.mul(GaussianField(f, rng));
}

cv::Mat Pixelate(const cv::Mat& f, double factor, Rng&) {
  cv::Mat small, out;
  cv::resize(f, small, cv::Size(std::max(1, int(f.cols * factor)), std::max(1, int(f.rows * factor))), 0, 0,
             cv::INTER_AREA);
  cv::resize(small, out, f.size(), 0, 0, cv::INTER_NEAREST);
  return out;
}

// --- geometry and scene -----------------------------------------------------------------

cv::Mat WarpAffine(const cv::Mat& f, const cv::Mat& m) {
  cv::Mat out;
  cv::warpAffine(f, out, m, f.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

// The camera was bumped: a shift in a random direction plus a small rotation.
cv::Mat Displacement(const cv::Mat& f, double level, Rng& rng) {
  const double shift = level * SizeScale(f);
  const double direction = Uniform(rng, 0, 2 * std::numbers::pi);
  const double degrees = RandomSign(rng) * 2.8 * level;
  cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(f.cols / 2.0f, f.rows / 2.0f), degrees, 1.0);
  m.at<double>(0, 2) += shift * std::cos(direction);
  m.at<double>(1, 2) += shift * std::sin(direction);
  return WarpAffine(f, m);
}

cv::Mat Zoom(const cv::Mat& f, double factor, Rng& rng) {
  const cv::Point2f centre(float(f.cols / 2.0 + Uniform(rng, -0.05, 0.05) * f.cols),
                           float(f.rows / 2.0 + Uniform(rng, -0.05, 0.05) * f.rows));
  return WarpAffine(f, cv::getRotationMatrix2D(centre, 0.0, factor));
}

// A tilted camera: each corner moves independently.
cv::Mat Perspective(const cv::Mat& f, double jitter, Rng& rng) {
  const float w = float(f.cols - 1), h = float(f.rows - 1);
  const cv::Point2f src[4] = {{0, 0}, {w, 0}, {w, h}, {0, h}};
  cv::Point2f dst[4];
  for (int i = 0; i < 4; ++i) {
    dst[i] = src[i] + cv::Point2f(float(Uniform(rng, -jitter, jitter) * w), float(Uniform(rng, -jitter, jitter) * h));
  }
  cv::Mat out;
  cv::warpPerspective(f, out, cv::getPerspectiveTransform(src, dst), f.size(), cv::INTER_LINEAR,
                      cv::BORDER_REPLICATE);
  return out;
}

// Part of the item hidden behind a flat object of random grey.
cv::Mat Occlusion(const cv::Mat& f, double area, Rng& rng) {
  const double aspect = std::exp(Uniform(rng, std::log(0.5), std::log(2.0)));
  const int w = std::clamp(int(std::sqrt(area * f.cols * f.rows * aspect)), 1, f.cols);
  const int h = std::clamp(int(std::sqrt(area * f.cols * f.rows / aspect)), 1, f.rows);
  const int x = int(Uniform(rng, 0, f.cols - w + 1)), y = int(Uniform(rng, 0, f.rows - h + 1));
  cv::Mat out = f.clone();
  out(cv::Rect(x, y, w, h)).setTo(cv::Scalar::all(Uniform(rng, 40, 220)));
  return out;
}

struct Condition {
  ConditionInfo info;
  Table levels;  // the parameter at severities 1..5
  Transform transform;  // empty for conditions that work on encoded bytes (jpeg)
};

const std::vector<Condition>& Registry() {
  using G = ConditionGroup;
  static const std::vector<Condition> kConditions = {
      {{"underexposure", G::kLighting, false, "too little light: everything darker"}, {0.8, 0.65, 0.5, 0.38, 0.28}, Underexposure},
      {{"overexposure", G::kLighting, false, "too much light: brighter, highlights clipped"}, {0.12, 0.25, 0.4, 0.6, 0.85}, Overexposure},
      {{"low_contrast", G::kLighting, false, "flat light: contrast reduced"}, {0.75, 0.6, 0.45, 0.33, 0.22}, LowContrast},
      {{"gamma", G::kLighting, false, "wrong exposure curve: mid-tones darkened"}, {1.3, 1.6, 2.0, 2.5, 3.1}, Gamma},
      {{"uneven_light", G::kLighting, false, "light falling off across the frame, vignetting"}, {0.2, 0.35, 0.5, 0.65, 0.8}, UnevenLight},
      {{"night", G::kLighting, false, "dark scene with sensor shot noise"}, {0.6, 0.45, 0.35, 0.26, 0.19}, Night},
      {{"motion_blur", G::kOptics, false, "item or camera moving during exposure"}, {3, 5, 7, 9, 11}, MotionBlur},
      {{"defocus", G::kOptics, false, "lens out of focus"}, {0.6, 1.0, 1.5, 2.0, 2.6}, Defocus},
      {{"dust", G::kOptics, false, "dust specks on the lens plus a slight haze"}, {0.1, 0.2, 0.32, 0.45, 0.6}, Dust},
      {{"glare", G::kOptics, false, "specular hotspot and reflection streak"}, {0.3, 0.45, 0.6, 0.75, 0.9}, Glare},
      {{"haze", G::kOptics, true, "condensation or fog on the lens"}, {0.15, 0.3, 0.42, 0.55, 0.66}, Haze},
      {{"gaussian_noise", G::kSensor, false, "electronic sensor noise"}, {8, 14, 22, 32, 44}, GaussianNoise},
      {{"shot_noise", G::kSensor, true, "photon noise, stronger in bright areas"}, {400, 150, 60, 25, 10}, ShotNoise},
      {{"jpeg", G::kSensor, false, "bandwidth-limited link: JPEG at falling quality"}, {45, 28, 18, 11, 6}, nullptr},
      {{"pixelate", G::kSensor, true, "resolution lost in transport or a cheaper camera"}, {0.75, 0.6, 0.45, 0.35, 0.27}, Pixelate},
      {{"displacement", G::kGeometry, false, "camera bumped: shifted and rotated"}, {1, 2, 3, 4, 5}, Displacement},
      {{"zoom", G::kGeometry, true, "camera moved closer, item fills more of the frame"}, {1.08, 1.16, 1.28, 1.42, 1.6}, Zoom},
      {{"perspective", G::kGeometry, true, "camera tilted"}, {0.04, 0.07, 0.1, 0.14, 0.18}, Perspective},
      {{"occlusion", G::kGeometry, false, "part of the item hidden"}, {0.05, 0.09, 0.14, 0.2, 0.27}, Occlusion},
  };
  return kConditions;
}

const Condition* Lookup(std::string_view name) {
  for (const auto& c : Registry()) {
    if (c.info.name == name) return &c;
  }
  return nullptr;
}

// FNV-1a: a fixed hash, unlike std::hash, so seeds reproduce with any standard library.
uint64_t StableHash(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : text) h = (h ^ ch) * 0x100000001b3ull;
  return h;
}

StatusOr<Image> ApplyJpeg(const Image& image, int quality) {
  SEYE_ASSIGN_OR_RETURN(auto bytes, EncodeJpeg(image, quality));
  SEYE_ASSIGN_OR_RETURN(Image decoded, DecodeImage(bytes));
  return decoded;
}

}  // namespace

const char* ConditionGroupName(ConditionGroup group) {
  switch (group) {
    case ConditionGroup::kLighting: return "lighting";
    case ConditionGroup::kOptics: return "optics and motion";
    case ConditionGroup::kSensor: return "sensor and transport";
    case ConditionGroup::kGeometry: return "geometry and scene";
  }
  return "?";
}

const std::vector<ConditionInfo>& AllConditions() {
  static const std::vector<ConditionInfo> kInfos = [] {
    std::vector<ConditionInfo> infos;
    for (const auto& c : Registry()) infos.push_back(c.info);
    return infos;
  }();
  return kInfos;
}

std::vector<std::string> ConditionNames(bool held_out) {
  std::vector<std::string> names;
  for (const auto& c : AllConditions()) {
    if (c.held_out == held_out) names.push_back(c.name);
  }
  return names;
}

StatusOr<ConditionInfo> FindCondition(std::string_view name) {
  if (const Condition* c = Lookup(name)) return c->info;
  std::string known;
  for (const auto& c : AllConditions()) known += (known.empty() ? "" : ", ") + c.name;
  return NotFoundError("unknown condition '" + std::string(name) + "' (known: " + known + ")");
}

StatusOr<Image> ApplyCondition(const Image& image, std::string_view condition, int severity, uint64_t seed) {
  const Condition* c = Lookup(condition);
  if (c == nullptr) return FindCondition(condition).status();
  if (severity < kMinSeverity || severity > kMaxSeverity) {
    return InvalidArgumentError("severity must be 1..5, got " + std::to_string(severity));
  }
  if (image.empty() || (image.channels != 1 && image.channels != 3)) {
    return InvalidArgumentError("cannot apply a condition to an empty image or one with " +
                                std::to_string(image.channels) + " channels");
  }
  const double level = c->levels[severity - 1];
  if (!c->transform) return ApplyJpeg(image, int(level));
  // Mixing the condition's name into the seed makes conditions independent of one another.
  Rng rng(seed ^ StableHash(condition) ^ (uint64_t(severity) << 56));
  cv::Mat f;
  internal::AsMat(image).convertTo(f, CV_32F);
  const cv::Mat out = c->transform(f, level, rng);
  cv::Mat u8;
  out.convertTo(u8, CV_8U);  // rounds and saturates to 0..255
  return internal::FromMat(u8);
}

}  // namespace steadyeye
