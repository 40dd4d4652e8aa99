// Labelled images in memory, all conformed to one size and channel count. Pixels are kept as
// 8-bit so that 60k Fashion-MNIST images take 47 MB; models normalise per batch.
// Value type; thread-compatible (const access from many threads is safe).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "steadyeye/core/hash.h"
#include "steadyeye/image/image.h"

namespace steadyeye {

struct Dataset {
  int channels = 0;
  int height = 0;
  int width = 0;
  std::vector<std::string> class_names;
  std::vector<uint8_t> pixels;       // size() * image_bytes(), each image HWC
  std::vector<int> labels;           // each in [0, class_names.size())
  std::vector<std::string> sources;  // per image: file path or "<dataset>:<split>#<index>"

  size_t size() const { return labels.size(); }
  size_t image_bytes() const { return size_t(channels) * height * width; }
  std::span<const uint8_t> pixels_of(size_t i) const {
    return {pixels.data() + i * image_bytes(), image_bytes()};
  }
  Image image(size_t i) const;
  void Append(const Image& image, int label, std::string source);
  // Appends every image of `other`, which has the same shape and classes.
  void Extend(const Dataset& other);

  // The images at `indices`, in that order, with the same classes.
  Dataset Subset(std::span<const size_t> indices) const;
  // Number of images per class.
  std::vector<size_t> ClassCounts() const;
  // SHA-256 over shape, class names, labels and pixels: identifies exactly the data used.
  Digest Fingerprint() const;
};

// Splits indices 0..labels.size()-1 into parts of the requested sizes, per class in proportion
// (stratified), shuffled with `seed`. The last part's size is ignored: it takes every index the
// others did not. Deterministic for a given seed.
std::vector<std::vector<size_t>> StratifiedSplit(std::span<const int> labels, int num_classes,
                                                 std::span<const size_t> part_sizes, uint64_t seed);

// A class name as a folder name: '/' and control characters become '_'.
std::string FolderNameForClass(const std::string& class_name);

}  // namespace steadyeye
