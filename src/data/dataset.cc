#include "steadyeye/data/dataset.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <random>

namespace steadyeye {

Image Dataset::image(size_t i) const {
  Image out(width, height, channels);
  const auto src = pixels_of(i);
  std::copy(src.begin(), src.end(), out.pixels.begin());
  return out;
}

void Dataset::Append(const Image& image, int label, std::string source) {
  assert(image.width == width && image.height == height && image.channels == channels);
  pixels.insert(pixels.end(), image.pixels.begin(), image.pixels.end());
  labels.push_back(label);
  sources.push_back(std::move(source));
}

void Dataset::Extend(const Dataset& other) {
  assert(other.width == width && other.height == height && other.channels == channels &&
         other.class_names == class_names);
  pixels.insert(pixels.end(), other.pixels.begin(), other.pixels.end());
  labels.insert(labels.end(), other.labels.begin(), other.labels.end());
  sources.insert(sources.end(), other.sources.begin(), other.sources.end());
}

Dataset Dataset::Subset(std::span<const size_t> indices) const {
  Dataset out;
  out.channels = channels;
  out.height = height;
  out.width = width;
  out.class_names = class_names;
  out.pixels.resize(indices.size() * image_bytes());
  out.labels.reserve(indices.size());
  out.sources.reserve(indices.size());
  for (size_t k = 0; k < indices.size(); ++k) {
    const size_t i = indices[k];
    std::memcpy(out.pixels.data() + k * image_bytes(), pixels.data() + i * image_bytes(),
                image_bytes());
    out.labels.push_back(labels[i]);
    if (i < sources.size()) out.sources.push_back(sources[i]);
  }
  return out;
}

std::vector<size_t> Dataset::ClassCounts() const {
  std::vector<size_t> counts(class_names.size(), 0);
  for (int l : labels) ++counts[l];
  return counts;
}

Digest Dataset::Fingerprint() const {
  Sha256 h;
  h.Update("steadyeye-dataset-v1");
  h.UpdateU64(size());
  h.UpdateU64(channels);
  h.UpdateU64(height);
  h.UpdateU64(width);
  h.UpdateU64(class_names.size());
  for (const auto& name : class_names) {
    h.UpdateU64(name.size());
    h.Update(name);
  }
  for (int l : labels) h.UpdateU64(static_cast<uint64_t>(l));
  h.Update(pixels);
  return h.Finish();
}

std::vector<std::vector<size_t>> StratifiedSplit(std::span<const int> labels, int num_classes,
                                                 std::span<const size_t> part_sizes,
                                                 uint64_t seed) {
  std::vector<std::vector<size_t>> by_class(num_classes);
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(i);
  std::mt19937_64 rng(seed);
  for (auto& members : by_class) std::shuffle(members.begin(), members.end(), rng);

  // Each part takes round(size * class_share) from every class; the last part also absorbs
  // rounding leftovers so that every index lands in exactly one part when sizes cover all.
  const double total = static_cast<double>(labels.size());
  std::vector<std::vector<size_t>> parts(part_sizes.size());
  for (const auto& members : by_class) {
    size_t next = 0;
    for (size_t p = 0; p < part_sizes.size(); ++p) {
      const bool last = p + 1 == part_sizes.size();
      size_t take = static_cast<size_t>(
          static_cast<double>(part_sizes[p]) * static_cast<double>(members.size()) / total + 0.5);
      if (last) take = members.size() - next;
      take = std::min(take, members.size() - next);
      parts[p].insert(parts[p].end(), members.begin() + next, members.begin() + next + take);
      next += take;
    }
  }
  for (auto& part : parts) std::shuffle(part.begin(), part.end(), rng);
  return parts;
}

std::string FolderNameForClass(const std::string& class_name) {
  std::string out = class_name;
  for (char& c : out) {
    if (c == '/' || static_cast<unsigned char>(c) < 0x20) c = '_';
  }
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

}  // namespace steadyeye
