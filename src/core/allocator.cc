#include "steadyeye/core/allocator.h"

#include <malloc.h>

#include <mutex>

namespace steadyeye {

void TuneAllocatorForLargeBuffers() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  });
}

}  // namespace steadyeye
