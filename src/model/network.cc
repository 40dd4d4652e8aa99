#include "network.h"

#include <ATen/ATen.h>

namespace steadyeye::internal {

SeyeCnnImpl::SeyeCnnImpl(int in_channels, const std::vector<int>& widths,
                         const std::vector<int>& depths, int num_classes) {
  int channels = in_channels;
  int index = 0;
  for (size_t stage = 0; stage < widths.size(); ++stage) {
    for (int d = 0; d < depths[stage]; ++d, ++index) {
      convs.push_back(register_module(
          "conv" + std::to_string(index),
          torch::nn::Conv2d(
              torch::nn::Conv2dOptions(channels, widths[stage], 3).padding(1).bias(false))));
      norms.push_back(
          register_module("bn" + std::to_string(index), torch::nn::BatchNorm2d(widths[stage])));
      pool_after.push_back(d + 1 == depths[stage] && stage + 1 < widths.size());
      channels = widths[stage];
    }
  }
  head = register_module("head", torch::nn::Linear(channels, num_classes));
}

torch::Tensor SeyeCnnImpl::forward(torch::Tensor x) {
  for (size_t i = 0; i < convs.size(); ++i) {
    x = torch::relu(norms[i]->forward(convs[i]->forward(x)));
    if (pool_after[i]) x = torch::max_pool2d(x, 2);
  }
  x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return head->forward(x);
}

FastPlan::FastPlan(SeyeCnnImpl& net) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < net.convs.size(); ++i) {
    auto& bn = net.norms[i];
    const auto scale = bn->weight / torch::sqrt(bn->running_var + bn->options.eps());
    const auto weight = net.convs[i]->weight * scale.view({-1, 1, 1, 1});
    Layer layer;
    layer.bias = (bn->bias - bn->running_mean * scale).contiguous();
    layer.weight = at::mkldnn_reorder_conv2d_weight(weight.contiguous().to_mkldnn(), {1, 1}, {1, 1},
                                                    {1, 1}, 1);
    layer.pool_after = net.pool_after[i];
    layers_.push_back(std::move(layer));
  }
  head_weight_ = net.head->weight.detach().clone();
  head_bias_ = net.head->bias.detach().clone();
}

torch::Tensor FastPlan::Forward(const torch::Tensor& x, torch::Tensor* features) const {
  torch::Tensor h = x.to_mkldnn();
  for (const auto& layer : layers_) {
    h = at::mkldnn_convolution(h, layer.weight, layer.bias, {1, 1}, {1, 1}, {1, 1}, 1);
    h = at::relu_(h);
    if (layer.pool_after) h = at::mkldnn_max_pool2d(h, {2, 2}, {2, 2});
  }
  h = at::mkldnn_adaptive_avg_pool2d(h, {1, 1}).to_dense().flatten(1);
  if (features) *features = h;
  return torch::linear(h, head_weight_, head_bias_);
}

}  // namespace steadyeye::internal
