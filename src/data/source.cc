#include "steadyeye/data/source.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "steadyeye/core/file.h"
#include "steadyeye/core/hash.h"
#include "steadyeye/data/splits.h"
#include "steadyeye/image/codec.h"

namespace steadyeye {
namespace fs = std::filesystem;

namespace {

constexpr char kDefaultFashionMnistDir[] = SEYE_FASHION_MNIST_DIR;
constexpr size_t kSpecSampleSize = 256;

// Debian ships the IDX files gzip-compressed; zlib's gz* API reads them directly.
StatusOr<std::vector<uint8_t>> ReadGzip(const fs::path& path) {
  if (!fs::exists(path)) {
    return NotFoundError("missing " + path.string() +
                         " (install Debian's dataset-fashion-mnist: scripts/setup.sh does)");
  }
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return InvalidArgumentError("cannot open " + path.string());
  std::vector<uint8_t> out;
  uint8_t chunk[1 << 16];
  int n = 0;
  while ((n = gzread(f, chunk, sizeof(chunk))) > 0) out.insert(out.end(), chunk, chunk + n);
  int err = Z_OK;
  const char* msg = gzerror(f, &err);
  gzclose(f);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) {
    return DataLossError("corrupt gzip data in " + path.string() + ": " + msg);
  }
  return out;
}

uint32_t ReadBE32(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) | (uint32_t(b[at + 2]) << 8) |
         b[at + 3];
}

StatusOr<Dataset> LoadFashionMnist(const fs::path& dir, Split split) {
  const std::string prefix = split == Split::kTest ? "t10k" : "train";
  SEYE_ASSIGN_OR_RETURN(auto images, ReadGzip(dir / (prefix + "-images-idx3-ubyte.gz")));
  SEYE_ASSIGN_OR_RETURN(auto labels, ReadGzip(dir / (prefix + "-labels-idx1-ubyte.gz")));
  if (images.size() < 16 || ReadBE32(images, 0) != 0x803) {
    return DataLossError("bad IDX image header in " + (dir / prefix).string());
  }
  if (labels.size() < 8 || ReadBE32(labels, 0) != 0x801) {
    return DataLossError("bad IDX label header in " + (dir / prefix).string());
  }
  const size_t n = ReadBE32(images, 4), rows = ReadBE32(images, 8), cols = ReadBE32(images, 12);
  if (ReadBE32(labels, 4) != n || images.size() != 16 + n * rows * cols || labels.size() != 8 + n) {
    return DataLossError("IDX sizes disagree in " + (dir / prefix).string());
  }
  Dataset data;
  data.channels = 1;
  data.height = static_cast<int>(rows);
  data.width = static_cast<int>(cols);
  data.class_names = FashionMnistClassNames();
  data.pixels.assign(images.begin() + 16, images.end());
  data.labels.reserve(n);
  data.sources.reserve(n);
  const std::string tag = "fashion-mnist:" + std::string(split == Split::kTest ? "test" : "train");
  for (size_t i = 0; i < n; ++i) {
    if (labels[8 + i] >= data.class_names.size()) {
      return DataLossError("IDX label out of range at index " + std::to_string(i));
    }
    data.labels.push_back(labels[8 + i]);
    data.sources.push_back(tag + "#" + std::to_string(i));
  }
  return data;
}

struct FolderListing {
  std::vector<std::string> class_names;
  std::vector<std::pair<fs::path, int>> files;  // sorted by class, then path
};

StatusOr<FolderListing> ListFolder(const fs::path& root,
                                   const std::vector<std::string>& model_classes) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return NotFoundError("no such folder: " + root.string());
  std::set<std::string> folders;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (entry.is_directory()) folders.insert(entry.path().filename().string());
  }
  if (folders.empty()) {
    return InvalidArgumentError(root.string() + " has no class sub-folders (expected " +
                                root.string() + "/<class>/<image files>)");
  }
  FolderListing listing;
  std::map<std::string, int> class_of_folder;
  if (model_classes.empty()) {
    listing.class_names.assign(folders.begin(), folders.end());
    for (size_t i = 0; i < listing.class_names.size(); ++i)
      class_of_folder[listing.class_names[i]] = int(i);
  } else {
    listing.class_names = model_classes;
    for (size_t i = 0; i < model_classes.size(); ++i) {
      class_of_folder[FolderNameForClass(model_classes[i])] = int(i);
    }
    for (const auto& f : folders) {
      if (!class_of_folder.count(f)) {
        std::string known;
        for (const auto& c : model_classes)
          known += (known.empty() ? "" : ", ") + FolderNameForClass(c);
        return InvalidArgumentError("folder class '" + f + "' is not one of the model's classes (" +
                                    known + ")");
      }
    }
  }
  for (const auto& folder : folders) {
    for (auto& p : ListImageFiles(root / folder))
      listing.files.emplace_back(std::move(p), class_of_folder[folder]);
  }
  if (listing.files.empty()) {
    return InvalidArgumentError(root.string() + " contains no .png/.jpg/.jpeg files");
  }
  return listing;
}

