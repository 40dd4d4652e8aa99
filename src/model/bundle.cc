#include "bundle.h"

#include <cstring>

#include "steadyeye/core/file.h"
#include "steadyeye/core/hash.h"

namespace steadyeye::internal {

namespace {
constexpr char kMagic[8] = {'S', 'E', 'Y', 'E', 'B', 'N', 'D', 'L'};
constexpr uint32_t kContainerVersion = 1;
constexpr size_t kHeaderSize = 8 + 4 + 8 + 8;

void PutLE(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
uint64_t GetLE(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
}  // namespace

Status WriteBundle(const std::filesystem::path& path, const BundleContents& contents) {
  std::vector<uint8_t> out;
  out.reserve(kHeaderSize + contents.card_json.size() + contents.weights.size() + 32);
  out.insert(out.end(), kMagic, kMagic + 8);
  PutLE(out, kContainerVersion, 4);
  PutLE(out, contents.card_json.size(), 8);
  PutLE(out, contents.weights.size(), 8);
  out.insert(out.end(), contents.card_json.begin(), contents.card_json.end());
  out.insert(out.end(), contents.weights.begin(), contents.weights.end());
  const Digest digest = Sha256Of(out);
  out.insert(out.end(), digest.begin(), digest.end());
  return WriteFileAtomic(path, out);
}

StatusOr<BundleContents> ReadBundle(const std::filesystem::path& path) {
  SEYE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  const std::string where = path.string();
  if (bytes.size() < kHeaderSize + 32 || std::memcmp(bytes.data(), kMagic, 8) != 0) {
    return DataLossError(where + " is not a steadyeye model bundle (bad magic or too short)");
  }
  const uint64_t version = GetLE(bytes.data() + 8, 4);
  if (version != kContainerVersion) {
    return FailedPreconditionError(where + " uses bundle container version " +
                                   std::to_string(version) + "; this build reads version " +
                                   std::to_string(kContainerVersion));
  }
  const uint64_t card_len = GetLE(bytes.data() + 12, 8);
  const uint64_t weights_len = GetLE(bytes.data() + 20, 8);
  if (card_len > bytes.size() || weights_len > bytes.size() ||
      kHeaderSize + card_len + weights_len + 32 != bytes.size()) {
    return DataLossError(where + " is truncated or damaged: its sections do not add up to its size");
  }
  const size_t body = kHeaderSize + card_len + weights_len;
  const Digest digest = Sha256Of(std::span<const uint8_t>(bytes.data(), body));
  if (std::memcmp(digest.data(), bytes.data() + body, 32) != 0) {
    return DataLossError(where + " is damaged: checksum mismatch");
  }
  BundleContents contents;
  contents.card_json.assign(reinterpret_cast<const char*>(bytes.data() + kHeaderSize), card_len);
  contents.weights.assign(bytes.begin() + kHeaderSize + card_len, bytes.begin() + body);
  return contents;
}

}  // namespace steadyeye::internal
