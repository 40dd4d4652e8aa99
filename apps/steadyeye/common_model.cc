// The shared CLI helpers that need the model module, kept apart from common.cc so that the
// launcher (app.h) links without LibTorch.
#include "common.h"
#include "steadyeye/model/predict.h"

namespace steadyeye::cli {

StatusOr<Dataset> LoadForModel(const DataRef& ref, const Classifier& model, size_t limit) {
  return LoadWithProgress(ref, LoadOptionsFor(model, limit));
}

}  // namespace steadyeye::cli
