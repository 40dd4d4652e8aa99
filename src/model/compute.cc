#include <ATen/Parallel.h>

#include <algorithm>
#include <thread>

#include "steadyeye/core/allocator.h"
#include "steadyeye/model/classifier.h"

namespace steadyeye {

void ConfigureCompute(int threads) {
  TuneAllocatorForLargeBuffers();
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  // More threads than cores makes OpenMP's barriers collapse when one is descheduled.
  at::set_num_threads(threads <= 0 ? cores : std::min(threads, cores));
}

int ComputeThreads() { return at::get_num_threads(); }

}  // namespace steadyeye
