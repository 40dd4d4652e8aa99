// Internal to sim/: the simulated production stream, built once and shared by the policies.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/data/source.h"
#include "steadyeye/sim/scenario.h"

namespace steadyeye::sim {

struct StreamImage {
  int site = 0;  // index into the scenario's sites
  int day = 1;
  int64_t time_ms = 0;
  int label = 0;                    // the true class
  std::vector<uint8_t> png;         // as sent, conditions applied
  std::vector<std::string> active;  // conditions on it ("glare@3", "redesign")
};

struct Stream {
  std::vector<StreamImage> images;  // in time order
  std::vector<std::string> class_names;
  std::map<std::string, size_t> drawn_from;  // data -> images used
  size_t available = 0;                      // images the data held
  int64_t start_ms = 0;
};

inline constexpr int64_t kDayMs = 86'400'000;

// InvalidArgument when the data hold fewer images than the scenario needs, or the redesign
// names a class the data lack.
StatusOr<Stream> BuildStream(const Scenario& scenario, const std::vector<DataRef>& data);

}  // namespace steadyeye::sim
