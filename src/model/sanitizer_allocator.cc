#include "sanitizer_allocator.h"

// Only AddressSanitizer builds need this; elsewhere UseReusingAllocatorUnderAddressSanitizer()
// does nothing and LibTorch keeps its own allocator.
#if defined(__SANITIZE_ADDRESS__)

#include <c10/core/CPUAllocator.h>
#include <sanitizer/asan_interface.h>

#include <bit>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <new>

namespace steadyeye {

namespace {

// Why our own allocator: under AddressSanitizer every block above 128 KiB is a fresh mapping,
// unmapped again on free (mallopt cannot change that allocator), and LibTorch allocates such a
// block for every activation. On the virtual machines we test on, a page fault costs about 11 us
// (measured by touching 1 GiB of fresh 4 KiB pages), so a test that trains a small model spent
// 27 of its 61 seconds in the kernel, on 3 million page faults (68 thousand without ASan). This
// allocator keeps freed blocks mapped and hands them out again, poisoned while they wait, so a use
// after free or a read past the requested size is still reported by AddressSanitizer.
class ReusingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) const override {
    // Small blocks stay with AddressSanitizer's own allocator, which reuses them already.
    const size_t bytes = n + kHeaderBytes <= kLargestUnpooledBytes ? 0 : BlockBytes(n);
    void* block = bytes == 0 ? nullptr : TakeCached(bytes);
    if (block == nullptr) block = FreshBlock(bytes == 0 ? n + kHeaderBytes : bytes);
    static_cast<Header*>(block)->bytes = bytes;
    char* data = static_cast<char*>(block) + kHeaderBytes;
    ASAN_UNPOISON_MEMORY_REGION(data, n);
    if (bytes != 0) ASAN_POISON_MEMORY_REGION(data + n, bytes - kHeaderBytes - n);
    return {data, data, &Release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &Release; }

 private:
  struct Header {
    size_t bytes;
  };
  // Keeps the data 64-byte aligned, as LibTorch's vectorised kernels expect.
  static constexpr size_t kHeaderBytes = 64;
  static constexpr size_t kLargestUnpooledBytes = size_t{128} << 10;
  static constexpr int kSmallestClassLog2 = 17;
  static constexpr int kClasses = 24;
  // Freed blocks kept for reuse, in all; above it a freed block goes back to the system.
  static constexpr size_t kCacheLimitBytes = size_t{1} << 30;

  struct Cache {
    std::mutex mu;
    std::deque<void*> free_blocks[kClasses];
    size_t cached_bytes = 0;
  };
  static Cache& TheCache() {
    static auto* cache = new Cache;  // never destroyed: tensors may be freed during exit
    return *cache;
  }

  static size_t BlockBytes(size_t n) { return std::bit_ceil(n + kHeaderBytes); }
  static int ClassOf(size_t bytes) { return std::countr_zero(bytes) - kSmallestClassLog2; }

  static void* FreshBlock(size_t bytes) {
    // aligned_alloc wants a multiple of the alignment.
    void* block =
        std::aligned_alloc(kHeaderBytes, (bytes + kHeaderBytes - 1) / kHeaderBytes * kHeaderBytes);
    if (block == nullptr) throw std::bad_alloc();
    return block;
  }

  // First in, first out, so a freed block waits behind the others of its size before reuse
  // and a use after free has time to be caught.
  static void* TakeCached(size_t bytes) {
    const int cls = ClassOf(bytes);
    if (cls >= kClasses) return nullptr;
    Cache& cache = TheCache();
    std::lock_guard lock(cache.mu);
    auto& blocks = cache.free_blocks[cls];
    if (blocks.empty()) return nullptr;
    void* block = blocks.front();
    blocks.pop_front();
    cache.cached_bytes -= bytes;
    ASAN_UNPOISON_MEMORY_REGION(block, kHeaderBytes);
    return block;
  }

  static void Release(void* data) {
    void* block = static_cast<char*>(data) - kHeaderBytes;
    const size_t bytes = static_cast<Header*>(block)->bytes;
    if (bytes != 0) {
      const int cls = ClassOf(bytes);
      Cache& cache = TheCache();
      std::lock_guard lock(cache.mu);
      if (cls < kClasses && cache.cached_bytes + bytes <= kCacheLimitBytes) {
        ASAN_POISON_MEMORY_REGION(block, bytes);
        cache.free_blocks[cls].push_back(block);
        cache.cached_bytes += bytes;
        return;
      }
    }
    std::free(block);
  }
};

}  // namespace

void UseReusingAllocatorUnderAddressSanitizer() {
  // Never destroyed: LibTorch frees tensors during exit too.
  static auto* allocator = new ReusingCpuAllocator;
  static std::once_flag once;
  // Priority above LibTorch's default (0) so no later default registration replaces it.
  std::call_once(once, [] { c10::SetCPUAllocator(allocator, 1); });
}

namespace {
// Installed while the program loads, before any tensor exists: oneDNN's tensors free their
// memory through whichever allocator is current at that time, so installing it later would hand
// this allocator blocks it never made.
[[maybe_unused]] const bool installed_at_load = (UseReusingAllocatorUnderAddressSanitizer(), true);
}  // namespace

}  // namespace steadyeye

#else

namespace steadyeye {
void UseReusingAllocatorUnderAddressSanitizer() {}
}  // namespace steadyeye

#endif
