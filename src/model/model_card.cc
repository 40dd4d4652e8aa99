#include "steadyeye/model/model_card.h"

#include <set>

#include "steadyeye/core/hash.h"

namespace steadyeye {

using nlohmann::json;

std::string ModelCard::Version() const {
  if (!calibration && quality_baseline.is_null()) return id;
  const std::string fitted =
      (calibration ? calibration->ToJson().dump() : "") + "|" + quality_baseline.dump();
  const Digest digest = Sha256Of(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(fitted.data()), fitted.size()));
  return id + "." + ToHex(digest).substr(0, 8);
}

json ModelCard::ToJson() const {
  json j{
      {"format", kModelCardFormat},
      {"id", id},
      {"parent_id", parent_id},
      {"created_at", created_at},
      {"kind", kind},
      {"architecture", architecture},
      {"hyperparameters", hyperparameters},
      {"class_names", class_names},
      {"input",
       {{"channels", input.channels},
        {"height", input.height},
        {"width", input.width},
        {"mean", input.mean},
        {"std", input.std}}},
      {"training_data", training_data},
      {"seed", seed},
      {"threads", threads},
      {"metrics", metrics},
  };
  if (calibration) j["calibration"] = calibration->ToJson();
  if (!quality_baseline.is_null()) j["quality_baseline"] = quality_baseline;
  return j;
}

StatusOr<ModelCard> ModelCard::FromJson(const json& j) {
  ModelCard card;
  try {
    const int format = j.at("format").get<int>();
    if (format > kModelCardFormat) {
      return FailedPreconditionError("model card format " + std::to_string(format) +
                                     " is newer than this build understands (" +
                                     std::to_string(kModelCardFormat) + ")");
    }
    card.id = j.at("id").get<std::string>();
    card.parent_id = j.value("parent_id", "");
    card.created_at = j.value("created_at", "");
    card.kind = j.at("kind").get<std::string>();
    card.architecture = j.at("architecture").get<std::string>();
    card.hyperparameters = j.value("hyperparameters", json::object());
    card.class_names = j.at("class_names").get<std::vector<std::string>>();
    const json& in = j.at("input");
    card.input.channels = in.at("channels").get<int>();
    card.input.height = in.at("height").get<int>();
    card.input.width = in.at("width").get<int>();
    card.input.mean = in.at("mean").get<std::vector<float>>();
    card.input.std = in.at("std").get<std::vector<float>>();
    card.training_data = j.value("training_data", json::object());
    card.seed = j.value("seed", uint64_t{0});
    card.threads = j.value("threads", 0);
    card.metrics = j.value("metrics", json::object());
  } catch (const json::exception& e) {
    return InvalidArgumentError(std::string("invalid model card: ") + e.what());
  }
  if (j.contains("quality_baseline")) card.quality_baseline = j["quality_baseline"];
  if (j.contains("calibration") && !j["calibration"].is_null()) {
    auto calibration = Calibration::FromJson(j["calibration"]);
    if (!calibration.ok()) return calibration.status().WithContext("invalid model card");
    card.calibration = std::move(*calibration);
  }
  if (card.kind != "native" && card.kind != "torchscript") {
    return FailedPreconditionError("unknown model kind '" + card.kind + "'");
  }
  if (card.class_names.size() < 2) {
    return InvalidArgumentError("invalid model card: needs at least 2 class names");
  }
  if (std::set<std::string>(card.class_names.begin(), card.class_names.end()).size() !=
      card.class_names.size()) {
    return InvalidArgumentError("invalid model card: class names are not unique");
  }
  if (Status st = card.input.Validate(); !st.ok()) return st.WithContext("invalid model card");
  return card;
}

}  // namespace steadyeye
