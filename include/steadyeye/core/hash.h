// SHA-256, used for data fingerprints, bundle integrity and (later) content-addressed storage.
// Thread-compatible: one Sha256 object per thread; the free function is thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace steadyeye {

using Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::span<const uint8_t> bytes);
  void Update(std::string_view text);
  // Hashes the integer as 8 little-endian bytes, so that framing is unambiguous.
  void UpdateU64(uint64_t value);
  // Ends the computation; the object must not be updated afterwards.
  Digest Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Digest Sha256Of(std::span<const uint8_t> bytes);
std::string ToHex(std::span<const uint8_t> bytes);

// The SplitMix64 finaliser (Steele, Lea and Flood 2014): a cheap bijective mix whose outputs for
// neighbouring inputs look unrelated. Used to derive seeds and reproducible per-id coin flips;
// not a cryptographic hash.
constexpr uint64_t SplitMix64Finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// A uniform number in [0, 1) from a mixed value.
constexpr double UnitInterval(uint64_t mixed) { return double(mixed >> 11) * 0x1.0p-53; }

}  // namespace steadyeye
