#include "steadyeye/server/predictor.h"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "steadyeye/calib/calibration.h"
#include "steadyeye/core/name.h"
#include "steadyeye/core/time.h"
#include "steadyeye/image/input_spec.h"

namespace steadyeye {

namespace {

constexpr size_t kTopK = 3;

// One model call for a batch of normalised images; one row per image: its logits, then its
// embedding when `with_embeddings` (for the drift monitor).
std::vector<StatusOr<std::vector<float>>> RunModel(const Classifier& model,
                                                   std::vector<std::vector<float>>& images,
                                                   bool with_embeddings) {
  const size_t per = model.card().input.values_per_image(), k = model.num_classes();
  const size_t e = with_embeddings ? model.embedding_size() : 0;
  std::vector<float> inputs(images.size() * per);
  for (size_t i = 0; i < images.size(); ++i)
    std::copy(images[i].begin(), images[i].end(), inputs.begin() + i * per);
  std::vector<float> embeddings;
  auto logits = e ? model.LogitsAndEmbeddings(inputs, images.size(), embeddings)
                  : model.Logits(inputs, images.size());
  std::vector<StatusOr<std::vector<float>>> out;
  for (size_t i = 0; i < images.size(); ++i) {
    if (logits.ok()) {
      std::vector<float> row(logits->begin() + i * k, logits->begin() + (i + 1) * k);
      row.insert(row.end(), embeddings.begin() + i * e, embeddings.begin() + (i + 1) * e);
      out.emplace_back(std::move(row));
    } else {
      out.emplace_back(logits.status());
    }
  }
  return out;
}

// One transaction for every capture waiting; their ids, or the commit's error for each.
std::vector<StatusOr<int64_t>> CommitCaptures(CaptureStore& store,
                                              std::vector<NewCapture>& captures) {
  const Status st = store.Insert(captures);
  std::vector<StatusOr<int64_t>> out;
  for (const auto& c : captures) {
    if (st.ok()) {
      out.emplace_back(c.capture.id);
    } else {
      out.emplace_back(st);
    }
  }
  return out;
}

}  // namespace

nlohmann::json PredictResult::ToJson() const {
  nlohmann::json top_json = nlohmann::json::array();
  for (const auto& [name, p] : top) top_json.push_back({{"label", name}, {"probability", p}});
  return {{"capture_id", capture_id ? nlohmann::json(*capture_id) : nlohmann::json()},
          {"kept_because", kept_because ? nlohmann::json(*kept_because) : nlohmann::json()},
          {"label", label_name},
          {"confidence", confidence},
          {"top", top_json},
          {"decision", decision},
          {"reasons", reasons},
          {"quality", quality},
          {"quality_baseline", baseline},
          {"model_version", model_version},
          {"time", FormatUnixMillis(time_ms)},
          {"latency_ms", latency_ms}};
}

Predictor::Predictor(std::unique_ptr<Classifier> model, CaptureStore& store, ServerMetrics& metrics,
                     const PredictorOptions& options)
    : model_(std::move(model)), metrics_(metrics), options_(options), audit_rng_(options.seed) {
  const Classifier* m = model_.get();
  MicroBatchOptions batching = options.batching;
  batching.thread_name = "seye-model";
  const bool with_embeddings = options.drift.has_value();
  batcher_ = std::make_unique<MicroBatcher<std::vector<float>, std::vector<float>>>(
      [m, with_embeddings](std::vector<std::vector<float>>& images) {
        return RunModel(*m, images, with_embeddings);
      },
      batching, [this](size_t n) { metrics_.ObserveBatch(n); });
  CaptureStore* s = &store;
  writer_ = std::make_unique<MicroBatcher<NewCapture, int64_t>>(
      [s](std::vector<NewCapture>& captures) { return CommitCaptures(*s, captures); },
      MicroBatchOptions{.max_batch = 512,
                        .max_delay_us = 0,
                        .max_queue = 1u << 20,
                        .thread_name = "seye-commit"});
}

Predictor::~Predictor() = default;

StatusOr<std::unique_ptr<Predictor>> Predictor::Create(std::unique_ptr<Classifier> model,
                                                       CaptureStore& store, ServerMetrics& metrics,
                                                       const PredictorOptions& options) {
  if (!(options.audit_rate >= 0 && options.audit_rate <= 1)) {
    return InvalidArgumentError("the audit rate must be in [0, 1]");
  }
  std::shared_ptr<const QualityBaseline> model_baseline;
  if (!model->card().quality_baseline.is_null()) {
    auto b = QualityBaseline::FromJson(model->card().quality_baseline);
    if (!b.ok()) return b.status().WithContext("the model's quality baseline");
    model_baseline = std::make_shared<const QualityBaseline>(std::move(*b));
  }
  std::unique_ptr<Predictor> p(new Predictor(std::move(model), store, metrics, options));
  p->model_baseline_ = std::move(model_baseline);
  if (options.drift) {
    DriftOptions drift = *options.drift;
    drift.num_classes = p->model_->num_classes();
    drift.audit_rate = options.audit_rate;
    if (const auto& c = p->model_->card().calibration) drift.atc_threshold = c->atc_threshold;
    p->monitor_ = std::make_unique<DriftMonitor>(drift, options.drift_sink);
  }
  return p;
}

std::pair<std::shared_ptr<const QualityBaseline>, std::string> Predictor::BaselineFor(
    const std::string& site) const {
  {
    std::lock_guard lock(baselines_mu_);
    if (auto it = site_baselines_.find(site); it != site_baselines_.end())
      return {it->second, "site"};
  }
  return {model_baseline_, model_baseline_ ? "model" : "none"};
}

bool Predictor::DrawAudit() {
  std::lock_guard lock(audit_mu_);
  return std::uniform_real_distribution<double>(0, 1)(audit_rng_) < options_.audit_rate;
}

// One request on its way through the stages; see PredictMany.
struct Predictor::Job {
  std::chrono::steady_clock::time_point start;
  Status status;
  PredictResult result;
  std::string format;
  int width = 0, height = 0;
  bool quality_pass = true;
  QualityValues quality_values{};
  std::future<StatusOr<std::vector<float>>> logits;
  std::vector<float> probabilities;
  std::optional<std::future<StatusOr<int64_t>>> committed;
  KeptBecause kept = KeptBecause::kReview;
};

Status Predictor::Prepare(const PredictRequest& request, Job& job) {
  job.start = std::chrono::steady_clock::now();
  SEYE_RETURN_IF_ERROR(ValidateName(request.site, "site"));
  SEYE_RETURN_IF_ERROR(ValidateName(request.camera, "camera"));
  // Refuses empty input and anything but PNG and JPEG, with the cause.
  SEYE_ASSIGN_OR_RETURN(const Image image, DecodeImage(request.image, options_.limits));
  job.format = ImageFormatName(request.image);
  const auto [baseline, baseline_name] = BaselineFor(request.site);
  SEYE_ASSIGN_OR_RETURN(const QualityAssessment quality, AssessQuality(image, baseline.get()));
  const InputSpec& spec = model_->card().input;
  std::vector<float> input(spec.values_per_image());
  Normalize(ConformImage(image, spec).pixels, spec, input);
  SEYE_ASSIGN_OR_RETURN(job.logits, batcher_->Submit(std::move(input)));
  PredictResult& r = job.result;
  r.quality = quality.ToJson();
  r.baseline = baseline_name;
  r.model_version = model_->card().Version();
  r.time_ms = request.time_ms.value_or(UnixMillisNow());
  for (const auto& flag : quality.flags) {
    const std::string reason = "quality:" + flag.reason;
    if (std::find(r.reasons.begin(), r.reasons.end(), reason) == r.reasons.end())
      r.reasons.push_back(reason);
  }
  job.quality_pass = quality.pass();
  job.quality_values = quality.values;
  job.width = image.width;
  job.height = image.height;
  return Status::Ok();
}

Status Predictor::Decide(const PredictRequest& request, Job& job) {
  SEYE_ASSIGN_OR_RETURN(const std::vector<float> row, job.logits.get());
  const size_t k = model_->num_classes();
  const std::span<const float> logits(row.data(), k), embedding(row.data() + k, row.size() - k);
  job.probabilities = TemperedSoftmax(logits, k, model_->temperature());
  const auto& probs = job.probabilities;
  std::vector<int> order(k);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return probs[a] > probs[b]; });
  const auto& names = model_->card().class_names;
  PredictResult& r = job.result;
  r.label = order[0];
  r.label_name = names[order[0]];
  r.confidence = probs[order[0]];
  for (size_t i = 0; i < std::min(kTopK, k); ++i)
    r.top.emplace_back(names[order[i]], probs[order[i]]);
  const auto& card = model_->card();
  if (!card.calibration) {
    r.reasons.push_back("not_calibrated");
  } else if (!card.calibration->threshold.certified) {
    r.reasons.push_back("no_certified_threshold");
  } else if (!card.calibration->DecidesAutomatically(float(r.confidence))) {
    r.reasons.push_back("low_confidence");
  }
  if (monitor_) {
    // The monitor sees the decision as it would be without drift: a suspended stream's review
    // rate must fall back when the drift ends, or its alert would never resolve.
    const auto suspension = monitor_->Observe({.site = request.site,
                                               .camera = request.camera,
                                               .time_ms = r.time_ms,
                                               .quality = job.quality_values,
                                               .quality_flagged = !job.quality_pass,
                                               .confidence = r.confidence,
                                               .label = r.label,
                                               .review = !r.reasons.empty(),
                                               .embedding = {embedding.begin(), embedding.end()}});
    if (suspension) r.reasons.push_back("drift:" + *suspension);
  }
  r.decision = r.reasons.empty() ? "auto" : "review";

  double inclusion = 1.0;
  if (!job.quality_pass) {
    job.kept = KeptBecause::kQuality;
  } else if (r.decision == "review") {
    job.kept = KeptBecause::kReview;
  } else if (DrawAudit()) {
    job.kept = KeptBecause::kAudit;
    inclusion = options_.audit_rate;
  } else {
    return Status::Ok();  // not kept
  }
  NewCapture n;
  Capture& c = n.capture;
  c.time_ms = r.time_ms;
  c.received_ms = UnixMillisNow();
  c.site = request.site;
  c.camera = request.camera;
  c.model_version = r.model_version;
  c.label = r.label;
  c.label_name = r.label_name;
  c.confidence = r.confidence;
  c.probabilities = probs;
  c.decision = r.decision;
  c.reasons = r.reasons;
  c.kept_because = job.kept;
  c.inclusion_probability = inclusion;
  c.quality = r.quality;
  c.image_format = job.format;
  c.width = job.width;
  c.height = job.height;
  n.image.assign(request.image.begin(), request.image.end());  // only kept images are copied
  SEYE_ASSIGN_OR_RETURN(job.committed, writer_->Submit(std::move(n)));
  return Status::Ok();
}

