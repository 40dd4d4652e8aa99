#include "steadyeye/image/codec.h"

#include <algorithm>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "cv_bridge.h"
#include "steadyeye/core/file.h"

namespace steadyeye {
namespace internal {

Image FromMat(const cv::Mat& mat) {
  Image out(mat.cols, mat.rows, mat.channels());
  const size_t row = out.row_bytes();
  for (int y = 0; y < mat.rows; ++y) {
    std::memcpy(out.pixels.data() + y * row, mat.ptr<uint8_t>(y), row);
  }
  return out;
}

}  // namespace internal

namespace {

enum class Format { kUnknown, kPng, kJpeg };

Format Sniff(std::span<const uint8_t> b) {
  static constexpr uint8_t kPngSig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (b.size() >= 8 && std::equal(kPngSig, kPngSig + 8, b.begin())) return Format::kPng;
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return Format::kJpeg;
  return Format::kUnknown;
}

uint32_t BigEndian(std::span<const uint8_t> b, size_t at, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | b[at + i];
  return v;
}

bool IsStartOfFrame(uint8_t marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

// Walks JPEG marker segments up to the first start-of-scan. Returns the offset of that SOS
// marker (0 if none) and fills dimensions from the start-of-frame segment.
size_t WalkJpegHeader(std::span<const uint8_t> b, Dimensions* dims) {
  size_t i = 2;
  while (i + 4 <= b.size()) {
    if (b[i] != 0xFF) return 0;
    const uint8_t marker = b[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // no length field
      i += 2;
      continue;
    }
    const size_t len = BigEndian(b, i + 2, 2);
    if (len < 2) return 0;
    if (IsStartOfFrame(marker) && i + 9 <= b.size()) {
      dims->height = static_cast<int>(BigEndian(b, i + 5, 2));
      dims->width = static_cast<int>(BigEndian(b, i + 7, 2));
    }
    if (marker == 0xDA) return i;
    i += 2 + len;
  }
  return 0;
}

// A complete JPEG has an end-of-image marker after its first scan: entropy-coded data never
// contains FF D9 (0xFF is byte-stuffed), so its absence means the file was cut short. libjpeg
// itself only warns and returns a grey-filled image, which we must not classify.
bool JpegLooksComplete(std::span<const uint8_t> b) {
  Dimensions unused;
  const size_t sos = WalkJpegHeader(b, &unused);
  if (sos == 0) return false;
  for (size_t i = b.size() - 1; i > sos + 1; --i) {
    if (b[i - 1] == 0xFF && b[i] == 0xD9) return true;
  }
  return false;
}

cv::Mat BgrToRgbIfColour(cv::Mat mat) {
  if (mat.channels() == 3) cv::cvtColor(mat, mat, cv::COLOR_BGR2RGB);
  return mat;
}

}  // namespace

bool HasImageExtension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

std::vector<std::filesystem::path> ListImageFiles(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> paths;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && HasImageExtension(entry.path())) paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

Dimensions ProbeDimensions(std::span<const uint8_t> bytes) {
  Dimensions dims;
  switch (Sniff(bytes)) {
    case Format::kPng:
      if (bytes.size() >= 24 && std::equal(bytes.begin() + 12, bytes.begin() + 16, "IHDR")) {
        dims.width = static_cast<int>(std::min<uint32_t>(BigEndian(bytes, 16, 4), INT32_MAX));
        dims.height = static_cast<int>(std::min<uint32_t>(BigEndian(bytes, 20, 4), INT32_MAX));
      }
      break;
    case Format::kJpeg:
      WalkJpegHeader(bytes, &dims);
      break;
    case Format::kUnknown:
      break;
  }
  return dims;
}

const char* ImageFormatName(std::span<const uint8_t> bytes) {
  switch (Sniff(bytes)) {
    case Format::kPng:
      return "png";
    case Format::kJpeg:
      return "jpeg";
    case Format::kUnknown:
      break;
  }
  return "";
}

StatusOr<Image> DecodeImage(std::span<const uint8_t> bytes, const DecodeLimits& limits) {
  if (bytes.empty()) return InvalidArgumentError("empty input: 0 bytes");
  if (bytes.size() > limits.max_bytes) {
    return OutOfRangeError("encoded image is " + std::to_string(bytes.size()) +
                           " bytes; the limit is " + std::to_string(limits.max_bytes));
  }
  const Format format = Sniff(bytes);
  if (format == Format::kUnknown) {
    return InvalidArgumentError("not a PNG or JPEG image (unrecognised file signature)");
  }
  const Dimensions dims = ProbeDimensions(bytes);
  if (dims.width <= 0 || dims.height <= 0) {
    return InvalidArgumentError("corrupt image header: no valid width/height");
  }
  if (dims.width > limits.max_side || dims.height > limits.max_side ||
      uint64_t(dims.width) * uint64_t(dims.height) > limits.max_pixels) {
    return OutOfRangeError("image dimensions " + std::to_string(dims.width) + "x" +
                           std::to_string(dims.height) + " exceed the limit (" +
                           std::to_string(limits.max_side) + " per side, " +
                           std::to_string(limits.max_pixels) + " pixels)");
  }
  if (format == Format::kJpeg && !JpegLooksComplete(bytes)) {
    return InvalidArgumentError("truncated JPEG: no end-of-image marker after the image data");
  }
  cv::Mat decoded;
  try {
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                         const_cast<uint8_t*>(bytes.data()));
    // ANYCOLOR keeps gray images gray; without ANYDEPTH 16-bit data becomes 8-bit; EXIF
    // orientation is applied because IGNORE_ORIENTATION is not set.
    decoded = cv::imdecode(buffer, cv::IMREAD_ANYCOLOR);
  } catch (const cv::Exception& e) {
    return InvalidArgumentError(std::string("corrupt image data: ") + e.what());
  }
  if (decoded.empty()) {
    return InvalidArgumentError(std::string("corrupt or truncated ") +
                                (format == Format::kPng ? "PNG" : "JPEG") + " data");
  }
  if (decoded.channels() == 4) cv::cvtColor(decoded, decoded, cv::COLOR_BGRA2BGR);
  if (decoded.channels() != 1 && decoded.channels() != 3) {
    return InvalidArgumentError("unsupported channel count " + std::to_string(decoded.channels()));
  }
  return internal::FromMat(BgrToRgbIfColour(decoded));
}

StatusOr<Image> LoadImageFile(const std::filesystem::path& path, const DecodeLimits& limits) {
  auto bytes = ReadFileBytes(path, limits.max_bytes);
  if (!bytes.ok()) return bytes.status();
  auto image = DecodeImage(*bytes, limits);
  if (!image.ok()) return image.status().WithContext(path.string());
  return image;
}

namespace {

StatusOr<std::vector<uint8_t>> Encode(const Image& image, const std::string& ext,
                                      const std::vector<int>& params) {
  if (image.empty() || (image.channels != 1 && image.channels != 3)) {
    return InvalidArgumentError("cannot encode an empty image or one with " +
                                std::to_string(image.channels) + " channels");
  }
  cv::Mat mat = internal::AsMat(image);
  if (image.channels == 3) {
    cv::Mat bgr;  // a new buffer: converting in place would rewrite the caller's pixels
    cv::cvtColor(mat, bgr, cv::COLOR_RGB2BGR);
    mat = bgr;
  }
  std::vector<uint8_t> out;
  try {
    if (!cv::imencode(ext, mat, out, params))
      return InternalError("OpenCV could not encode " + ext);
  } catch (const cv::Exception& e) {
    return InternalError(std::string("encoding failed: ") + e.what());
  }
  return out;
}

}  // namespace

StatusOr<std::vector<uint8_t>> EncodePng(const Image& image) { return Encode(image, ".png", {}); }

StatusOr<std::vector<uint8_t>> EncodeJpeg(const Image& image, int quality) {
  if (quality < 1 || quality > 100) {
    return InvalidArgumentError("JPEG quality must be 1..100, got " + std::to_string(quality));
  }
  return Encode(image, ".jpg", {cv::IMWRITE_JPEG_QUALITY, quality});
}

Status SaveImageFile(const std::filesystem::path& path, const Image& image, int jpeg_quality) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  StatusOr<std::vector<uint8_t>> bytes = InvalidArgumentError("");
  if (ext == ".png") {
    bytes = EncodePng(image);
  } else if (ext == ".jpg" || ext == ".jpeg") {
    bytes = EncodeJpeg(image, jpeg_quality);
  } else {
    return InvalidArgumentError("unsupported image extension '" + ext + "' (use .png or .jpg)");
  }
  if (!bytes.ok()) return bytes.status();
  return WriteFileAtomic(path, *bytes);
}

}  // namespace steadyeye
