// Label-free adaptation of a model to a site's images: re-estimating the BatchNorm statistics.
//
// A network normalises each layer's activations with means and variances measured on its
// training images. When a site's images drift (glare, dust, compression), those statistics no
// longer fit, and accuracy falls even where the features are still informative. Re-estimating
// them on recent unlabelled images of the site recovers much of the loss without a single
// label: AdaBN (Li, Wang, Shi, Liu and Hou, "Revisiting Batch Normalization For Practical Domain
// Adaptation", 2016), and Schneider, Rusak, Eck, Bringmann, Brendel and Bethge, "Improving
// robustness against common corruptions by covariate shift adaptation" (NeurIPS 2020), whose
// prior blends the source statistics in with the weight of `source_prior` images, so that a
// small sample does not replace them outright.
//
// The result is a new model version (parent: the input's id) whose card records the adaptation;
// it keeps the input's calibration, which the promotion gate re-fits on the site's reviewed
// images before the model decides anything for that site.
#pragma once

#include <cstddef>
#include <memory>

#include "steadyeye/core/status.h"
#include "steadyeye/data/dataset.h"
#include "steadyeye/model/classifier.h"

namespace steadyeye {

struct AdaptOptions {
  size_t batch_size = 128;
  // Weight of the training statistics, in images (Schneider et al.'s N): the adapted mean is
  // (N * source + n * target) / (N + n) for n target images; 0 replaces them (AdaBN).
  double source_prior = 16;
  std::string site;    // recorded in the card
  std::string source;  // where the images came from, recorded in the card
};

// `images` are conformed to the model's input (predict.h's NormalizeRange is applied here).
// InvalidArgument for fewer than 2 images; FailedPrecondition for a model without BatchNorm
// (imported TorchScript).
StatusOr<std::unique_ptr<Classifier>> AdaptBatchNorm(const Classifier& model, const Dataset& images,
                                                     const AdaptOptions& options);

}  // namespace steadyeye
