// Production conditions, simulated: lighting, optics, sensor/transport and geometry shifts that
// deployed cameras meet. Each condition has severities 1..5, calibrated so that 1 is barely
// visible and 5 is still recognisable to a person. Deterministic: the same image, condition,
// severity and seed give bit-identical output. Works on any size, gray or RGB; size and channel
// count are preserved. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/image/image.h"

namespace steadyeye {

inline constexpr int kMinSeverity = 1;
inline constexpr int kMaxSeverity = 5;

enum class ConditionGroup { kLighting, kOptics, kSensor, kGeometry };
const char* ConditionGroupName(ConditionGroup group);

struct ConditionInfo {
  std::string name;
  ConditionGroup group;
  // Held-out conditions are never used in training or tuning: they measure generalisation to
  // conditions nobody anticipated.
  bool held_out = false;
  std::string description;
};

// All conditions, grouped, in a stable order.
const std::vector<ConditionInfo>& AllConditions();
// The anticipated (trainable) or held-out subset, in the same order.
std::vector<std::string> ConditionNames(bool held_out);
// NotFound (listing the known names) for an unknown condition.
StatusOr<ConditionInfo> FindCondition(std::string_view name);

// Applies `condition` at `severity` (1..5). InvalidArgument for a bad severity or empty image,
// NotFound for an unknown condition.
StatusOr<Image> ApplyCondition(const Image& image, std::string_view condition, int severity,
                               uint64_t seed);

}  // namespace steadyeye
