// Where training and evaluation data comes from: Fashion-MNIST (Debian's dataset-fashion-mnist
// IDX files) or an image folder with one sub-folder per class.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/data/dataset.h"
#include "steadyeye/image/input_spec.h"

namespace steadyeye {

// kValidation and kCalibration are the parts of the train split that SplitForTraining holds
// back (data/splits.h): where thresholds and hyper-parameters are chosen, never the test split.
// kPool is the production pool: a fixed sixth of the train split (about 10,000 images, chosen by
// a hash of the index) that the demo streams as production images beside the test split. A
// DataRef with `lab` set ("fashion-mnist-lab[:train|:val|:calib]") is the train split without the
// pool, and its validation and calibration parts are carved from that rest, so a lab model
// trained on it has never seen a pool image.
enum class Split { kDefault, kTrain, kTest, kValidation, kCalibration, kPool };

inline constexpr double kProductionPoolShare = 1.0 / 6;
// True for the train-split indices in the production pool.
bool InProductionPool(size_t train_index);

struct DataRef {
  enum class Kind { kFashionMnist, kFolder };
  Kind kind = Kind::kFashionMnist;
  Split split = Split::kDefault;  // Fashion-MNIST only
  bool lab = false;               // Fashion-MNIST only: the train split without the pool
  std::filesystem::path folder;   // kFolder only
  std::string ToString() const;
};

// Accepts "fashion-mnist", "fashion-mnist:train|test|val|calib|pool",
// "fashion-mnist-lab[:train|val|calib]" or a folder path.
StatusOr<DataRef> ParseDataRef(const std::string& text);

// The Fashion-MNIST class names, folder-safe ("T-shirt_top", ..., "Ankle_boot").
const std::vector<std::string>& FashionMnistClassNames();

struct LoadOptions {
  // Where the IDX .gz files are; defaults to the Debian package's location.
  std::filesystem::path fashion_mnist_dir;
  // Images are conformed to this spec's channels and size. Required for folders when
  // `class_names` is given (evaluation); for training folders, nullopt picks one (see below).
  std::optional<InputSpec> spec;
  // For evaluation: the model's classes. Folder names are matched against them; a folder that
  // matches none is an error. Empty: classes are the sorted sub-folder names.
  std::vector<std::string> class_names;
  // Keep at most this many images (0 = all), chosen evenly across classes, deterministically.
  size_t limit = 0;
  // Called with (done, total) while decoding folders.
  std::function<void(size_t, size_t)> on_progress;
};

struct LoadReport {
  std::vector<std::string> skipped;  // "path: reason" for files that could not be decoded
};

// Loads the referenced data. Fashion-MNIST's kDefault split is resolved by the caller (train
// for training, test for evaluation). Folder images that fail to decode are skipped and listed
// in `report`; a folder with no usable image, or no class sub-folders, is an error.
StatusOr<Dataset> LoadDataset(const DataRef& ref, const LoadOptions& options,
                              LoadReport* report = nullptr);

// The spec chosen for a training folder when none is given: 3 channels if any image has colour,
// otherwise 1; a square side equal to the median of the images' larger side, clamped to
// [16, 64] and rounded to a multiple of 4.
InputSpec ChooseFolderSpec(const std::vector<Image>& samples);

// Writes the dataset as DIR/<class folder>/<index>.png. Returns the number of files written.
StatusOr<size_t> ExportImages(const Dataset& data, const std::filesystem::path& dir);

}  // namespace steadyeye
