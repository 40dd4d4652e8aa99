#include "steadyeye/data/splits.h"

#include <algorithm>

namespace steadyeye {

TrainingSplits SplitForTraining(const Dataset& all, uint64_t split_seed) {
  const size_t n = all.size();
  const size_t floor = 2 * all.class_names.size();
  const size_t n_val = std::min<size_t>(3000, std::max(floor, n / 20));
  const size_t n_calib = std::min<size_t>(5000, std::max(floor, n / 12));
  const size_t sizes[] = {n_val, n_calib, 0};
  const auto parts = StratifiedSplit(all.labels, int(all.class_names.size()), sizes, split_seed);
  return {all.Subset(parts[2]), all.Subset(parts[0]), all.Subset(parts[1])};
}

}  // namespace steadyeye
