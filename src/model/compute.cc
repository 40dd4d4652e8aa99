#include <ATen/Parallel.h>
#include <malloc.h>

#include <algorithm>
#include <mutex>
#include <thread>

#include "steadyeye/model/classifier.h"

namespace steadyeye {

namespace {

// LibTorch allocates a fresh buffer for every operator output. Above glibc's mmap threshold each
// one is a new mapping that page-faults on first touch and is unmapped on free; measured here,
// that tripled the time of a training step. Raising the thresholds keeps freed blocks in the
// heap for reuse. Done once, before the first large allocation.
void TuneAllocator() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  });
}

}  // namespace

void ConfigureCompute(int threads) {
  TuneAllocator();
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  // More threads than cores makes OpenMP's barriers collapse when one is descheduled.
  at::set_num_threads(threads <= 0 ? cores : std::min(threads, cores));
}

int ComputeThreads() { return at::get_num_threads(); }

}  // namespace steadyeye
