// Internal (LibTorch): the classifier for steadyeye's own architecture.
#pragma once

#include <memory>

#include "network.h"
#include "steadyeye/model/classifier.h"

namespace steadyeye::internal {

// Builds the network the card describes (architecture "seye-cnn"), with fresh weights.
StatusOr<SeyeCnn> BuildNetwork(const ModelCard& card);

// Takes a trained network (switched to eval mode here). Sets card.id from the weights, so the
// same weights always carry the same id.
StatusOr<std::unique_ptr<Classifier>> MakeNativeClassifier(ModelCard card, SeyeCnn net);

// A trainable copy of a native classifier's network (its weights and BatchNorm statistics).
// FailedPrecondition for another kind of model.
StatusOr<SeyeCnn> CopyNetwork(const Classifier& model);

// Runs a torch callable, turning LibTorch exceptions into an Internal status with `what`.
template <typename F>
auto GuardTorch(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return InternalError(std::string(what) + ": " + e.what());
  }
}

}  // namespace steadyeye::internal
