#include "steadyeye/model/adapt.h"

#include <algorithm>

#include "native_classifier.h"
#include "steadyeye/core/hash.h"
#include "steadyeye/model/predict.h"

namespace steadyeye {

namespace {

// Runs every image through the network in training mode, so that each BatchNorm layer's running
// statistics become the cumulative average over the batches. Batches are of nearly equal size
// (none of a single image, which BatchNorm cannot normalise), so each weighs about the same.
void AccumulateStatistics(internal::SeyeCnnImpl& net, const Dataset& images, const InputSpec& spec,
                          size_t batch_size) {
  const size_t n = images.size();
  const size_t batches = std::max<size_t>(1, (n + batch_size - 1) / batch_size);
  const size_t per = spec.values_per_image();
  std::vector<float> buffer;
  size_t start = 0;
  for (size_t b = 0; b < batches; ++b) {
    const size_t m = n / batches + (b < n % batches ? 1 : 0);
    buffer.resize(m * per);
    NormalizeRange(images, start, m, spec, buffer.data());
    const auto x =
        torch::from_blob(buffer.data(), {int64_t(m), spec.channels, spec.height, spec.width});
    net.forward(x);
    start += m;
  }
}

}  // namespace

StatusOr<std::unique_ptr<Classifier>> AdaptBatchNorm(const Classifier& model, const Dataset& images,
                                                     const AdaptOptions& options) {
  if (images.size() < 2)
    return InvalidArgumentError("adapting BatchNorm statistics needs at least 2 images");
  const InputSpec& spec = model.card().input;
  if (images.channels != spec.channels || images.height != spec.height ||
      images.width != spec.width)
    return InvalidArgumentError("the images are not conformed to the model's input size");
  SEYE_ASSIGN_OR_RETURN(internal::SeyeCnn net, internal::CopyNetwork(model));
  return internal::GuardTorch("adapting BatchNorm", [&]() -> StatusOr<std::unique_ptr<Classifier>> {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> source_mean, source_var;
    for (auto& bn : net->norms) {
      source_mean.push_back(bn->running_mean.clone());
      source_var.push_back(bn->running_var.clone());
      bn->reset_running_stats();
      bn->options.momentum(c10::nullopt);  // a cumulative average over the batches
    }
    net->train();
    AccumulateStatistics(*net, images, spec, std::max<size_t>(2, options.batch_size));
    const double n = double(images.size());
    const double w = options.source_prior / (options.source_prior + n);
    for (size_t i = 0; i < net->norms.size(); ++i) {
      auto& bn = net->norms[i];
      bn->running_mean.mul_(1 - w).add_(source_mean[i], w);
      bn->running_var.mul_(1 - w).add_(source_var[i], w);
      bn->options.momentum(0.1);
    }
    net->eval();
    ModelCard card = model.card();
    card.parent_id = model.card().Version();
    // The shift certificate was measured on the old weights; without one, drift suspends the
    // adapted model's automatic decisions instead of tightening them.
    if (card.calibration) card.calibration->shift.reset();
    card.training_data["adaptation"] = {{"method", "batchnorm-statistics"},
                                        {"images", images.size()},
                                        {"fingerprint", ToHex(images.Fingerprint())},
                                        {"source_prior", options.source_prior},
                                        {"site", options.site},
                                        {"source", options.source}};
    return internal::MakeNativeClassifier(std::move(card), std::move(net));
  });
}

}  // namespace steadyeye
