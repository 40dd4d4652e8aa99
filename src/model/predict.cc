#include "steadyeye/model/predict.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "steadyeye/calib/calibration.h"
#include "steadyeye/data/source.h"

namespace steadyeye {

LoadOptions LoadOptionsFor(const Classifier& model, size_t limit) {
  LoadOptions options;
  options.spec = model.card().input;
  options.class_names = model.card().class_names;
  options.limit = limit;
  return options;
}

namespace {

Prediction MakePrediction(std::span<const float> probs, size_t top_k) {
  Prediction p;
  p.probabilities.assign(probs.begin(), probs.end());
  std::vector<int> order(probs.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t k = std::min(top_k, order.size());
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int a, int b) { return probs[a] > probs[b]; });
  for (size_t i = 0; i < k; ++i) p.top.emplace_back(order[i], probs[order[i]]);
  p.label = order[0];
  p.probability = probs[order[0]];
  return p;
}

}  // namespace

void NormalizeRange(const Dataset& data, size_t start, size_t n, const InputSpec& spec,
                    float* out) {
  const size_t per = spec.values_per_image();
  for (size_t i = 0; i < n; ++i) {
    Normalize(data.pixels_of(start + i), spec, std::span<float>(out + i * per, per));
  }
}

StatusOr<std::vector<Prediction>> PredictImages(const Classifier& model,
                                                std::span<const Image> images, size_t top_k) {
  const InputSpec& spec = model.card().input;
  const size_t per = spec.values_per_image();
  std::vector<float> inputs(images.size() * per);
  for (size_t i = 0; i < images.size(); ++i) {
    Normalize(ConformImage(images[i], spec).pixels, spec,
              std::span<float>(inputs.data() + i * per, per));
  }
  SEYE_ASSIGN_OR_RETURN(auto logits, model.Logits(inputs, images.size()));
  const size_t k = model.num_classes();
  const auto probs = TemperedSoftmax(logits, k, model.temperature());
  std::vector<Prediction> out;
  out.reserve(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    out.push_back(MakePrediction(std::span<const float>(probs.data() + i * k, k), top_k));
  }
  return out;
}

StatusOr<std::vector<float>> PredictDataset(
    const Classifier& model, const Dataset& data, size_t batch_size,
    const std::function<void(size_t, size_t)>& on_progress) {
  SEYE_ASSIGN_OR_RETURN(const auto logits, DatasetLogits(model, data, batch_size, on_progress));
  return TemperedSoftmax(logits, model.num_classes(), model.temperature());
}

StatusOr<std::vector<float>> DatasetLogits(const Classifier& model, const Dataset& data,
                                           size_t batch_size,
                                           const std::function<void(size_t, size_t)>& on_progress) {
  const InputSpec& spec = model.card().input;
  if (data.channels != spec.channels || data.height != spec.height || data.width != spec.width) {
    return InvalidArgumentError("data is " + std::to_string(data.channels) + "x" +
                                std::to_string(data.height) + "x" + std::to_string(data.width) +
                                " but the model expects " + spec.ShapeString());
  }
  const size_t per = spec.values_per_image();
  const size_t k = model.num_classes();
  std::vector<float> all(data.size() * k);
  std::vector<float> inputs;
  for (size_t start = 0; start < data.size(); start += batch_size) {
    const size_t n = std::min(batch_size, data.size() - start);
    inputs.resize(n * per);
    NormalizeRange(data, start, n, spec, inputs.data());
    SEYE_ASSIGN_OR_RETURN(auto logits, model.Logits(inputs, n));
    std::copy(logits.begin(), logits.end(), all.begin() + start * k);
    if (on_progress) on_progress(start + n, data.size());
  }
  return all;
}

}  // namespace steadyeye
