// Secrets: unpredictable bytes and comparisons that take the same time wherever they differ.
// Both come from OpenSSL (its CSPRNG and CRYPTO_memcmp) rather than our own code: getting either
// subtly wrong is a security hole that no test would show.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "steadyeye/core/status.h"

namespace steadyeye {

// `n` bytes from the operating system's CSPRNG; Internal if it cannot deliver. Thread-safe.
StatusOr<std::vector<uint8_t>> SecureRandomBytes(size_t n);

// Equal length and content, in time that depends only on the length.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace steadyeye
