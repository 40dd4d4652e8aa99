// The quality gate: measured image quality, judged against a site's own baseline. Every frame
// gets the same metrics; a frame whose metrics leave the range the site's reference images
// span is flagged with the likely cause in words, instead of being silently misclassified.
//
// Limits are learned from reference images with quantiles (no fixed constants tuned to one
// dataset): a metric is out of range beyond its baseline's 0.1% / 99.9% quantile widened by
// `margin` times that quantile's distance from the median. Metrics, baselines and Assess are
// thread-compatible value code; Assess is thread-safe for a shared const baseline.
#pragma once

#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/image/image.h"

namespace steadyeye {

enum class QualityMetric {
  kSharpness,     // variance of the Laplacian of the grey image (grey levels^2)
  kFineDetail,    // mean |Laplacian| / mean |gradient|: blur removes fine detail first
  kBrightness,    // mean grey level, 0..255
  kPeak,          // 99.9th percentile grey level: the white level
  kFloor,         // 1st percentile grey level
  kContrast,      // standard deviation of grey levels
  kMidtone,       // median of the lit pixels, as a fraction of floor..peak
  kClipped,       // share of pixels at >= 250
  kGlare,         // brightest cell floor minus the median cell floor (4x4 cells, 10th pct)
  kUnevenLight,   // (brightest - darkest) / brightest quadrant 90th percentile
  kNoise,         // Immerkaer's estimate of the noise standard deviation (grey levels)
  kBlockiness,    // mean step across 8-pixel block edges / mean step elsewhere (native size)
  kFlatArea,      // share of lit, unclipped pixels in perfectly flat 3x3 neighbourhoods
  kSpread,        // radius of gyration of the lit intensity, as a fraction of the diagonal
  kDisplacement,  // shift against the site reference (phase correlation), fraction of the side
  kAlignment,     // correlation with the site reference after undoing that shift, -1..1
};
inline constexpr size_t kNumQualityMetrics = 16;

enum class BadSide { kLow, kHigh, kBoth };

struct QualityMetricInfo {
  const char* name;
  BadSide bad;  // which side of the site's range is a problem
  // Specific metrics point at one kind of fault; the others (exposure statistics) also move as
  // a side effect of many faults (blur lowers the white level, a veil lowers contrast), so a
  // specific metric is the likelier cause whenever one moved.
  bool specific;
  double resolution;  // the least change that means anything, in the metric's own units
};
const QualityMetricInfo& MetricInfo(QualityMetric metric);

using QualityValues = std::array<double, kNumQualityMetrics>;

// The version of what the metrics compute. A baseline's limits are only meaningful for the
// definitions it was learned with, so a baseline records this and one learned under another
// version is refused (FailedPrecondition) rather than judged against numbers that no longer
// mean the same thing. Bump it with any change to how any metric is computed.
inline constexpr int kQualityMetricsVersion = 1;

// A site's reference: per-metric limits and the mean grey reference image for displacement.
struct QualityBaseline {
  struct Limits {
    double median = 0;
    double low = 0;   // values below are out of range (for metrics bad on the low side)
    double high = 0;  // values above are out of range (for metrics bad on the high side)
  };
  size_t n = 0;  // reference images
  double tail = 0.001;
  double margin = 0.25;
  std::array<Limits, kNumQualityMetrics> limits{};
  int reference_width = 0, reference_height = 0;
  std::vector<float> reference;  // mean grey image, row-major, reference_width x height

  nlohmann::json ToJson() const;
  // InvalidArgument for a malformed baseline; FailedPrecondition for one learned with other
  // metric definitions (see kQualityMetricsVersion), naming both versions and how to re-learn.
  static StatusOr<QualityBaseline> FromJson(const nlohmann::json& json);
};

struct BaselineOptions {
  double tail = 0.001;
  double margin = 0.25;
};

// Metrics of one image (any size, grey or RGB). Without a baseline the displacement and
// alignment metrics are 0 and 1. InvalidArgument for an empty image.
StatusOr<QualityValues> MeasureQuality(const Image& image,
                                       const QualityBaseline* baseline = nullptr);

// Learns a baseline from reference images of one site (at least 20). Images may differ in size;
// the reference image takes the first image's aspect.
StatusOr<QualityBaseline> BuildBaseline(std::span<const Image> images,
                                        const BaselineOptions& options = {});

Status SaveBaseline(const QualityBaseline& baseline, const std::filesystem::path& path);
StatusOr<QualityBaseline> LoadBaseline(const std::filesystem::path& path);
// A baseline from the bytes of a file already read; `origin` names it in errors.
StatusOr<QualityBaseline> ParseBaseline(std::span<const uint8_t> bytes, const std::string& origin);

struct QualityFlag {
  QualityMetric metric;
  double value = 0;
  double ratio = 0;    // value / the site's median (0 when the median is 0)
  double excess = 0;   // distance beyond the limit / the limit's distance from the median
  std::string cause;   // in words, e.g. "blur: sharpness 0.21 of site baseline; likely ..."
  std::string reason;  // the cause as one token, e.g. "blur", "too_dark", "camera_moved"
};

struct QualityAssessment {
  QualityValues values{};
  bool judged = false;             // false without a baseline: metrics only
  std::vector<QualityFlag> flags;  // likeliest cause first (largest excess)
  bool pass() const { return flags.empty(); }
  nlohmann::json ToJson() const;
};

StatusOr<QualityAssessment> AssessQuality(const Image& image, const QualityBaseline* baseline);

}  // namespace steadyeye
