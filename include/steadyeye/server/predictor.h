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
// Models: a default model serves every site without one of its own. SwitchModels() replaces
// the whole assignment at once: each request takes the assignment current when it starts and
// keeps it to the end (inference, calibration, decision and recorded version all from one
// model), so a switch under load fails no request and mixes no versions.
//
// Shadow scoring: the assignment may also name a challenger per site (or one for every site).
// It classifies the same images as the serving model, in the same model batches; its answer is
// only counted (ShadowTally, per challenger and site), never returned, stored with the capture
// or acted upon, and its failure fails no request. The price is a second model call per image
// while a challenger is in the shadow.
//
// Thread-safety: Predict(), SwitchModels() and the baseline methods may be called from many
// threads at once.
#pragma once

#include <atomic>
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
#include "steadyeye/review/review_queue.h"
#include "steadyeye/server/metrics.h"
#include "steadyeye/store/capture_store.h"
#include "steadyeye/store/model_registry.h"

namespace steadyeye {

struct PredictorOptions {
  // Dynamic micro-batching of model calls across concurrent requests. No added delay by default:
  // the model runs as soon as it is free, and requests arriving meanwhile form the next batch, so
  // batches grow with load. A 1 ms delay doubled p50 latency at half load for no throughput gain.
  MicroBatchOptions batching{.max_batch = 32, .max_delay_us = 0, .max_queue = 1024};
  double audit_rate = 0.02;  // share of automatic decisions kept for the blind audit
  // Share of images a challenger in the shadow also classifies (a random sample): each costs a
  // second model call, so a busy server may score a sample.
  double shadow_share = 1.0;
  uint64_t seed = 1;  // of the audit and shadow sampling
  DecodeLimits limits{.max_bytes = 32ull << 20, .max_pixels = 40'000'000, .max_side = 20'000};
  // Drift monitoring of every (site, camera) stream; off when unset. While a stream's alert is
  // open (and the options say so), its automatic decisions go to review ("drift:<reason>").
  std::optional<DriftOptions> drift;
  DriftMonitor::Sink drift_sink;  // hears every alert change (log, store, webhook)
};

// Which model serves which site: `default_model` every site not in `by_site`. All must have the
// same classes (captures, reviews and the monitor are kept in their terms).
struct ModelAssignment {
  std::shared_ptr<const Classifier> default_model;
  std::map<std::string, std::shared_ptr<const Classifier>> by_site;
  // Challengers scored in the shadow: site -> model; "" scores at every site without its own.
  std::map<std::string, std::shared_ptr<const Classifier>> shadows;
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

  // Tells the drift monitor the settled answer to an audit of `capture` (kept for the audit),
  // given at `answered_ms`: whether the model's label was right. An alarm it raises is detected
  // then. Answers that are not one of the model's classes (bad_image, new_item, skip) say
  // nothing of it and are ignored, as is everything with monitoring off.
  void ObserveAudit(const Capture& capture, const std::string& answer, int64_t answered_ms);

  // Replaces the models served (see the top of this file). The drift references of the streams
  // whose model changed are learned again (their open alerts resolve): a new model's
  // confidences and features are not comparable with the old one's. FailedPrecondition for a
  // model whose classes differ from those served; InvalidArgument for a bad site name or a
  // missing default model or a model's bad quality baseline.
  Status SwitchModels(ModelAssignment assignment);
  // The model serving `site` now (the default model for "" or a site without its own).
  std::shared_ptr<const Classifier> model(const std::string& site = "") const;
  // site -> version for the sites with their own model, and "" -> the default's version.
  std::map<std::string, std::string> ModelVersions() const;
  // The shadows as assigned: site ("" for every site) -> model, and -> version.
  std::map<std::string, std::shared_ptr<const Classifier>> Shadows() const;
  std::map<std::string, std::string> ShadowVersions() const;
  // What the shadows scored since the last call (challenger version -> site -> counts), and
  // forgets it: the caller adds it to the registry (ModelRegistry::AddShadowTallies).
  std::map<std::string, std::map<std::string, ShadowTally>> TakeShadowTallies();
  // The drift monitor, or null when monitoring is off.
  const DriftMonitor* monitor() const { return monitor_.get(); }
  size_t queue_depth() const { return batcher_->depth(); }
  size_t captures_pending() const { return writer_->depth(); }

 private:
  Predictor(CaptureStore& store, ServerMetrics& metrics, const PredictorOptions& options);
  struct Job;
  struct Served;
  struct Serving;
  std::shared_ptr<const Serving> serving() const { return serving_.load(); }
  // Decode, quality, queue for the model.
  Status Prepare(const PredictRequest& request, Job& job);
  // Wait for the logits, decide, queue the capture when it is kept.
  Status Decide(const PredictRequest& request, Job& job);
  // Whether a frame of `model` at `confidence` may still be decided automatically while its
  // stream has an open alert with `reason` (the monitor's action and DriftRestriction).
  bool DecidesUnderDrift(const std::string& reason, const Classifier& model,
                         double confidence) const;
  // Wait for the capture's commit; count.
  Status Complete(const PredictRequest& request, Job& job);
  // The baseline for a site: its own, else its model's training baseline, else none.
  std::pair<std::shared_ptr<const QualityBaseline>, std::string> BaselineFor(
      const std::string& site, const Served& served) const;
  bool DrawAudit();
  bool DrawShadow();
  // Queues the shadow's model call for an image, when the request's site has a shadow.
  void SubmitShadow(const PredictRequest& request, const Image& image,
                    const std::vector<float>& served_input, Job& job);
  // Counts the shadow's answer against the serving model's decision (the probabilities in
  // job.probabilities).
  void ScoreShadow(const PredictRequest& request, Job& job);

  ServerMetrics& metrics_;
  const PredictorOptions options_;
  std::mutex switch_mu_;  // one SwitchModels at a time
  std::atomic<std::shared_ptr<const Serving>> serving_;
  mutable std::mutex baselines_mu_;
  std::map<std::string, std::shared_ptr<const QualityBaseline>> site_baselines_;
  std::mutex audit_mu_;
  std::mt19937_64 audit_rng_;
  std::mutex shadow_mu_;
  std::mt19937_64 shadow_rng_;  // guarded by shadow_mu_
  std::map<std::string, std::map<std::string, ShadowTally>> shadow_tallies_;  // since the last take
  // Model calls: normalised images (each with the model its request took) in, logits out.
  struct ModelInput {
    const Classifier* model;  // kept alive by the request's Serving
    std::vector<float> values;
  };
  std::unique_ptr<MicroBatcher<ModelInput, std::vector<float>>> batcher_;
  // Group commit: every capture waiting is stored in one transaction, and each request waits
  // for its own commit, so an acknowledged capture is a stored one.
  std::unique_ptr<MicroBatcher<NewCapture, int64_t>> writer_;
  std::unique_ptr<DriftMonitor> monitor_;
};

class Store;
// Call after `stored` was recorded. When it is an audit task's first answer other than skip,
// tells `predictor`'s drift monitor through ObserveAudit, once per task (a second opinion's
// answer is not waited for).
Status ObserveAuditAnswer(const Store& store, Predictor& predictor, const ReviewAnswer& stored);

}  // namespace steadyeye