// Picks up to `limit` items spread evenly over classes: every class contributes in turn.
template <typename Item, typename LabelOf>
std::vector<size_t> EvenlyLimited(const std::vector<Item>& items, size_t limit, LabelOf label_of,
                                  size_t num_classes) {
  std::vector<size_t> all(items.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  if (limit == 0 || limit >= items.size()) return all;
  std::vector<std::vector<size_t>> by_class(num_classes);
  for (size_t i = 0; i < items.size(); ++i) by_class[label_of(items[i])].push_back(i);
  std::vector<size_t> picked;
  for (size_t round = 0; picked.size() < limit; ++round) {
    for (const auto& members : by_class) {
      if (round < members.size() && picked.size() < limit) picked.push_back(members[round]);
    }
  }
  std::sort(picked.begin(), picked.end());
  return picked;
}

StatusOr<Dataset> LoadFolder(const fs::path& root, const LoadOptions& options, LoadReport* report) {
  SEYE_ASSIGN_OR_RETURN(FolderListing listing, ListFolder(root, options.class_names));
  const auto chosen = EvenlyLimited(
      listing.files, options.limit, [](const auto& f) { return f.second; },
      listing.class_names.size());
  InputSpec spec;
  if (options.spec) {
    spec = *options.spec;
  } else {
    std::vector<Image> samples;
    const size_t step = std::max<size_t>(1, chosen.size() / kSpecSampleSize);
    for (size_t k = 0; k < chosen.size() && samples.size() < kSpecSampleSize; k += step) {
      auto image = LoadImageFile(listing.files[chosen[k]].first);
      if (image.ok()) samples.push_back(std::move(*image));
    }
    if (samples.empty())
      return InvalidArgumentError("no decodable image found in " + root.string());
    spec = ChooseFolderSpec(samples);
  }
  Dataset data;
  data.channels = spec.channels;
  data.height = spec.height;
  data.width = spec.width;
  data.class_names = listing.class_names;
  for (size_t k = 0; k < chosen.size(); ++k) {
    const auto& [path, label] = listing.files[chosen[k]];
    auto image = LoadImageFile(path);
    if (image.ok()) {
      data.Append(ConformImage(*image, spec), label, path.string());
    } else if (report != nullptr) {
      report->skipped.push_back(image.status().message());
    }
    if (options.on_progress) options.on_progress(k + 1, chosen.size());
  }
  if (data.size() == 0) return InvalidArgumentError("no decodable image in " + root.string());
  return data;
}

}  // namespace

bool InProductionPool(size_t train_index) {
  // A fixed salt: the pool must be the same for every model and every run.
  return UnitInterval(SplitMix64Finalize(train_index ^ 0x706f6f6cULL)) < kProductionPoolShare;
}

std::string DataRef::ToString() const {
  if (kind == Kind::kFolder) return folder.string();
  const std::string base = lab ? "fashion-mnist-lab" : "fashion-mnist";
  switch (split) {
    case Split::kTrain:
      return base + ":train";
    case Split::kTest:
      return base + ":test";
    case Split::kValidation:
      return base + ":val";
    case Split::kCalibration:
      return base + ":calib";
    case Split::kPool:
      return base + ":pool";
    case Split::kDefault:
      break;
  }
  return base;
}

