// Internal (LibTorch): the "seye-cnn" architecture and its inference plan.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace steadyeye::internal {

// Stages of 3x3 conv + BatchNorm + ReLU blocks, 2x2 max-pooling between stages, global average
// pooling and a linear head. Global pooling lets one architecture take any input size.
struct SeyeCnnImpl : torch::nn::Module {
  SeyeCnnImpl(int in_channels, const std::vector<int>& widths, const std::vector<int>& depths,
              int num_classes);

  torch::Tensor forward(torch::Tensor x);

  std::vector<torch::nn::Conv2d> convs;
  std::vector<torch::nn::BatchNorm2d> norms;
  std::vector<bool> pool_after;  // per block: a 2x2 max-pool follows it
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(SeyeCnn);

// Inference-only form of a trained SeyeCnn: BatchNorm folded into the convolution weights,
// weights pre-packed in oneDNN's blocked layout once, activations kept in that layout between
// layers. This avoids the per-call layout conversions and BatchNorm passes of the eager module,
// which cost most of the time at small batch sizes. Immutable; Forward is thread-safe.
class FastPlan {
 public:
  explicit FastPlan(SeyeCnnImpl& net);
  // x: dense float [N, C, H, W]. Returns dense float [N, K] logits; when `features` is not
  // null, sets it to the pooled penultimate features [N, embedding_size()] the head reads.
  torch::Tensor Forward(const torch::Tensor& x, torch::Tensor* features = nullptr) const;
  size_t embedding_size() const { return size_t(head_weight_.size(1)); }

 private:
  struct Layer {
    torch::Tensor weight;  // oneDNN-packed, BatchNorm folded in
    torch::Tensor bias;
    bool pool_after = false;
  };
  std::vector<Layer> layers_;
  torch::Tensor head_weight_;
  torch::Tensor head_bias_;
};

}  // namespace steadyeye::internal
