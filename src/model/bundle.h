// Internal: the .seye bundle container. Layout (integers little-endian):
//   "SEYEBNDL" | u32 container version | u64 card length | u64 weights length |
//   card JSON | weights | SHA-256 of everything before it
// The checksum makes any damaged or truncated file fail loudly instead of loading wrong weights.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"

namespace steadyeye::internal {

struct BundleContents {
  std::string card_json;
  std::vector<uint8_t> weights;
};

Status WriteBundle(const std::filesystem::path& path, const BundleContents& contents);
StatusOr<BundleContents> ReadBundle(const std::filesystem::path& path);

}  // namespace steadyeye::internal
