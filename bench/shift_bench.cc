// Throughput of every production condition, single thread, at 28x28 gray (Fashion-MNIST) and
// 1280x720 RGB (a typical camera frame). Both sizes are measured in the same run.
//
//   build/bench/shift_bench [--seconds S]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "bench_images.h"
#include "steadyeye/core/allocator.h"
#include "steadyeye/shift/shift.h"

namespace {

double ImagesPerSecond(const steadyeye::Image& img, const std::string& condition, double seconds) {
  long n = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds || n < 3) {
    const auto out = steadyeye::ApplyCondition(img, condition, 3, uint64_t(n));
    if (!out.ok()) return 0;
    ++n;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return double(n) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  // As the steadyeye binary does at start-up.
  steadyeye::TuneAllocatorForLargeBuffers();
  double seconds = 0.5;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::stod(argv[i + 1]);
  }
  const auto small = steadyeye::bench::Textured(28, 28, 1), large = steadyeye::bench::Textured(1280, 720, 3);
  std::printf("%-15s %14s %18s\n", "condition", "28x28 img/s", "1280x720 img/s");
  for (const auto& c : steadyeye::AllConditions()) {
    std::printf("%-15s %14.0f %18.1f\n", c.name.c_str(), ImagesPerSecond(small, c.name, seconds),
                ImagesPerSecond(large, c.name, seconds));
  }
  return 0;
}
