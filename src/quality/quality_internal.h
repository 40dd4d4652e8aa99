// Internal to the quality module.
#pragma once

#include <opencv2/core.hpp>

#include "steadyeye/quality/quality.h"

namespace steadyeye::internal {

// The grey image, reduced to the size all metrics but blockiness are measured at.
cv::Mat QualityWorkImage(const Image& image);

}  // namespace steadyeye::internal
