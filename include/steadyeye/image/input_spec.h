// The model's input contract, stored in every model card. ConformImage and Normalize are the
// only place where images are converted for a model: training, evaluation, prediction and
// serving all go through them, so the same file gives the same tensor everywhere.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/image/image.h"

namespace steadyeye {

struct InputSpec {
  int channels = 1;  // 1 (gray) or 3 (RGB)
  int height = 28;
  int width = 28;
  // Per channel, applied to pixel/255: (x - mean) / std.
  std::vector<float> mean = {0.2860f};
  std::vector<float> std = {0.3530f};

  size_t values_per_image() const { return size_t(channels) * height * width; }
  // "1x28x28" (CxHxW).
  std::string ShapeString() const;
  Status Validate() const;
  bool operator==(const InputSpec&) const = default;
};

// Parses "CxHxW" (e.g. "3x64x64"); mean/std are left at neutral values (0.5 / 0.25).
StatusOr<InputSpec> ParseInputShape(const std::string& text);

// Converts channels (gray<->RGB, luminance by ITU-R BT.601) and resizes to the spec's size
// (area averaging when shrinking, bilinear when enlarging). Aspect ratio is not preserved: the
// whole frame is used, as a fixed camera sees it.
Image ConformImage(const Image& image, const InputSpec& spec);

// Writes spec.values_per_image() floats in CHW order from HWC pixels that already conform to
// `spec` (spec.values_per_image() bytes).
void Normalize(std::span<const uint8_t> pixels, const InputSpec& spec, std::span<float> out);

}  // namespace steadyeye
