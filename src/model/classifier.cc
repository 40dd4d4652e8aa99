#include "steadyeye/model/classifier.h"

#include "bundle.h"
#include "factories.h"

namespace steadyeye {

StatusOr<std::vector<float>> Classifier::Logits(std::span<const float> inputs, size_t batch) const {
  return CheckedRun(inputs, batch, nullptr);
}

StatusOr<std::vector<float>> Classifier::LogitsAndEmbeddings(std::span<const float> inputs,
                                                             size_t batch,
                                                             std::vector<float>& embeddings) const {
  embeddings.clear();
  return CheckedRun(inputs, batch, &embeddings);
}

StatusOr<std::vector<float>> Classifier::CheckedRun(std::span<const float> inputs, size_t batch,
                                                    std::vector<float>* embeddings) const {
  const size_t expected = batch * card_.input.values_per_image();
  if (inputs.size() != expected) {
    return InvalidArgumentError("expected " + std::to_string(expected) +
                                " input values for a batch of " + std::to_string(batch) + ", got " +
                                std::to_string(inputs.size()));
  }
  if (batch == 0) return std::vector<float>{};
  ApplyComputeThreadsToThisThread();
  return Run(inputs, batch, embeddings);
}

Status Classifier::Save(const std::filesystem::path& path) const {
  SEYE_ASSIGN_OR_RETURN(auto weights, SerializeWeights());
  return internal::WriteBundle(path, {card_.ToJson().dump(2), std::move(weights)});
}

StatusOr<std::unique_ptr<Classifier>> Classifier::Load(const std::filesystem::path& path) {
  SEYE_ASSIGN_OR_RETURN(internal::BundleContents contents, internal::ReadBundle(path));
  const auto json = nlohmann::json::parse(contents.card_json, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return DataLossError(path.string() + ": model card is not valid JSON");
  }
  auto card = ModelCard::FromJson(json);
  if (!card.ok()) return card.status().WithContext(path.string());
  StatusOr<std::unique_ptr<Classifier>> model =
      card->kind == "native"
          ? internal::LoadNativeClassifier(std::move(*card), contents.weights)
          : internal::LoadTorchScriptClassifier(std::move(*card), std::move(contents.weights));
  if (!model.ok()) return model.status().WithContext(path.string());
  return model;
}

}  // namespace steadyeye