StatusOr<DataRef> ParseDataRef(const std::string& text) {
  DataRef ref;
  for (bool lab : {false, true}) {
    ref.lab = lab;
    for (Split split : {Split::kDefault, Split::kTrain, Split::kValidation, Split::kCalibration}) {
      ref.split = split;
      if (text == ref.ToString()) return ref;
    }
  }
  ref.lab = false;
  for (Split split : {Split::kTest, Split::kPool}) {
    ref.split = split;
    if (text == ref.ToString()) return ref;
  }
  ref.split = Split::kDefault;
  if (text.starts_with("fashion-mnist")) {
    return InvalidArgumentError("unknown Fashion-MNIST data '" + text +
                                "' (use fashion-mnist[:train|:test|:val|:calib|:pool] or "
                                "fashion-mnist-lab[:train|:val|:calib])");
  }
  std::error_code ec;
  if (!fs::is_directory(text, ec)) {
    return NotFoundError("data '" + text +
                         "' is neither fashion-mnist[:train|:test|:val|:calib|:pool], "
                         "fashion-mnist-lab[:train|:val|:calib] nor an existing folder");
  }
  ref.kind = DataRef::Kind::kFolder;
  ref.folder = text;
  return ref;
}

const std::vector<std::string>& FashionMnistClassNames() {
  static const std::vector<std::string> kNames = {"T-shirt_top", "Trouser",   "Pullover", "Dress",
                                                  "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                  "Bag",         "Ankle_boot"};
  return kNames;
}

InputSpec ChooseFolderSpec(const std::vector<Image>& samples) {
  InputSpec spec;
  spec.channels = 1;
  std::vector<int> sides;
  for (const auto& s : samples) {
    if (s.channels == 3) spec.channels = 3;
    sides.push_back(std::max(s.width, s.height));
  }
  std::nth_element(sides.begin(), sides.begin() + sides.size() / 2, sides.end());
  const int side = std::clamp(sides[sides.size() / 2], 16, 64);
  spec.height = spec.width = (side + 3) / 4 * 4;
  spec.mean.assign(spec.channels, 0.5f);
  spec.std.assign(spec.channels, 0.25f);
  return spec;
}

StatusOr<Dataset> LoadDataset(const DataRef& ref, const LoadOptions& options, LoadReport* report) {
  if (ref.kind == DataRef::Kind::kFolder) return LoadFolder(ref.folder, options, report);
  const fs::path dir = options.fashion_mnist_dir.empty() ? fs::path(kDefaultFashionMnistDir)
                                                         : options.fashion_mnist_dir;
  SEYE_ASSIGN_OR_RETURN(Dataset data, LoadFashionMnist(dir, ref.split));
  if (ref.split == Split::kPool || (ref.lab && ref.split != Split::kTest)) {
    std::vector<size_t> part;
    for (size_t i = 0; i < data.size(); ++i) {
      if (InProductionPool(i) == (ref.split == Split::kPool)) part.push_back(i);
    }
    data = data.Subset(part);
  }
  if (ref.split == Split::kValidation || ref.split == Split::kCalibration) {
    TrainingSplits parts = SplitForTraining(data);
    data = std::move(ref.split == Split::kValidation ? parts.validation : parts.calibration);
  }
  if (options.spec && (options.spec->channels != data.channels ||
                       options.spec->height != data.height || options.spec->width != data.width)) {
    // A model with another input size still gets the same conversion as any image file.
    Dataset conformed;
    conformed.channels = options.spec->channels;
    conformed.height = options.spec->height;
    conformed.width = options.spec->width;
    conformed.class_names = data.class_names;
    for (size_t i = 0; i < data.size(); ++i) {
      conformed.Append(ConformImage(data.image(i), *options.spec), data.labels[i], data.sources[i]);
    }
    data = std::move(conformed);
  }
  if (options.limit > 0 && options.limit < data.size()) {
    const auto picked = EvenlyLimited(
        data.labels, options.limit, [](int l) { return l; }, data.class_names.size());
    data = data.Subset(picked);
  }
  return data;
}

StatusOr<size_t> ExportImages(const Dataset& data, const fs::path& dir) {
  std::error_code ec;
  for (const auto& name : data.class_names) {
    fs::create_directories(dir / FolderNameForClass(name), ec);
    if (ec)
      return InvalidArgumentError("cannot create " + (dir / name).string() + ": " + ec.message());
  }
  for (size_t i = 0; i < data.size(); ++i) {
    char file[32];
    std::snprintf(file, sizeof(file), "%06zu.png", i);
    const fs::path path = dir / FolderNameForClass(data.class_names[data.labels[i]]) / file;
    SEYE_ASSIGN_OR_RETURN(auto png, EncodePng(data.image(i)));
    std::ofstream out(path, std::ios::binary);
    if (!out.write(reinterpret_cast<const char*>(png.data()), std::streamsize(png.size()))) {
      return InvalidArgumentError("cannot write " + path.string());
    }
  }
  return data.size();
}

}  // namespace steadyeye
