#include <torch/script.h>

#include <sstream>

#include "factories.h"
#include "native_classifier.h"
#include "steadyeye/core/file.h"
#include "steadyeye/core/hash.h"

namespace steadyeye::internal {

namespace {

class TorchScriptClassifier final : public Classifier {
 public:
  TorchScriptClassifier(ModelCard card, std::vector<uint8_t> script, torch::jit::Module module)
      : Classifier(std::move(card)), script_(std::move(script)), module_(std::move(module)) {}

 protected:
  StatusOr<std::vector<float>> Run(
      std::span<const float> inputs, size_t batch,
      std::vector<float>* /*embeddings: none exposed*/) const override {
    const auto& in = card_.input;
    return GuardTorch("TorchScript inference", [&]() -> StatusOr<std::vector<float>> {
      c10::InferenceMode guard;
      const auto x = torch::from_blob(const_cast<float*>(inputs.data()),
                                      {int64_t(batch), in.channels, in.height, in.width});
      // jit::Module::forward is not const, but running a frozen module mutates nothing.
      auto& module = const_cast<torch::jit::Module&>(module_);
      const auto out = module.forward({x});
      if (!out.isTensor()) return InvalidArgumentError("TorchScript model did not return a tensor");
      const auto logits = out.toTensor().to(torch::kFloat).contiguous();
      if (logits.dim() != 2 || logits.size(0) != int64_t(batch) ||
          logits.size(1) != int64_t(num_classes())) {
        return InvalidArgumentError("TorchScript model returned shape " +
                                    std::to_string(logits.dim() == 2 ? logits.size(1) : -1) +
                                    " classes per image; the card has " +
                                    std::to_string(num_classes()));
      }
      return std::vector<float>(logits.data_ptr<float>(),
                                logits.data_ptr<float>() + logits.numel());
    });
  }

  StatusOr<std::vector<uint8_t>> SerializeWeights() const override { return script_; }

 private:
  std::vector<uint8_t> script_;
  torch::jit::Module module_;
};

}  // namespace

StatusOr<std::unique_ptr<Classifier>> LoadTorchScriptClassifier(ModelCard card,
                                                                std::vector<uint8_t> script) {
  torch::jit::Module module;
  try {
    std::istringstream in(std::string(script.begin(), script.end()));
    module = torch::jit::load(in);
    module.eval();
    // Freezing inlines weights as constants; optimize_for_inference then folds BatchNorm and
    // pre-packs convolutions for oneDNN, the fast path for CPU inference.
    module = torch::jit::optimize_for_inference(module);
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("not a loadable TorchScript module: ") + e.what());
  }
  return std::unique_ptr<Classifier>(
      new TorchScriptClassifier(std::move(card), std::move(script), std::move(module)));
}

}  // namespace steadyeye::internal

namespace steadyeye {

StatusOr<std::unique_ptr<Classifier>> ImportTorchScript(const std::filesystem::path& script,
                                                        ModelCard card) {
  SEYE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(script));
  card.kind = "torchscript";
  card.architecture = "torchscript";
  card.id = ToHex(Sha256Of(bytes)).substr(0, 16);
  if (card.created_at.empty()) card.created_at = UtcNowIso8601();
  // Round-trip through JSON so that an imported card passes exactly the checks a loaded one does.
  SEYE_ASSIGN_OR_RETURN(card, ModelCard::FromJson(card.ToJson()));
  SEYE_ASSIGN_OR_RETURN(auto model, internal::LoadTorchScriptClassifier(card, std::move(bytes)));
  const std::vector<float> probe(card.input.values_per_image(), 0.0f);
  SEYE_ASSIGN_OR_RETURN(auto logits, model->Logits(probe, 1));
  (void)logits;  // the shape check inside Logits is what matters here
  return model;
}

}  // namespace steadyeye
