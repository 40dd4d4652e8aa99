// Training views of production conditions: how robust training shows the model the conditions
// it was told to expect. Only anticipated conditions are ever used; held-out ones stay unseen so
// that they measure generalisation honestly. Deterministic for a given seed; thread-safe.
#pragma once

#include <cstdint>

#include "steadyeye/core/status.h"
#include "steadyeye/image/image.h"

namespace steadyeye {

struct ProductionViewOptions {
  // Share of views that are one anticipated condition at full strength (uniform condition and
  // severity 1..5); the rest are AugMix-style mixtures (Hendrycks et al., ICLR 2020): `width`
  // chains of 1..`max_depth` random anticipated conditions, blended with Dirichlet(1) weights,
  // then blended with the input with a Beta(1,1) weight. Pure views teach the anticipated
  // conditions as they will occur; mixtures cover combinations and in-between strengths, which
  // is what AugMix credits for robustness to corruptions never trained on.
  double pure_share = 0.5;
  int width = 3;
  int max_depth = 3;
};

// A production view of `image` (same size and channels). InvalidArgument for an empty image.
StatusOr<Image> ProductionView(const Image& image, uint64_t seed,
                               const ProductionViewOptions& options = {});

}  // namespace steadyeye
