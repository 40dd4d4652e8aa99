// Internal: constructors of the concrete classifiers, so that classifier.cc (bundle I/O)
// needs no LibTorch headers.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "steadyeye/model/classifier.h"

namespace steadyeye::internal {

StatusOr<std::unique_ptr<Classifier>> LoadNativeClassifier(ModelCard card,
                                                           const std::vector<uint8_t>& weights);
StatusOr<std::unique_ptr<Classifier>> LoadTorchScriptClassifier(ModelCard card,
                                                                std::vector<uint8_t> script);

}  // namespace steadyeye::internal
