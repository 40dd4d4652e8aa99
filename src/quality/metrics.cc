// Per-image quality metrics. All work is on one grey image reduced to at most kWorkSide pixels
// on its long side (so a 1280x720 frame costs about as much as a 320x180 one), except JPEG
// blockiness, which needs the native 8-pixel grid.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "../image/cv_bridge.h"
#include "quality_internal.h"

namespace steadyeye {

namespace {

using M = QualityMetric;
constexpr int kWorkSide = 320;
constexpr int kClipLevel = 250;

struct Histogram {
  std::array<double, 256> counts{};
  double total = 0;
  // Smallest grey level with at least q of the pixels at or below it.
  double Percentile(double q) const {
    double seen = 0;
    for (int v = 0; v < 256; ++v) {
      seen += counts[v];
      if (seen >= q * total && seen > 0) return v;
    }
    return 255;
  }
};

Histogram HistogramOf(const cv::Mat& gray) {
  Histogram h;
  for (int y = 0; y < gray.rows; ++y) {
    const uint8_t* row = gray.ptr<uint8_t>(y);
    for (int x = 0; x < gray.cols; ++x) h.counts[row[x]] += 1;
  }
  h.total = double(gray.total());
  return h;
}

cv::Mat GrayOf(const Image& image) {
  const cv::Mat mat = internal::AsMat(image);
  if (image.channels == 1) return mat;
  cv::Mat gray;
  cv::cvtColor(mat, gray, cv::COLOR_RGB2GRAY);
  return gray;
}

cv::Mat WorkImage(const cv::Mat& gray) {
  const int side = std::max(gray.cols, gray.rows);
  if (side <= kWorkSide) return gray;
  const double s = double(kWorkSide) / side;
  cv::Mat small;
  cv::resize(gray, small,
             cv::Size(std::max(1, int(gray.cols * s)), std::max(1, int(gray.rows * s))), 0, 0,
             cv::INTER_AREA);
  return small;
}

// Mean absolute step across 8-pixel block boundaries over the mean step elsewhere; JPEG's
// independent 8x8 blocks make the first larger. Steps are summed per column (and per row) with
// vectorised OpenCV calls: this is the one metric measured at native size.
double Blockiness(const cv::Mat& gray) {
  double edge = 0, inner = 0, n_edge = 0, n_inner = 0;
  auto add_steps = [&](const cv::Mat& a, const cv::Mat& b, int reduce_dim, double per_line) {
    cv::Mat steps, sums;
    cv::absdiff(a, b, steps);
    cv::reduce(steps, sums, reduce_dim, cv::REDUCE_SUM, CV_64F);
    const double* v = sums.ptr<double>();
    for (int i = 0; i < int(sums.total()); ++i) {
      (i % 8 == 7 ? edge : inner) += v[i];
      (i % 8 == 7 ? n_edge : n_inner) += per_line;
    }
  };
  if (gray.cols > 1) {
    add_steps(gray.colRange(0, gray.cols - 1), gray.colRange(1, gray.cols), 0, gray.rows);
  }
  if (gray.rows > 1) {
    add_steps(gray.rowRange(0, gray.rows - 1), gray.rowRange(1, gray.rows), 1, gray.cols);
  }
  if (n_edge == 0 || n_inner == 0) return 1.0;
  return (edge / n_edge + 0.5) / (inner / n_inner + 0.5);
}

// Immerkaer (1996), "Fast noise variance estimation": the response to a mask that cancels
// smooth image structure, scaled to the noise standard deviation.
double NoiseSigma(const cv::Mat& gray) {
  if (gray.cols < 3 || gray.rows < 3) return 0;
  const cv::Mat mask = (cv::Mat_<float>(3, 3) << 1, -2, 1, -2, 4, -2, 1, -2, 1);
  cv::Mat response;
  cv::filter2D(gray, response, CV_32F, mask);
  const cv::Rect inner(1, 1, gray.cols - 2, gray.rows - 2);
  const double sum = cv::norm(response(inner), cv::NORM_L1);
  return std::sqrt(std::numbers::pi / 2) * sum / (6.0 * inner.area());
}

// Spread of the brightest cell floor over the typical one: a reflection lifts the darkest
// pixels of the cells it covers, which flat light does not.
double GlareScore(const cv::Mat& work) {
  constexpr int kCells = 4;
  std::vector<double> floors;
  for (int cy = 0; cy < kCells; ++cy) {
    for (int cx = 0; cx < kCells; ++cx) {
      const cv::Rect cell(cx * work.cols / kCells, cy * work.rows / kCells,
                          std::max(1, work.cols / kCells), std::max(1, work.rows / kCells));
      floors.push_back(
          HistogramOf(work(cell & cv::Rect(0, 0, work.cols, work.rows))).Percentile(0.1));
    }
  }
  std::sort(floors.begin(), floors.end());
  return floors.back() - floors[floors.size() / 2];
}

double UnevenLight(const cv::Mat& work) {
  double lo = 255, hi = 0;
  for (int q = 0; q < 4; ++q) {
    const int w = std::max(1, work.cols / 2), h = std::max(1, work.rows / 2);
    const cv::Rect quadrant((q % 2) * (work.cols - w), (q / 2) * (work.rows - h), w, h);
    const double p90 = HistogramOf(work(quadrant)).Percentile(0.9);
    lo = std::min(lo, p90);
    hi = std::max(hi, p90);
  }
  return (hi - lo) / std::max(1.0, hi);
}

double FlatArea(const cv::Mat& work, double lit_level) {
  cv::Mat high, low;
  const cv::Mat kernel = cv::Mat::ones(3, 3, CV_8U);
  cv::dilate(work, high, kernel);
  cv::erode(work, low, kernel);
  size_t flat = 0;
  for (int y = 0; y < work.rows; ++y) {
    for (int x = 0; x < work.cols; ++x) {
      // Clipped highlights are flat too, but they are glare's or exposure's sign, not a cover's.
      const uint8_t v = work.at<uint8_t>(y, x);
      flat +=
          v >= lit_level && v < kClipLevel && high.at<uint8_t>(y, x) - low.at<uint8_t>(y, x) <= 1;
    }
  }
  return double(flat) / double(work.total());
}

double Spread(const cv::Mat& work, double floor) {
  double sum = 0, sx = 0, sy = 0, sxx = 0;
  for (int y = 0; y < work.rows; ++y) {
    for (int x = 0; x < work.cols; ++x) {
      const double w = std::max(0.0, work.at<uint8_t>(y, x) - floor);
      sum += w;
      sx += w * x;
      sy += w * y;
      sxx += w * (double(x) * x + double(y) * y);
    }
  }
  if (sum <= 0) return 0;
  const double cx = sx / sum, cy = sy / sum;
  const double gyration = std::sqrt(std::max(0.0, sxx / sum - cx * cx - cy * cy));
  return gyration / std::hypot(work.cols, work.rows);
}

void Registration(const cv::Mat& work, const QualityBaseline& baseline, QualityValues& v) {
  const cv::Size size(baseline.reference_width, baseline.reference_height);
  cv::Mat moving;
  cv::resize(work, moving, size, 0, 0, cv::INTER_AREA);
  moving.convertTo(moving, CV_32F);
  const cv::Mat reference(size, CV_32F, const_cast<float*>(baseline.reference.data()));
  // The window depends on the size only; computing it costs as much as the correlation itself at
  // small sizes, so each thread keeps the last one.
  thread_local cv::Mat window;
  if (window.size() != size) cv::createHanningWindow(window, size, CV_32F);
  const cv::Point2d shift = cv::phaseCorrelate(reference, moving, window);
  v[size_t(M::kDisplacement)] = std::hypot(shift.x, shift.y) / std::min(size.width, size.height);
  const cv::Mat undo = (cv::Mat_<double>(2, 3) << 1, 0, -shift.x, 0, 1, -shift.y);
  cv::Mat aligned;
  cv::warpAffine(moving, aligned, undo, size, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  cv::Scalar ma, sa, mr, sr;
  cv::meanStdDev(aligned, ma, sa);
  cv::meanStdDev(reference, mr, sr);
  const double cov = cv::mean((aligned - ma[0]).mul(reference - mr[0]))[0];
  v[size_t(M::kAlignment)] = sa[0] > 0 && sr[0] > 0 ? cov / (sa[0] * sr[0]) : 0.0;
}

}  // namespace

namespace internal {

cv::Mat QualityWorkImage(const Image& image) { return WorkImage(GrayOf(image)); }

}  // namespace internal

StatusOr<QualityValues> MeasureQuality(const Image& image, const QualityBaseline* baseline) {
  if (image.empty() || (image.channels != 1 && image.channels != 3)) {
    return InvalidArgumentError("quality needs a non-empty grey or RGB image");
  }
  if (baseline && (baseline->reference.size() !=
                       size_t(baseline->reference_width) * baseline->reference_height ||
                   baseline->reference.empty())) {
    return InvalidArgumentError("the quality baseline has no valid reference image");
  }
  QualityValues v{};
  const cv::Mat gray = GrayOf(image);
  v[size_t(M::kBlockiness)] = Blockiness(gray);
  const cv::Mat work = WorkImage(gray);
  const Histogram hist = HistogramOf(work);
  cv::Mat lap, gx, gy;
  cv::Laplacian(work, lap, CV_32F);
  cv::Sobel(work, gx, CV_32F, 1, 0);
  cv::Sobel(work, gy, CV_32F, 0, 1);
  cv::Scalar lap_mean, lap_sd, mean, sd;
  cv::meanStdDev(lap, lap_mean, lap_sd);
  cv::meanStdDev(work, mean, sd);
  const double gradient = cv::norm(gx, cv::NORM_L1) + cv::norm(gy, cv::NORM_L1);
  v[size_t(M::kSharpness)] = lap_sd[0] * lap_sd[0];
  v[size_t(M::kFineDetail)] = gradient > 0 ? cv::norm(lap, cv::NORM_L1) / gradient : 0.0;
  v[size_t(M::kBrightness)] = mean[0];
  v[size_t(M::kContrast)] = sd[0];
  const double floor = hist.Percentile(0.01), peak = hist.Percentile(0.999);
  v[size_t(M::kPeak)] = peak;
  v[size_t(M::kFloor)] = floor;
  const double lit = floor + std::max(8.0, 0.1 * (peak - floor));
  Histogram lit_hist;
  for (int g = int(std::ceil(lit)); g < 256; ++g)
    lit_hist.counts[g] = hist.counts[g], lit_hist.total += hist.counts[g];
  v[size_t(M::kMidtone)] =
      lit_hist.total > 0 ? (lit_hist.Percentile(0.5) - floor) / std::max(1.0, peak - floor) : 0.0;
  double clipped = 0;
  for (int g = kClipLevel; g < 256; ++g) clipped += hist.counts[g];
  v[size_t(M::kClipped)] = clipped / hist.total;
  v[size_t(M::kGlare)] = GlareScore(work);
  v[size_t(M::kUnevenLight)] = UnevenLight(work);
  v[size_t(M::kNoise)] = NoiseSigma(work);
  v[size_t(M::kFlatArea)] = FlatArea(work, lit);
  v[size_t(M::kSpread)] = Spread(work, floor);
  v[size_t(M::kDisplacement)] = 0;
  v[size_t(M::kAlignment)] = 1;
  if (baseline) Registration(work, *baseline, v);
  return v;
}

}  // namespace steadyeye
