// A loaded image classifier behind our own interface: LibTorch stays inside src/model.
//
// Thread-safety: a Classifier is immutable after loading; Logits() may be called from many
// threads at once. The number of compute threads is process-wide (ConfigureCompute).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/model/model_card.h"

namespace steadyeye {

class Classifier {
 public:
  virtual ~Classifier() = default;

  const ModelCard& card() const { return card_; }
  size_t num_classes() const { return card_.class_names.size(); }
  // The calibrated temperature (1 when not calibrated): probabilities are softmax(logits / T).
  double temperature() const { return card_.calibration ? card_.calibration->temperature : 1.0; }

  // Replaces the calibration in the card. Not thread-safe: call before sharing the model.
  void SetCalibration(Calibration calibration) { card_.calibration = std::move(calibration); }
  // Records the version (ModelCard::Version) this model was derived from. Not thread-safe.
  void SetParent(std::string version) { card_.parent_id = std::move(version); }
  // Replaces the quality baseline in the card (JSON of quality/quality.h). Not thread-safe.
  void SetQualityBaseline(nlohmann::json baseline) { card_.quality_baseline = std::move(baseline); }

  // `inputs` holds `batch` normalised images (card().input.values_per_image() floats each,
  // CHW). Returns batch x num_classes logits, row-major. InvalidArgument on a size mismatch.
  StatusOr<std::vector<float>> Logits(std::span<const float> inputs, size_t batch) const;

  // Size of the model's embedding: the penultimate-layer features its head classifies (what
  // drift monitoring compares between periods). 0 when the model does not expose them
  // (imported TorchScript).
  virtual size_t embedding_size() const { return 0; }
  // As Logits(), and also sets `embeddings` to batch x embedding_size() floats, row-major
  // (empty when embedding_size() is 0). One forward pass serves both.
  StatusOr<std::vector<float>> LogitsAndEmbeddings(std::span<const float> inputs, size_t batch,
                                                   std::vector<float>& embeddings) const;

  // Writes the bundle (card + weights + checksum) atomically.
  Status Save(const std::filesystem::path& path) const;

  // Loads a bundle. DataLoss for a damaged file (bad magic, truncated, checksum mismatch),
  // FailedPrecondition for a newer/unknown format or architecture, InvalidArgument for a card
  // that does not validate.
  static StatusOr<std::unique_ptr<Classifier>> Load(const std::filesystem::path& path);

 protected:
  explicit Classifier(ModelCard card) : card_(std::move(card)) {}
  // Computes logits for a non-empty batch whose size Logits() has already checked, and the
  // embeddings too when `embeddings` is not null and embedding_size() > 0.
  virtual StatusOr<std::vector<float>> Run(std::span<const float> inputs, size_t batch,
                                           std::vector<float>* embeddings) const = 0;
  // Checks the input size and runs the model.
  StatusOr<std::vector<float>> CheckedRun(std::span<const float> inputs, size_t batch,
                                          std::vector<float>* embeddings) const;
  // The serialized weights, as stored in the bundle.
  virtual StatusOr<std::vector<uint8_t>> SerializeWeights() const = 0;

  ModelCard card_;
};

// Imports a TorchScript classifier (torch.jit.save) that maps a float tensor
// [N, C, H, W] normalised per `card.input` to [N, K] logits, K = card.class_names.size().
// Runs one forward pass to check the output shape.
StatusOr<std::unique_ptr<Classifier>> ImportTorchScript(const std::filesystem::path& script,
                                                        ModelCard card);

// Sets the number of threads used by model computation, process-wide (0 = all cores), and
// tunes the allocator for LibTorch's allocation pattern. Idempotent; call before heavy work.
void ConfigureCompute(int threads);
int ComputeThreads();
// Applies the configured thread count to the calling thread (OpenMP keeps it per thread);
// Logits() calls it, so models run with the configured count from any thread.
void ApplyComputeThreadsToThisThread();

}  // namespace steadyeye
