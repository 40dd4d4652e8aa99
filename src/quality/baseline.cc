#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "quality_internal.h"
#include "steadyeye/core/file.h"
#include "steadyeye/core/quantile.h"

namespace steadyeye {

namespace {

using M = QualityMetric;
constexpr int kReferenceSide = 64;  // phase correlation needs structure, not detail
constexpr size_t kMinReferenceImages = 20;
constexpr int kFormatVersion = 1;

struct Cause {
  const char* label;
  const char* why;
};
struct MetricText {
  QualityMetricInfo info;
  Cause low, high;
};

// One row per metric, in enum order: which side is bad, and what it means in words there.
const std::array<MetricText, kNumQualityMetrics>& Table() {
  static const std::array<MetricText, kNumQualityMetrics> kTable = {{
      {{"sharpness", BadSide::kLow, false, 1},
       {"blur", "likely defocus, motion or dust on the lens"},
       {}},
      {{"fine_detail", BadSide::kLow, true, 0.01},
       {"blur", "fine detail lost: likely defocus or motion"},
       {}},
      {{"brightness", BadSide::kBoth, false, 1},
       {"too dark", "likely too little light or a failing lamp"},
       {"too bright", "likely too much light or a veil over the lens"}},
      {{"peak", BadSide::kLow, false, 1},
       {"too dark", "highlights dim: likely underexposure or night"},
       {}},
      {{"floor", BadSide::kHigh, false, 1},
       {},
       {"veiled", "dark areas lifted: likely haze, dust, condensation or overexposure"}},
      {{"contrast", BadSide::kLow, false, 1},
       {"low contrast", "likely flat light, fog or a dirty lens"},
       {}},
      {{"midtone", BadSide::kBoth, false, 0.01},
       {"mid-tones dark", "likely a wrong exposure curve (gamma) or dim light"},
       {"mid-tones bright", "likely a wrong exposure curve or too much light"}},
      {{"clipped", BadSide::kHigh, false, 0.001},
       {},
       {"clipped highlights", "likely overexposure or glare"}},
      {{"glare", BadSide::kHigh, true, 1},
       {},
       {"glare", "a local bright patch: likely a reflection or a light in view"}},
      {{"uneven_light", BadSide::kHigh, true, 0.01},
       {},
       {"uneven light", "likely a shadow, vignetting or a failing lamp"}},
      {{"noise", BadSide::kHigh, true, 0.5},
       {},
       {"noise", "likely low light with high sensor gain, or a faulty cable"}},
      {{"blockiness", BadSide::kHigh, true, 0.01},
       {},
       {"compression", "JPEG blocks: likely a bandwidth-limited link"}},
      {{"flat_area", BadSide::kHigh, true, 0.01},
       {},
       {"flat patch", "likely something hides part of the view (occlusion)"}},
      {{"spread", BadSide::kBoth, false, 0.005},
       {"scene smaller", "likely the camera moved away or zoomed out"},
       {"scene larger", "likely the camera moved closer, zoomed or tilted"}},
      {{"displacement", BadSide::kHigh, true, 0.005},
       {},
       {"camera moved", "the view is shifted: the camera was likely bumped"}},
      {{"alignment", BadSide::kLow, false, 0.01},
       {"view changed", "likely the camera was bumped, rotated, tilted or zoomed"},
       {}},
  }};
  return kTable;
}

}  // namespace

const QualityMetricInfo& MetricInfo(QualityMetric metric) { return Table()[size_t(metric)].info; }

StatusOr<QualityBaseline> BuildBaseline(std::span<const Image> images,
                                        const BaselineOptions& options) {
  if (images.size() < kMinReferenceImages) {
    return InvalidArgumentError(
        fmt::format("a quality baseline needs at least {} reference images, got {}",
                    kMinReferenceImages, images.size()));
  }
  if (!(options.tail > 0 && options.tail < 0.5) || options.margin < 0) {
    return InvalidArgumentError("baseline tail must be in (0, 0.5) and margin >= 0");
  }
  QualityBaseline b;
  b.n = images.size();
  b.tail = options.tail;
  b.margin = options.margin;
  // Pass 1: the mean grey image, the reference that displacement is measured against.
  cv::Mat sum;
  for (const Image& image : images) {
    if (image.empty() || (image.channels != 1 && image.channels != 3)) {
      return InvalidArgumentError("reference images must be non-empty grey or RGB images");
    }
    const cv::Mat work = internal::QualityWorkImage(image);
    if (sum.empty()) {
      const double s = std::min(1.0, double(kReferenceSide) / std::max(work.cols, work.rows));
      sum =
          cv::Mat::zeros(std::max(1, int(work.rows * s)), std::max(1, int(work.cols * s)), CV_64F);
    }
    cv::Mat small;
    cv::resize(work, small, sum.size(), 0, 0, cv::INTER_AREA);
    cv::accumulate(small, sum);
  }
  cv::Mat mean;
  sum.convertTo(mean, CV_32F, 1.0 / double(images.size()));
  b.reference_width = mean.cols;
  b.reference_height = mean.rows;
  b.reference.assign(mean.begin<float>(), mean.end<float>());
  // Pass 2: every metric of every reference image, then robust limits per metric.
  std::array<std::vector<double>, kNumQualityMetrics> values;
  for (const Image& image : images) {
    SEYE_ASSIGN_OR_RETURN(const QualityValues v, MeasureQuality(image, &b));
    for (size_t m = 0; m < kNumQualityMetrics; ++m) values[m].push_back(v[m]);
  }
  for (size_t m = 0; m < kNumQualityMetrics; ++m) {
    std::sort(values[m].begin(), values[m].end());
    auto& l = b.limits[m];
    l.median = QuantileOfSorted(values[m], 0.5);
    const double lo = QuantileOfSorted(values[m], b.tail),
                 hi = QuantileOfSorted(values[m], 1 - b.tail);
    l.low = lo - b.margin * (l.median - lo);
    l.high = hi + b.margin * (hi - l.median);
  }
  return b;
}

StatusOr<QualityAssessment> AssessQuality(const Image& image, const QualityBaseline* baseline) {
  QualityAssessment a;
  SEYE_ASSIGN_OR_RETURN(a.values, MeasureQuality(image, baseline));
  if (baseline == nullptr) return a;
  a.judged = true;
  for (size_t m = 0; m < kNumQualityMetrics; ++m) {
    const MetricText& text = Table()[m];
    const auto& l = baseline->limits[m];
    const double v = a.values[m];
    const bool low = text.info.bad != BadSide::kHigh && v < l.low;
    const bool high = text.info.bad != BadSide::kLow && v > l.high;
    if (!low && !high) continue;
    const Cause& cause = low ? text.low : text.high;
    QualityFlag flag{QualityMetric(m), v, l.median != 0 ? v / l.median : 0.0, 0.0, "", ""};
    flag.reason = cause.label;
    std::replace(flag.reason.begin(), flag.reason.end(), ' ', '_');
    flag.cause = fmt::format("{}: {} {:.3g} ({:.2f} of site baseline {:.3g}); {}", cause.label,
                             text.info.name, v, flag.ratio, l.median, cause.why);
    flag.excess = std::abs(v - (low ? l.low : l.high)) /
                  std::max(1e-9, std::abs((low ? l.low : l.high) - l.median));
    a.flags.push_back(std::move(flag));
  }
  // Likeliest cause first: specific metrics before side effects, then the furthest outside its
  // range (relative to the range's width).
  std::stable_sort(a.flags.begin(), a.flags.end(), [](const QualityFlag& x, const QualityFlag& y) {
    const bool sx = MetricInfo(x.metric).specific, sy = MetricInfo(y.metric).specific;
    return sx != sy ? sx : x.excess > y.excess;
  });
  return a;
}

nlohmann::json QualityAssessment::ToJson() const {
  nlohmann::json metrics = nlohmann::json::object();
  for (size_t m = 0; m < kNumQualityMetrics; ++m) metrics[Table()[m].info.name] = values[m];
  nlohmann::json out = {{"metrics", metrics}};
  if (!judged) {
    out["verdict"] = "unjudged";
    return out;
  }
  out["verdict"] = pass() ? "pass" : "flag";
  nlohmann::json flag_list = nlohmann::json::array();
  for (const auto& f : flags) {
    flag_list.push_back({{"metric", Table()[size_t(f.metric)].info.name},
                         {"value", f.value},
                         {"ratio_to_baseline", f.ratio},
                         {"reason", f.reason},
                         {"cause", f.cause}});
  }
  out["flags"] = flag_list;
  return out;
}

nlohmann::json QualityBaseline::ToJson() const {
  nlohmann::json metrics = nlohmann::json::object();
  for (size_t m = 0; m < kNumQualityMetrics; ++m) {
    metrics[Table()[m].info.name] = {
        {"median", limits[m].median}, {"low", limits[m].low}, {"high", limits[m].high}};
  }
  return {{"format", "steadyeye-quality-baseline"},
          {"version", kFormatVersion},
          {"metrics_version", kQualityMetricsVersion},
          {"n", n},
          {"tail", tail},
          {"margin", margin},
          {"metrics", metrics},
          {"reference",
           {{"width", reference_width}, {"height", reference_height}, {"values", reference}}}};
}

StatusOr<QualityBaseline> QualityBaseline::FromJson(const nlohmann::json& j) {
  try {
    if (j.value("format", "") != "steadyeye-quality-baseline") {
      return InvalidArgumentError(
          "not a steadyeye quality baseline (format field missing or wrong)");
    }
    if (j.at("version").get<int>() != kFormatVersion) {
      return InvalidArgumentError("unsupported quality baseline version " + j.at("version").dump());
    }
    // Baselines written before the field existed were learned with the first definitions.
    if (const int learned_with = j.value("metrics_version", 1);
        learned_with != kQualityMetricsVersion) {
      return FailedPreconditionError(fmt::format(
          "quality baseline learned with quality metrics version {}, but this build computes "
          "version {}, so its limits no longer apply; learn it again (a site's: steadyeye quality "
          "baseline; a model's own: train the model again)",
          learned_with, kQualityMetricsVersion));
    }
    QualityBaseline b;
    b.n = j.at("n").get<size_t>();
    b.tail = j.at("tail").get<double>();
    b.margin = j.at("margin").get<double>();
    for (size_t m = 0; m < kNumQualityMetrics; ++m) {
      const auto& e = j.at("metrics").at(Table()[m].info.name);
      b.limits[m] = {e.at("median").get<double>(), e.at("low").get<double>(),
                     e.at("high").get<double>()};
    }
    const auto& r = j.at("reference");
    b.reference_width = r.at("width").get<int>();
    b.reference_height = r.at("height").get<int>();
    b.reference = r.at("values").get<std::vector<float>>();
    if (b.reference_width < 1 || b.reference_height < 1 ||
        b.reference.size() != size_t(b.reference_width) * b.reference_height) {
      return InvalidArgumentError("quality baseline reference image has the wrong size");
    }
    return b;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("malformed quality baseline: ") + e.what());
  }
}

Status SaveBaseline(const QualityBaseline& baseline, const std::filesystem::path& path) {
  return WriteFileAtomic(path, baseline.ToJson().dump(1) + "\n");
}

StatusOr<QualityBaseline> LoadBaseline(const std::filesystem::path& path) {
  SEYE_ASSIGN_OR_RETURN(const auto bytes, ReadFileBytes(path));
  return ParseBaseline(bytes, path.string());
}

StatusOr<QualityBaseline> ParseBaseline(std::span<const uint8_t> bytes, const std::string& origin) {
  const auto json =
      nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return InvalidArgumentError(origin + " is not valid JSON");
  auto baseline = QualityBaseline::FromJson(json);
  if (!baseline.ok()) return InvalidArgumentError(origin + ": " + baseline.status().message());
  return baseline;
}

}  // namespace steadyeye
