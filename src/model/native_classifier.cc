#include "native_classifier.h"

#include <sstream>

#include "factories.h"
#include "steadyeye/core/hash.h"

namespace steadyeye::internal {

namespace {

class NativeClassifier final : public Classifier {
 public:
  NativeClassifier(ModelCard card, SeyeCnn net)
      : Classifier(std::move(card)), net_(std::move(net)), plan_(*net_) {}

  size_t embedding_size() const override { return plan_.embedding_size(); }
  StatusOr<std::vector<uint8_t>> Weights() const { return SerializeWeights(); }

 protected:
  StatusOr<std::vector<float>> Run(std::span<const float> inputs, size_t batch,
                                   std::vector<float>* embeddings) const override {
    const auto& in = card_.input;
    return GuardTorch("inference", [&]() -> StatusOr<std::vector<float>> {
      c10::InferenceMode guard;
      const auto x = torch::from_blob(const_cast<float*>(inputs.data()),
                                      {int64_t(batch), in.channels, in.height, in.width});
      torch::Tensor features;
      const auto logits = plan_.Forward(x, embeddings ? &features : nullptr).contiguous();
      if (embeddings) {
        features = features.contiguous();
        embeddings->assign(features.data_ptr<float>(),
                           features.data_ptr<float>() + features.numel());
      }
      return std::vector<float>(logits.data_ptr<float>(),
                                logits.data_ptr<float>() + logits.numel());
    });
  }

  StatusOr<std::vector<uint8_t>> SerializeWeights() const override {
    return GuardTorch("serializing weights", [&]() -> StatusOr<std::vector<uint8_t>> {
      std::ostringstream out;
      torch::save(net_, out);
      const std::string s = out.str();
      return std::vector<uint8_t>(s.begin(), s.end());
    });
  }

 private:
  SeyeCnn net_;  // kept for serialization; inference goes through plan_
  FastPlan plan_;
};

}  // namespace

StatusOr<SeyeCnn> BuildNetwork(const ModelCard& card) {
  if (card.architecture != "seye-cnn") {
    return FailedPreconditionError("unknown architecture '" + card.architecture + "'");
  }
  std::vector<int> widths, depths;
  try {
    widths = card.hyperparameters.at("widths").get<std::vector<int>>();
    depths = card.hyperparameters.at("depths").get<std::vector<int>>();
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("seye-cnn hyperparameters: ") + e.what());
  }
  if (widths.empty() || widths.size() != depths.size()) {
    return InvalidArgumentError("seye-cnn needs as many depths as widths (at least one stage)");
  }
  for (size_t i = 0; i < widths.size(); ++i) {
    if (widths[i] < 1 || widths[i] > 1024 || depths[i] < 1 || depths[i] > 16) {
      return InvalidArgumentError("seye-cnn stage sizes out of range");
    }
  }
  return GuardTorch("building network", [&]() -> StatusOr<SeyeCnn> {
    return SeyeCnn(card.input.channels, widths, depths, int(card.class_names.size()));
  });
}

StatusOr<SeyeCnn> CopyNetwork(const Classifier& model) {
  const auto* native = dynamic_cast<const NativeClassifier*>(&model);
  if (!native) {
    return FailedPreconditionError("model " + model.card().id + " (" + model.card().kind +
                                   ") is not steadyeye's own architecture: it has no BatchNorm "
                                   "statistics to adapt");
  }
  SEYE_ASSIGN_OR_RETURN(const std::vector<uint8_t> weights, native->Weights());
  SEYE_ASSIGN_OR_RETURN(SeyeCnn net, BuildNetwork(model.card()));
  return GuardTorch("copying the network", [&]() -> StatusOr<SeyeCnn> {
    std::istringstream in(std::string(weights.begin(), weights.end()));
    torch::load(net, in);
    return net;
  });
}

StatusOr<std::unique_ptr<Classifier>> MakeNativeClassifier(ModelCard card, SeyeCnn net) {
  return GuardTorch("preparing model", [&]() -> StatusOr<std::unique_ptr<Classifier>> {
    net->eval();
    std::ostringstream out;
    torch::save(net, out);
    const std::string weights = out.str();
    const Digest digest = Sha256Of(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(weights.data()), weights.size()));
    card.id = ToHex(digest).substr(0, 16);
    return std::unique_ptr<Classifier>(new NativeClassifier(std::move(card), std::move(net)));
  });
}

StatusOr<std::unique_ptr<Classifier>> LoadNativeClassifier(ModelCard card,
                                                           const std::vector<uint8_t>& weights) {
  SEYE_ASSIGN_OR_RETURN(SeyeCnn net, BuildNetwork(card));
  try {
    std::istringstream in(std::string(weights.begin(), weights.end()));
    torch::load(net, in);
    net->eval();
    return std::unique_ptr<Classifier>(new NativeClassifier(std::move(card), std::move(net)));
  } catch (const std::exception& e) {
    // The checksum passed, so the bytes are as written: they do not fit the card.
    return DataLossError(std::string("weights do not match the model card's architecture: ") +
                         e.what());
  }
}

}  // namespace steadyeye::internal