void Predictor::ObserveAudit(const Capture& capture, const std::string& answer) {
  if (!monitor_ || capture.kept_because != KeptBecause::kAudit) return;
  const auto& names = model_->card().class_names;
  if (std::find(names.begin(), names.end(), answer) == names.end()) return;
  monitor_->ObserveAudit(capture.site, capture.camera, UnixMillisNow(),
                         answer == capture.label_name);
}

Status Predictor::Complete(const PredictRequest& request, Job& job) {
  PredictResult& r = job.result;
  if (job.committed) {
    // The response waits for the commit: an acknowledged capture is a stored capture.
    SEYE_ASSIGN_OR_RETURN(r.capture_id, job.committed->get());
    r.kept_because = KeptBecauseName(job.kept);
    metrics_.CountCapture(*r.kept_because);
  }
  metrics_.CountDecision(request.site, r.decision);
  r.latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - job.start)
          .count();
  metrics_.ObserveLatency(r.latency_ms / 1000);
  return Status::Ok();
}

StatusOr<PredictResult> Predictor::Predict(const PredictRequest& request) {
  auto results = PredictMany(std::span<const PredictRequest>(&request, 1));
  return std::move(results[0]);
}

std::vector<StatusOr<PredictResult>> Predictor::PredictMany(
    std::span<const PredictRequest> requests) {
  // Stage by stage over all images, so that a multi-image request fills one model batch and one
  // commit instead of waiting for each image in turn.
  std::vector<Job> jobs(requests.size());
  for (size_t i = 0; i < jobs.size(); ++i) jobs[i].status = Prepare(requests[i], jobs[i]);
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].status.ok()) jobs[i].status = Decide(requests[i], jobs[i]);
  }
  std::vector<StatusOr<PredictResult>> out;
  out.reserve(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].status.ok()) jobs[i].status = Complete(requests[i], jobs[i]);
    if (jobs[i].status.ok()) {
      out.emplace_back(std::move(jobs[i].result));
    } else {
      out.emplace_back(jobs[i].status);
    }
  }
  return out;
}

Status Predictor::SetSiteBaseline(const std::string& site, QualityBaseline baseline) {
  SEYE_RETURN_IF_ERROR(ValidateName(site, "site"));
  auto shared = std::make_shared<const QualityBaseline>(std::move(baseline));
  std::lock_guard lock(baselines_mu_);
  site_baselines_[site] = std::move(shared);
  return Status::Ok();
}

StatusOr<size_t> Predictor::LoadSiteBaselines(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return NotFoundError("no baseline folder " + dir.string());
  size_t loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    SEYE_ASSIGN_OR_RETURN(QualityBaseline b, LoadBaseline(entry.path()));
    SEYE_RETURN_IF_ERROR(SetSiteBaseline(entry.path().stem().string(), std::move(b))
                             .WithContext("baseline file " + entry.path().string()));
    ++loaded;
  }
  return loaded;
}

StatusOr<QualityBaseline> Predictor::SiteBaseline(const std::string& site) const {
  std::lock_guard lock(baselines_mu_);
  auto it = site_baselines_.find(site);
  if (it == site_baselines_.end())
    return NotFoundError("site '" + site + "' has no quality baseline of its own");
  return *it->second;
}

}  // namespace steadyeye
