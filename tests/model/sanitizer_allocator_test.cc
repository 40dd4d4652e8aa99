// Under AddressSanitizer, LibTorch's tensor buffers come from our reusing allocator: buffers are
// reused, and misuse of a freed or over-read buffer is still reported. In other builds the
// allocator is LibTorch's own and these tests skip.
#include "sanitizer_allocator.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace steadyeye {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif

constexpr int64_t kLargeFloats = 1 << 20;  // 4 MiB: above AddressSanitizer's own reuse

TEST(SanitizerAllocator, AFreedLargeBufferIsHandedOutAgain) {
  if (!kAddressSanitizer) GTEST_SKIP() << "only AddressSanitizer builds replace the allocator";
  UseReusingAllocatorUnderAddressSanitizer();
  const void* first = nullptr;
  {
    auto t = torch::ones({kLargeFloats});
    first = t.data_ptr();
  }
  auto again = torch::zeros({kLargeFloats});
  EXPECT_EQ(again.data_ptr(), first);
  EXPECT_EQ(again.sum().item<float>(), 0.0f);
}

TEST(SanitizerAllocatorDeathTest, UseOfAFreedBufferIsStillReported) {
  if (!kAddressSanitizer) GTEST_SKIP() << "only AddressSanitizer builds replace the allocator";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  UseReusingAllocatorUnderAddressSanitizer();
  EXPECT_DEATH(
      {
        float* stale = nullptr;
        {
          auto t = torch::ones({kLargeFloats});
          stale = t.data_ptr<float>();
        }
        volatile float read = stale[7];
        (void)read;
      },
      "use-after-poison");
}

TEST(SanitizerAllocatorDeathTest, AReadPastTheRequestedSizeIsStillReported) {
  if (!kAddressSanitizer) GTEST_SKIP() << "only AddressSanitizer builds replace the allocator";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  UseReusingAllocatorUnderAddressSanitizer();
  EXPECT_DEATH(
      {
        // 1,000,000 floats round up to a 4 MiB block; the rest of it must stay unreadable.
        auto t = torch::ones({1'000'000});
        volatile float read = t.data_ptr<float>()[1'000'000];
        (void)read;
      },
      "use-after-poison");
}

}  // namespace
}  // namespace steadyeye
