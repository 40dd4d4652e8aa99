// Decoding and encoding of image files. Decoding checks limits before allocating, honours EXIF
// orientation, drops alpha, converts 16-bit to 8-bit and returns gray or RGB.
// All functions are thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/image/image.h"

namespace steadyeye {

struct DecodeLimits {
  uint64_t max_bytes = 64ull << 20;  // encoded size
  uint64_t max_pixels = 40'000'000;  // width * height, checked from the header first
  int max_side = 20'000;
};

// Errors: InvalidArgument for empty, unknown-format, corrupt or truncated data;
// OutOfRange when the header announces dimensions beyond `limits`.
StatusOr<Image> DecodeImage(std::span<const uint8_t> bytes, const DecodeLimits& limits = {});
// As DecodeImage, with the path in every error message. NotFound if the file is missing.
StatusOr<Image> LoadImageFile(const std::filesystem::path& path, const DecodeLimits& limits = {});

StatusOr<std::vector<uint8_t>> EncodePng(const Image& image);
// quality in 1..100.
StatusOr<std::vector<uint8_t>> EncodeJpeg(const Image& image, int quality);
// Writes atomically; the format follows the extension (.png, .jpg/.jpeg).
Status SaveImageFile(const std::filesystem::path& path, const Image& image, int jpeg_quality = 95);

// Whether a file name has an extension steadyeye decodes (.png, .jpg, .jpeg; any case).
bool HasImageExtension(const std::filesystem::path& path);

// Every file under `dir` (recursively) with an image extension, as full paths in sorted order
// (so numbering files by position is reproducible). Empty when `dir` cannot be read.
std::vector<std::filesystem::path> ListImageFiles(const std::filesystem::path& dir);

// Width and height read from a PNG or JPEG header without decoding; nullopt-like {0,0} when
// the format is not one of those two or the header is unreadable.
struct Dimensions {
  int width = 0;
  int height = 0;
};
Dimensions ProbeDimensions(std::span<const uint8_t> bytes);

// "png" or "jpeg" from the file signature; "" for anything else.
const char* ImageFormatName(std::span<const uint8_t> bytes);

}  // namespace steadyeye
