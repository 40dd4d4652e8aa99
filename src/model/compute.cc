#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "sanitizer_allocator.h"
#include "steadyeye/core/allocator.h"
#include "steadyeye/model/classifier.h"

namespace steadyeye {

namespace {
// The configured count. OpenMP keeps the thread count per calling thread, so a thread other than
// the one that called ConfigureCompute (a server's model thread) would otherwise use every core.
std::atomic<int> configured_threads{0};
}  // namespace

void ConfigureCompute(int threads) {
  TuneAllocatorForLargeBuffers();
  // Installed at load already; the call links the allocator into every program that computes.
  UseReusingAllocatorUnderAddressSanitizer();
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  // More threads than cores makes OpenMP's barriers collapse when one is descheduled.
  configured_threads = threads <= 0 ? cores : std::min(threads, cores);
  at::set_num_threads(configured_threads);
}

int ComputeThreads() { return at::get_num_threads(); }

void ApplyComputeThreadsToThisThread() {
  thread_local int applied = 0;
  const int wanted = configured_threads.load();
  if (wanted > 0 && applied != wanted) {
    at::set_num_threads(wanted);
    applied = wanted;
  }
}

}  // namespace steadyeye
