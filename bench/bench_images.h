// Synthetic test images shared by the benchmarks: deterministic texture, any size and channels,
// so figures do not depend on a dataset being installed.
#pragma once

#include <cstdint>

#include "steadyeye/image/image.h"

namespace steadyeye::bench {

inline Image Textured(int w, int h, int c) {
  Image img(w, h, c);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) img.at(x, y, k) = uint8_t((x * 7 + y * 13 + k * 50 + (x * y) % 31) % 256);
  return img;
}

}  // namespace steadyeye::bench
