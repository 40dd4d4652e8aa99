// Test helper: a slice of real Fashion-MNIST, spread evenly over the classes.
#pragma once

#include "steadyeye/data/source.h"

namespace steadyeye::testing {

inline StatusOr<Dataset> LoadFashionMnist(Split split, size_t limit) {
  DataRef ref;
  ref.split = split;
  LoadOptions options;
  options.limit = limit;
  return LoadDataset(ref, options);
}

}  // namespace steadyeye::testing
