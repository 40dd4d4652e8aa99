// The model card: everything needed to use a model correctly and to know where it came from.
// Stored as JSON inside every bundle; printed by `steadyeye model-card`.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "steadyeye/calib/calibration.h"
#include "steadyeye/core/status.h"
#include "steadyeye/core/time.h"
#include "steadyeye/image/input_spec.h"

namespace steadyeye {

inline constexpr int kModelCardFormat = 1;

struct ModelCard {
  std::string id;          // version id: derived from the weights, so identical models share it
  std::string parent_id;   // the version (Version()) this one was derived from; empty if fresh
  std::string created_at;  // ISO 8601 UTC
  std::string kind;        // "native" (trained by steadyeye) or "torchscript" (imported)
  std::string architecture;
  nlohmann::json hyperparameters = nlohmann::json::object();
  std::vector<std::string> class_names;
  InputSpec input;
  // Data actually used: {"source", "fingerprint", "n_train", "n_val", "n_calib", ...}.
  nlohmann::json training_data = nlohmann::json::object();
  uint64_t seed = 0;
  int threads = 0;
  nlohmann::json metrics = nlohmann::json::object();  // at training time, on validation data
  // Temperature and certified threshold (calib/calibration.h); absent until calibrated, and
  // then confidences are plain softmax and nothing is decided automatically.
  std::optional<Calibration> calibration;
  // The quality gate's baseline learned from the training images (quality/quality.h JSON):
  // the fallback for sites without their own. Null when none was recorded.
  nlohmann::json quality_baseline;

  // The version a deployment serves, records with every decision and keys its registry by: the
  // weights' id alone, or "<id>.<8 hex>" with a digest of the calibration and the quality
  // baseline when either is present. Re-fitting them (for one site, say) makes a new version
  // of the same weights.
  std::string Version() const;

  nlohmann::json ToJson() const;
  // Validates required fields, class names (non-empty, unique) and the input spec.
  static StatusOr<ModelCard> FromJson(const nlohmann::json& j);
};

}  // namespace steadyeye
