// The one in-memory image type that crosses module boundaries: 8-bit, interleaved (HWC),
// 1 channel (gray) or 3 channels in RGB order. Value type; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace steadyeye {

struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;             // 1 or 3
  std::vector<uint8_t> pixels;  // size == width * height * channels, row-major, channels last

  Image() = default;
  Image(int w, int h, int c) : width(w), height(h), channels(c), pixels(size_t(w) * h * c) {}

  bool empty() const { return pixels.empty(); }
  size_t row_bytes() const { return size_t(width) * channels; }
  uint8_t& at(int x, int y, int c = 0) { return pixels[(size_t(y) * width + x) * channels + c]; }
  uint8_t at(int x, int y, int c = 0) const {
    return pixels[(size_t(y) * width + x) * channels + c];
  }
  bool operator==(const Image&) const = default;
};

}  // namespace steadyeye
