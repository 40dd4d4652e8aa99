// The serving path for one image: decode, measure quality against the site's baseline, classify
// (micro-batched with other requests), decide automatically or route to review, keep the
// capture when it must be kept, count it. Everything the HTTP layer does besides parsing.
//
// Decisions: automatic only when the model's calibration certifies a threshold, the calibrated
// confidence reaches it, the quality gate passes and the stream is not drifting; otherwise
// "review" with the reasons ("low_confidence", "not_calibrated", "quality:<cause>",
// "drift:<cause>", ...).
// Captures: every review decision and every quality-flagged image is kept (inclusion
// probability 1); automatic decisions are kept as a random audit sample with probability
// `audit_rate`, which is stored with them so later estimates can weight them.
//
// Thread-safety: Predict() and the baseline methods may be called from many threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "steadyeye/core/micro_batcher.h"
#include "steadyeye/core/status.h"
#include "steadyeye/image/codec.h"
#include "steadyeye/model/classifier.h"
#include "steadyeye/monitor/drift.h"
#include "steadyeye/quality/quality.h"
#include "steadyeye/server/metrics.h"
#include "steadyeye/store/capture_store.h"

namespace steadyeye {

struct PredictorOptions {
  // Dynamic micro-batching of model calls across concurrent requests. No added delay by default:
  // the model runs as soon as it is free, and requests arriving meanwhile form the next batch, so
  // batches grow with load. A 1 ms delay doubled p50 latency at half load for no throughput gain.
  MicroBatchOptions batching{.max_batch = 32, .max_delay_us = 0, .max_queue = 1024};
  double audit_rate = 0.02;  // share of automatic decisions kept for the blind audit
  uint64_t seed = 1;         // of the audit sampling
  DecodeLimits limits{.max_bytes = 32ull << 20, .max_pixels = 40'000'000, .max_side = 20'000};
  // Drift monitoring of every (site, camera) stream; off when unset. While a stream's alert is
  // open (and the options say so), its automatic decisions go to review ("drift:<reason>").
  std::optional<DriftOptions> drift;
  DriftMonitor::Sink drift_sink;  // hears every alert change (log, store, webhook)
};

struct PredictRequest {
  std::span<const uint8_t> image;
  std::string site;
  std::string camera;
  std::optional<int64_t> time_ms;  // when the image was taken; default: now
};

struct PredictResult {
  std::optional<int64_t> capture_id;  // set when the capture was kept
  std::optional<std::string> kept_because;
  int label = -1;
  std::string label_name;
  double confidence = 0;                            // calibrated
  std::vector<std::pair<std::string, double>> top;  // best first, up to 3
  std::string decision;                             // "auto" or "review"
  std::vector<std::string> reasons;
  nlohmann::json quality;
  std::string model_version;
  std::string baseline;  // whose quality baseline judged it: the site's or "model"
  int64_t time_ms = 0;
  double latency_ms = 0;

  nlohmann::json ToJson() const;
};

class Predictor {
 public:
  // `store` and `metrics` must outlive the predictor.
  static StatusOr<std::unique_ptr<Predictor>> Create(std::unique_ptr<Classifier> model,
                                                     CaptureStore& store, ServerMetrics& metrics,
                                                     const PredictorOptions& options);
  ~Predictor();

  // InvalidArgument for undecodable images or bad names, OutOfRange for oversized ones (nothing
  // is stored then); ResourceExhausted when the inference queue is full.
  StatusOr<PredictResult> Predict(const PredictRequest& request);
  // Several images at once (one result or error each, in order); they share model batches and
  // capture commits.
  std::vector<StatusOr<PredictResult>> PredictMany(std::span<const PredictRequest> requests);

  // Sets a site's quality baseline (replacing any), for the decisions that follow.
  Status SetSiteBaseline(const std::string& site, QualityBaseline baseline);
  // Loads every <site>.json in `dir` as that site's baseline. Returns how many.
  StatusOr<size_t> LoadSiteBaselines(const std::filesystem::path& dir);
  // The site's own baseline, or NotFound.
  StatusOr<QualityBaseline> SiteBaseline(const std::string& site) const;

  // Tells the drift monitor the first answer to an audit of `capture` (kept for the audit):
  // whether the model's label was right. Answers that are not one of the model's classes
  // (bad_image, new_item, skip) say nothing of it and are ignored, as is everything with
  // monitoring off.
  void ObserveAudit(const Capture& capture, const std::string& answer);

  const Classifier& model() const { return *model_; }
  // The drift monitor, or null when monitoring is off.
  const DriftMonitor* monitor() const { return monitor_.get(); }
  size_t queue_depth() const { return batcher_->depth(); }
  size_t captures_pending() const { return writer_->depth(); }

 private:
  Predictor(std::unique_ptr<Classifier> model, CaptureStore& store, ServerMetrics& metrics,
            const PredictorOptions& options);
  struct Job;
  // Decode, quality, queue for the model.
  Status Prepare(const PredictRequest& request, Job& job);
  // Wait for the logits, decide, queue the capture when it is kept.
  Status Decide(const PredictRequest& request, Job& job);
  // Wait for the capture's commit; count.
  Status Complete(const PredictRequest& request, Job& job);
  // The baseline for a site: its own, else the model's training baseline, else none.
  std::pair<std::shared_ptr<const QualityBaseline>, std::string> BaselineFor(
      const std::string& site) const;
  bool DrawAudit();

  std::unique_ptr<Classifier> model_;
  ServerMetrics& metrics_;
  const PredictorOptions options_;
  std::shared_ptr<const QualityBaseline> model_baseline_;
  mutable std::mutex baselines_mu_;
  std::map<std::string, std::shared_ptr<const QualityBaseline>> site_baselines_;
  std::mutex audit_mu_;
  std::mt19937_64 audit_rng_;
  // Model calls: normalised images in, logits out.
  std::unique_ptr<MicroBatcher<std::vector<float>, std::vector<float>>> batcher_;
  // Group commit: every capture waiting is stored in one transaction, and each request waits
  // for its own commit, so an acknowledged capture is a stored one.
  std::unique_ptr<MicroBatcher<NewCapture, int64_t>> writer_;
  std::unique_ptr<DriftMonitor> monitor_;
};

}  // namespace steadyeye
