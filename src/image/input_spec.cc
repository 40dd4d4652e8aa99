#include "steadyeye/image/input_spec.h"

#include <opencv2/imgproc.hpp>

#include <cassert>
#include <sstream>

#include "cv_bridge.h"

namespace steadyeye {

namespace {
constexpr int kMaxInputSide = 1024;
}

std::string InputSpec::ShapeString() const {
  return std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width);
}

Status InputSpec::Validate() const {
  if (channels != 1 && channels != 3) {
    return InvalidArgumentError("input channels must be 1 or 3, got " + std::to_string(channels));
  }
  if (height < 8 || width < 8 || height > kMaxInputSide || width > kMaxInputSide) {
    return InvalidArgumentError("input size " + ShapeString() + " outside 8..1024 per side");
  }
  if (mean.size() != size_t(channels) || std.size() != size_t(channels)) {
    return InvalidArgumentError("input mean/std need one value per channel (" +
                                std::to_string(channels) + ")");
  }
  for (float s : std) {
    if (!(s > 0)) return InvalidArgumentError("input std values must be > 0");
  }
  return Status::Ok();
}

StatusOr<InputSpec> ParseInputShape(const std::string& text) {
  InputSpec spec;
  char x1 = 0, x2 = 0;
  std::istringstream in(text);
  if (!(in >> spec.channels >> x1 >> spec.height >> x2 >> spec.width) || x1 != 'x' || x2 != 'x' ||
      in.peek() != std::char_traits<char>::eof()) {
    return InvalidArgumentError("input shape '" + text + "' is not CxHxW, e.g. 1x28x28 or 3x64x64");
  }
  spec.mean.assign(spec.channels, 0.5f);
  spec.std.assign(spec.channels, 0.25f);
  SEYE_RETURN_IF_ERROR(spec.Validate());
  return spec;
}

Image ConformImage(const Image& image, const InputSpec& spec) {
  cv::Mat mat = internal::AsMat(image);
  cv::Mat converted;
  if (image.channels == spec.channels) {
    converted = mat;
  } else if (spec.channels == 1) {
    cv::cvtColor(mat, converted, cv::COLOR_RGB2GRAY);
  } else {
    cv::cvtColor(mat, converted, cv::COLOR_GRAY2RGB);
  }
  if (converted.cols == spec.width && converted.rows == spec.height) {
    return converted.data == mat.data ? image : internal::FromMat(converted);
  }
  const bool shrinking = converted.cols > spec.width || converted.rows > spec.height;
  cv::Mat resized;
  cv::resize(converted, resized, cv::Size(spec.width, spec.height), 0, 0,
             shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  return internal::FromMat(resized);
}

void Normalize(std::span<const uint8_t> pixels, const InputSpec& spec, std::span<float> out) {
  assert(pixels.size() == spec.values_per_image() && out.size() >= spec.values_per_image());
  const size_t plane = size_t(spec.height) * spec.width;
  for (int c = 0; c < spec.channels; ++c) {
    const float scale = 1.0f / (255.0f * spec.std[c]);
    const float shift = spec.mean[c] / spec.std[c];
    float* dst = out.data() + c * plane;
    const uint8_t* src = pixels.data() + c;
    for (size_t i = 0; i < plane; ++i) dst[i] = src[i * spec.channels] * scale - shift;
  }
}

}  // namespace steadyeye
