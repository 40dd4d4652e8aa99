// Model-only inference throughput of a trained model bundle: steadyeye's inference plan versus
// plain eager LibTorch, at several batch sizes and thread counts, as % of one core's FMA peak.
//
//   build/bench/inference_bench MODEL.seye [--seconds S]
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "fma_peak.h"
#include "native_classifier.h"
#include "network.h"
#include "steadyeye/model/classifier.h"

namespace {

using steadyeye::internal::SeyeCnn;

// Multiply-adds x 2 of every convolution and the head, for one image.
double FlopsPerImage(SeyeCnn& net, int channels, int height, int width) {
  double flops = 0;
  int h = height, w = width, c = channels;
  for (size_t i = 0; i < net->convs.size(); ++i) {
    const auto& weight = net->convs[i]->weight;
    const int out = int(weight.size(0));
    flops += 2.0 * h * w * out * c * 9;
    c = out;
    if (net->pool_after[i]) {
      h /= 2;
      w /= 2;
    }
  }
  return flops + 2.0 * c * net->head->weight.size(0);
}

template <typename F>
double ImagesPerSecond(F&& forward, int batch, double seconds) {
  for (int i = 0; i < 10; ++i) forward();
  long runs = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    forward();
    ++runs;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return double(runs) * batch / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: inference_bench MODEL.seye [--seconds S]\n");
    return 2;
  }
  double seconds = 2.0;
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::stod(argv[i + 1]);
  }
  steadyeye::ConfigureCompute(1);
  auto loaded = steadyeye::Classifier::Load(argv[1]);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
    return 1;
  }
  const auto& card = (*loaded)->card();
  // The eager module, for comparison: the same architecture run as plain LibTorch in eval mode.
  // Its weights are freshly initialised; the time of a forward pass does not depend on them.
  auto built = steadyeye::internal::BuildNetwork(card);
  if (!built.ok()) {
    std::fprintf(stderr, "%s\n", built.status().ToString().c_str());
    return 1;
  }
  auto bundle_net = *built;
  const double peak = MeasureFmaPeakGflops();
  const double flops = FlopsPerImage(bundle_net, card.input.channels, card.input.height, card.input.width);
  std::printf("model %s (%s, widths %s, depths %s): %.1f MFLOP/image\n", argv[1], card.id.c_str(),
              card.hyperparameters["widths"].dump().c_str(), card.hyperparameters["depths"].dump().c_str(),
              flops / 1e6);
  std::printf("one-thread FP32 FMA peak: %.1f GFLOP/s (%% of peak below: of threads x this)\n\n", peak);
  std::printf("%-8s %7s %5s %12s %10s %12s\n", "path", "threads", "batch", "images/s", "GFLOP/s", "% of peak");
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    for (int batch : {1, 8, 32, 128}) {
      std::vector<float> input(size_t(batch) * card.input.values_per_image(), 0.1f);
      const double fast = ImagesPerSecond([&] { (void)(*loaded)->Logits(input, batch); }, batch, seconds);
      bundle_net->eval();
      const auto x = torch::full({batch, card.input.channels, card.input.height, card.input.width}, 0.1f);
      const double eager = ImagesPerSecond(
          [&] {
            torch::NoGradGuard no_grad;
            (void)bundle_net->forward(x);
          },
          batch, seconds);
      for (auto [name, rate] : {std::pair{"fast", fast}, std::pair{"eager", eager}}) {
        const double gflops = rate * flops / 1e9;
        std::printf("%-8s %7d %5d %12.0f %10.1f %11.1f%%\n", name, threads, batch, rate, gflops,
                    100 * gflops / (peak * threads));
      }
    }
  }
  return 0;
}
