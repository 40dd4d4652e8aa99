// A small TorchScript classifier built from C++ (no Python needed): conv + global pooling +
// linear, 1x28x28 input, `classes` outputs.
#pragma once

#include <torch/script.h>

inline torch::jit::Module MakeScriptClassifier(int classes) {
  torch::manual_seed(11);
  torch::jit::Module m("TinyNet");
  m.register_parameter("cw", torch::randn({6, 1, 3, 3}) * 0.3, false);
  m.register_parameter("cb", torch::randn({6}) * 0.1, false);
  m.register_parameter("lw", torch::randn({classes, 6}), false);
  m.register_parameter("lb", torch::randn({classes}), false);
  m.define(R"(
    def forward(self, x):
        h = torch.relu(torch.conv2d(x, self.cw, self.cb, [1, 1], [1, 1]))
        h = torch.mean(h, [2, 3])
        return torch.matmul(h, self.lw.t()) + self.lb
  )");
  return m;
}
