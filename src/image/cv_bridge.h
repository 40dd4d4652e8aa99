// Internal: zero-copy views between our Image and cv::Mat. Not part of the public API, so that
// OpenCV headers stay out of other modules' interfaces.
#pragma once

#include <opencv2/core.hpp>

#include "steadyeye/image/image.h"

namespace steadyeye::internal {

// A Mat header over the image's pixels (no copy). The image must outlive the Mat.
inline cv::Mat AsMat(Image& image) {
  return cv::Mat(image.height, image.width, CV_8UC(image.channels), image.pixels.data());
}
inline cv::Mat AsMat(const Image& image) {
  return cv::Mat(image.height, image.width, CV_8UC(image.channels),
                 const_cast<uint8_t*>(image.pixels.data()));
}

// Copies an 8-bit 1- or 3-channel Mat (channel order as given) into an Image.
Image FromMat(const cv::Mat& mat);

}  // namespace steadyeye::internal
