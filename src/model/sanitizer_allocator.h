// LibTorch's CPU allocator in AddressSanitizer builds.
#pragma once

namespace steadyeye {

// In a build with AddressSanitizer, makes LibTorch keep freed tensor buffers above 128 KiB for
// reuse (poisoned while they wait, so misuse is still reported) instead of mapping and unmapping
// one per operator output. Elsewhere it does nothing: glibc reuses those buffers already (see
// core/allocator.h). In such builds it is installed while the program loads (whenever this file
// is linked in); calling it again does nothing. Thread-safe.
void UseReusingAllocatorUnderAddressSanitizer();

}  // namespace steadyeye
