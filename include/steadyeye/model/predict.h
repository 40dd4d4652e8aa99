// From images to class probabilities through a Classifier, in batches. The single path used by
// eval, predict and (later) serving.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/data/dataset.h"
#include "steadyeye/image/image.h"
#include "steadyeye/model/classifier.h"

namespace steadyeye {

struct Prediction {
  int label = -1;
  float probability = 0;
  std::vector<std::pair<int, float>> top;  // best first
  std::vector<float> probabilities;
};

struct LoadOptions;  // data/source.h
// How to load data for `model`: conformed to its input, its classes in its order, at most
// `limit` images (0 = all).
LoadOptions LoadOptionsFor(const Classifier& model, size_t limit = 0);

// Normalises images [start, start + n) of `data` (already conformed to `spec`) into `out`
// (n * spec.values_per_image() floats, CHW per image).
void NormalizeRange(const Dataset& data, size_t start, size_t n, const InputSpec& spec, float* out);

// Conforms each image to the model's input spec, normalises, runs the model. Probabilities are
// calibrated: softmax at the model's temperature.
StatusOr<std::vector<Prediction>> PredictImages(const Classifier& model,
                                                std::span<const Image> images, size_t top_k = 3);

// Raw logits (size() x num_classes) for every image of a dataset already conformed to the
// model's input size. `on_progress(done, total)` is called after each batch.
StatusOr<std::vector<float>> DatasetLogits(
    const Classifier& model, const Dataset& data, size_t batch_size = 256,
    const std::function<void(size_t, size_t)>& on_progress = {});

// Calibrated probabilities (softmax of DatasetLogits at the model's temperature).
StatusOr<std::vector<float>> PredictDataset(
    const Classifier& model, const Dataset& data, size_t batch_size = 256,
    const std::function<void(size_t, size_t)>& on_progress = {});

}  // namespace steadyeye
