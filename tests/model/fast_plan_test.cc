// The inference plan (BatchNorm folded, oneDNN-packed weights) must compute what the eager
// module computes in eval mode.
#include <gtest/gtest.h>

#include "network.h"

namespace steadyeye::internal {
namespace {

TEST(FastPlan, MatchesEagerModuleInEvalMode) {
  torch::manual_seed(5);
  for (int size : {28, 33}) {  // an odd size exercises the flooring max-pool
    SeyeCnn net(3, std::vector<int>{8, 16, 24}, std::vector<int>{2, 1, 1}, 7);
    {
      torch::NoGradGuard no_grad;
      // Non-trivial BatchNorm statistics, as after training.
      for (auto& bn : net->norms) {
        bn->running_mean.uniform_(-0.5, 0.5);
        bn->running_var.uniform_(0.5, 2.0);
        bn->weight.uniform_(0.5, 1.5);
        bn->bias.uniform_(-0.2, 0.2);
      }
    }
    net->eval();
    FastPlan plan(*net);
    for (int64_t batch : {1, 5}) {
      const auto x = torch::randn({batch, 3, size, size});
      torch::NoGradGuard no_grad;
      const auto expected = net->forward(x);
      const auto got = plan.Forward(x);
      ASSERT_EQ(got.sizes(), expected.sizes());
      EXPECT_TRUE(torch::allclose(got, expected, 1e-4, 1e-4))
          << "max diff " << (got - expected).abs().max().item<float>();
    }
  }
}

}  // namespace
}  // namespace steadyeye::internal
