#include "steadyeye/server/predictor.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <utility>

#include "steadyeye/calib/calibration.h"
#include "steadyeye/core/name.h"
#include "steadyeye/core/time.h"
#include "steadyeye/image/input_spec.h"
#include "steadyeye/store/store.h"

namespace steadyeye {

namespace {

constexpr size_t kTopK = 3;

// One model call for a batch of normalised images of one model; one row per image: its logits,
// then its embedding when `with_embeddings` (for the drift monitor).
std::vector<StatusOr<std::vector<float>>> RunModel(
    const Classifier& model, std::span<const std::vector<float>* const> images,
    bool with_embeddings) {
  const size_t per = model.card().input.values_per_image(), k = model.num_classes();
  const size_t e = with_embeddings ? model.embedding_size() : 0;
  std::vector<float> inputs(images.size() * per);
  for (size_t i = 0; i < images.size(); ++i)
    std::copy(images[i]->begin(), images[i]->end(), inputs.begin() + long(i * per));
  std::vector<float> embeddings;
  auto logits = e ? model.LogitsAndEmbeddings(inputs, images.size(), embeddings)
                  : model.Logits(inputs, images.size());
  std::vector<StatusOr<std::vector<float>>> out;
  for (size_t i = 0; i < images.size(); ++i) {
    if (logits.ok()) {
      std::vector<float> row(logits->begin() + long(i * k), logits->begin() + long((i + 1) * k));
      row.insert(row.end(), embeddings.begin() + long(i * e),
                 embeddings.begin() + long((i + 1) * e));
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

namespace {

std::optional<double> AtcThresholdOf(const Classifier& model) {
  const auto& c = model.card().calibration;
  return c ? c->atc_threshold : std::nullopt;
}

}  // namespace

// A model as served: with its quality baseline, parsed once.
struct Predictor::Served {
  std::shared_ptr<const Classifier> model;
  std::shared_ptr<const QualityBaseline> baseline;  // the model's training baseline, or null
  std::string version;
};

// What every site is served, swapped as a whole.
struct Predictor::Serving {
  Served fallback;
  std::map<std::string, Served> by_site;
  std::map<std::string, Served> shadows;  // "" for every site without its own
  const Served& For(const std::string& site) const {
    auto it = by_site.find(site);
    return it == by_site.end() ? fallback : it->second;
  }
  const Served* ShadowFor(const std::string& site) const {
    for (const std::string& key : {site, std::string()}) {
      if (auto it = shadows.find(key); it != shadows.end()) return &it->second;
    }
    return nullptr;
  }
};

namespace {

StatusOr<std::shared_ptr<const QualityBaseline>> ModelBaseline(const Classifier& model) {
  if (model.card().quality_baseline.is_null()) return std::shared_ptr<const QualityBaseline>();
  auto b = QualityBaseline::FromJson(model.card().quality_baseline);
  if (!b.ok())
    return b.status().WithContext("the quality baseline of model " + model.card().Version());
  return std::make_shared<const QualityBaseline>(std::move(*b));
}

// Runs each model's share of a batch (in practice one model; two only during a switch).
std::vector<StatusOr<std::vector<float>>> RunBatch(std::vector<const Classifier*>& models,
                                                   std::vector<const std::vector<float>*>& inputs,
                                                   bool with_embeddings) {
  // Every slot is overwritten by its group's result below.
  std::vector<StatusOr<std::vector<float>>> out(inputs.size(), InternalError("not run"));
  std::vector<bool> done(inputs.size(), false);
  for (size_t first = 0; first < inputs.size(); ++first) {
    if (done[first]) continue;
    std::vector<size_t> members;
    std::vector<const std::vector<float>*> group;
    for (size_t i = first; i < inputs.size(); ++i) {
      if (!done[i] && models[i] == models[first]) {
        members.push_back(i);
        group.push_back(inputs[i]);
        done[i] = true;
      }
    }
    auto rows = RunModel(*models[first], group, with_embeddings);
    for (size_t j = 0; j < members.size(); ++j) out[members[j]] = std::move(rows[j]);
  }
  return out;
}

}  // namespace

Predictor::Predictor(CaptureStore& store, ServerMetrics& metrics, const PredictorOptions& options)
    : metrics_(metrics),
      options_(options),
      audit_rng_(options.seed),
      shadow_rng_(options.seed * 7919 + 1) {
  MicroBatchOptions batching = options.batching;
  batching.thread_name = "seye-model";
  const bool with_embeddings = options.drift.has_value();
  batcher_ = std::make_unique<MicroBatcher<ModelInput, std::vector<float>>>(
      [with_embeddings](std::vector<ModelInput>& batch) {
        std::vector<const Classifier*> models;
        std::vector<const std::vector<float>*> inputs;
        for (const auto& item : batch) {
          models.push_back(item.model);
          inputs.push_back(&item.values);
        }
        return RunBatch(models, inputs, with_embeddings);
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
  if (!(options.shadow_share >= 0 && options.shadow_share <= 1)) {
    return InvalidArgumentError("the shadow share must be in [0, 1]");
  }
  if (!model) return InvalidArgumentError("a predictor needs a model");
  std::shared_ptr<const Classifier> shared(std::move(model));
  SEYE_ASSIGN_OR_RETURN(auto baseline, ModelBaseline(*shared));
  std::unique_ptr<Predictor> p(new Predictor(store, metrics, options));
  auto serving = std::make_shared<Serving>();
  serving->fallback = {shared, std::move(baseline), shared->card().Version()};
  p->serving_.store(std::move(serving));
  if (options.drift) {
    DriftOptions drift = *options.drift;
    drift.num_classes = shared->num_classes();
    drift.class_names = shared->card().class_names;
    drift.audit_rate = options.audit_rate;
    p->monitor_ = std::make_unique<DriftMonitor>(drift, options.drift_sink);
  }
  return p;
}

Status Predictor::SwitchModels(ModelAssignment assignment) {
  if (!assignment.default_model)
    return InvalidArgumentError("a model assignment needs a default model");
  std::lock_guard lock(switch_mu_);
  const auto before = serving();
  const auto& classes = before->fallback.model->card().class_names;
  auto served = [&](std::shared_ptr<const Classifier> m) -> StatusOr<Served> {
    if (m->card().class_names != classes) {
      return FailedPreconditionError("model " + m->card().Version() +
                                     " has other classes than the model served; a model with "
                                     "other classes needs a new store");
    }
    SEYE_ASSIGN_OR_RETURN(auto baseline, ModelBaseline(*m));
    const std::string version = m->card().Version();
    return Served{std::move(m), std::move(baseline), version};
  };
  auto next = std::make_shared<Serving>();
  SEYE_ASSIGN_OR_RETURN(next->fallback, served(std::move(assignment.default_model)));
  for (auto& [site, m] : assignment.by_site) {
    SEYE_RETURN_IF_ERROR(ValidateName(site, "site"));
    if (!m) return InvalidArgumentError("no model given for site " + site);
    SEYE_ASSIGN_OR_RETURN(next->by_site[site], served(std::move(m)));
  }
  for (auto& [site, m] : assignment.shadows) {
    if (!site.empty()) SEYE_RETURN_IF_ERROR(ValidateName(site, "site"));
    if (!m) return InvalidArgumentError("no shadow model given for site " + site);
    SEYE_ASSIGN_OR_RETURN(next->shadows[site], served(std::move(m)));
  }
  serving_.store(next);
  metrics_.SetModelVersion(next->fallback.version);
  if (monitor_) {
    // A stream whose model changed learns its reference again.
    monitor_->Relearn([&](const std::string& site) {
      return before->For(site).version != next->For(site).version;
    });
  }
  return Status::Ok();
}

std::shared_ptr<const Classifier> Predictor::model(const std::string& site) const {
  return serving()->For(site).model;
}

std::map<std::string, std::string> Predictor::ModelVersions() const {
  const auto s = serving();
  std::map<std::string, std::string> out{{"", s->fallback.version}};
  for (const auto& [site, served] : s->by_site) out[site] = served.version;
  return out;
}

std::map<std::string, std::shared_ptr<const Classifier>> Predictor::Shadows() const {
  std::map<std::string, std::shared_ptr<const Classifier>> out;
  for (const auto& [site, served] : serving()->shadows) out[site] = served.model;
  return out;
}

std::map<std::string, std::string> Predictor::ShadowVersions() const {
  std::map<std::string, std::string> out;
  for (const auto& [site, served] : serving()->shadows) out[site] = served.version;
  return out;
}

std::map<std::string, std::map<std::string, ShadowTally>> Predictor::TakeShadowTallies() {
  std::lock_guard lock(shadow_mu_);
  return std::exchange(shadow_tallies_, {});
}

std::pair<std::shared_ptr<const QualityBaseline>, std::string> Predictor::BaselineFor(
    const std::string& site, const Served& served) const {
  {
    std::lock_guard lock(baselines_mu_);
    if (auto it = site_baselines_.find(site); it != site_baselines_.end())
      return {it->second, "site"};
  }
  return {served.baseline, served.baseline ? "model" : "none"};
}

bool Predictor::DrawAudit() {
  std::lock_guard lock(audit_mu_);
  return std::uniform_real_distribution<double>(0, 1)(audit_rng_) < options_.audit_rate;
}

// One request on its way through the stages; see PredictMany.
struct Predictor::Job {
  std::chrono::steady_clock::time_point start;
  std::shared_ptr<const Serving> serving;  // taken once: the whole request uses one model
  const Served* served = nullptr;
  Status status;
  PredictResult result;
  std::string format;
  int width = 0, height = 0;
  bool quality_pass = true;
  QualityValues quality_values{};
  std::future<StatusOr<std::vector<float>>> logits;
  const Served* shadow = nullptr;  // the challenger in the shadow, when its call was queued
  std::future<StatusOr<std::vector<float>>> shadow_logits;
  // A request that fails after its shadow call was queued still waits for it: the queued call
  // points at the model that `serving` keeps alive.
  ~Job() {
    if (shadow_logits.valid()) shadow_logits.wait();
  }
  std::vector<float> probabilities;
  std::optional<std::future<StatusOr<int64_t>>> committed;
  KeptBecause kept = KeptBecause::kReview;
};

Status Predictor::Prepare(const PredictRequest& request, Job& job) {
  job.start = std::chrono::steady_clock::now();
  SEYE_RETURN_IF_ERROR(ValidateName(request.site, "site"));
  job.serving = serving();
  job.served = &job.serving->For(request.site);
  const Classifier& model = *job.served->model;
  SEYE_RETURN_IF_ERROR(ValidateName(request.camera, "camera"));
  // Refuses empty input and anything but PNG and JPEG, with the cause.
  SEYE_ASSIGN_OR_RETURN(const Image image, DecodeImage(request.image, options_.limits));
  job.format = ImageFormatName(request.image);
  const auto [baseline, baseline_name] = BaselineFor(request.site, *job.served);
  SEYE_ASSIGN_OR_RETURN(const QualityAssessment quality, AssessQuality(image, baseline.get()));
  const InputSpec& spec = model.card().input;
  std::vector<float> input(spec.values_per_image());
  Normalize(ConformImage(image, spec).pixels, spec, input);
  SubmitShadow(request, image, input, job);
  SEYE_ASSIGN_OR_RETURN(job.logits, batcher_->Submit({&model, std::move(input)}));
  PredictResult& r = job.result;
  r.quality = quality.ToJson();
  r.baseline = baseline_name;
  r.model_version = job.served->version;
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

bool Predictor::DecidesUnderDrift(const std::string& reason, const Classifier& model,
                                  double confidence) const {
  const auto& calibration = model.card().calibration;
  const std::string_view restriction = DriftRestriction(monitor_->options().action, reason,
                                                        calibration && calibration->CanTighten());
  if (restriction == "unchanged") return true;
  return restriction == "tightened" &&
         calibration->DecidesAutomaticallyUnderShift(float(confidence));
}

Status Predictor::Decide(const PredictRequest& request, Job& job) {
  SEYE_ASSIGN_OR_RETURN(const std::vector<float> row, job.logits.get());
  const Classifier& model = *job.served->model;
  const size_t k = model.num_classes();
  const std::span<const float> logits(row.data(), k), embedding(row.data() + k, row.size() - k);
  job.probabilities = TemperedSoftmax(logits, k, model.temperature());
  const auto& probs = job.probabilities;
  std::vector<int> order(k);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return probs[a] > probs[b]; });
  const auto& names = model.card().class_names;
  PredictResult& r = job.result;
  r.label = order[0];
  r.label_name = names[order[0]];
  r.confidence = probs[order[0]];
  for (size_t i = 0; i < std::min(kTopK, k); ++i)
    r.top.emplace_back(names[order[i]], probs[order[i]]);
  const auto& card = model.card();
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
    const auto suspension =
        monitor_->Observe({.site = request.site,
                           .camera = request.camera,
                           .time_ms = r.time_ms,
                           .quality = job.quality_values,
                           .quality_flagged = !job.quality_pass,
                           .confidence = r.confidence,
                           .label = r.label,
                           .review = !r.reasons.empty(),
                           .embedding = {embedding.begin(), embedding.end()},
                           .atc_threshold = AtcThresholdOf(model),
                           .can_tighten = card.calibration && card.calibration->CanTighten()});
    if (suspension && !DecidesUnderDrift(*suspension, model, r.confidence))
      r.reasons.push_back("drift:" + *suspension);
  }
  r.decision = r.reasons.empty() ? "auto" : "review";
  ScoreShadow(request, job);

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

bool Predictor::DrawShadow() {
  if (options_.shadow_share >= 1) return true;
  std::lock_guard lock(shadow_mu_);
  return std::uniform_real_distribution<double>(0, 1)(shadow_rng_) < options_.shadow_share;
}

void Predictor::SubmitShadow(const PredictRequest& request, const Image& image,
                             const std::vector<float>& served_input, Job& job) {
  const Served* shadow = job.serving->ShadowFor(request.site);
  if (!shadow || !DrawShadow()) return;
  const InputSpec& spec = shadow->model->card().input;
  std::vector<float> input;
  if (spec == job.served->model->card().input) {
    input = served_input;
  } else {
    input.resize(spec.values_per_image());
    Normalize(ConformImage(image, spec).pixels, spec, input);
  }
  // A full queue costs the shadow this image, never the request.
  auto queued = batcher_->Submit({shadow->model.get(), std::move(input)});
  if (!queued.ok()) return;
  job.shadow = shadow;
  job.shadow_logits = std::move(*queued);
}

void Predictor::ScoreShadow(const PredictRequest& request, Job& job) {
  if (!job.shadow) return;
  const auto row = job.shadow_logits.get();
  const Classifier& challenger = *job.shadow->model;
  const size_t k = challenger.num_classes();
  if (!row.ok() || row->size() < k) return;
  const auto probs =
      TemperedSoftmax(std::span<const float>(row->data(), k), k, challenger.temperature());
  const auto best = std::max_element(probs.begin(), probs.end());
  const int label = int(best - probs.begin());
  auto confident = [](const Classifier& model, double confidence) {
    const auto& c = model.card().calibration;
    return c && c->DecidesAutomatically(float(confidence));
  };
  const PredictResult& r = job.result;
  const bool challenger_sure = confident(challenger, *best);
  const bool serving_sure = confident(*job.served->model, r.confidence);
  ShadowTally t;
  t.images = 1;
  t.agreed = label == r.label;
  t.challenger_confident = challenger_sure;
  t.serving_confident = serving_sure;
  t.both_confident = challenger_sure && serving_sure;
  t.both_confident_disagreed = t.both_confident && !t.agreed;
  t.first_ms = t.last_ms = r.time_ms;
  std::lock_guard lock(shadow_mu_);
  shadow_tallies_[job.shadow->version][request.site].Add(t);
}

void Predictor::ObserveAudit(const Capture& capture, const std::string& answer,
                             int64_t answered_ms) {
  if (!monitor_ || capture.kept_because != KeptBecause::kAudit) return;
  const auto& names = model()->card().class_names;
  if (std::find(names.begin(), names.end(), answer) == names.end()) return;
  monitor_->ObserveAudit(capture.site, capture.camera, answered_ms, answer == capture.label_name);
}

Status ObserveAuditAnswer(const Store& store, Predictor& predictor, const ReviewAnswer& stored) {
  if (!predictor.monitor() || stored.answer == kAnswerSkip) return Status::Ok();
  SEYE_ASSIGN_OR_RETURN(const ReviewTask task, store.GetTask(stored.task_id));
  if (task.kind != TaskKind::kAudit) return Status::Ok();
  // The first class answer, at once: a second opinion would hold back exactly the answers that
  // say the model is wrong, and at a site with one reviewer for ever. The monitor's reference
  // is learned from the same reviewers' slips.
  SEYE_ASSIGN_OR_RETURN(const auto answers, store.AnswersFor(stored.capture_id));
  const auto given = std::count_if(answers.begin(), answers.end(),
                                   [](const ReviewAnswer& a) { return a.answer != kAnswerSkip; });
  if (given != 1) return Status::Ok();
  SEYE_ASSIGN_OR_RETURN(const Capture capture, store.Get(stored.capture_id));
  predictor.ObserveAudit(capture, stored.answer, stored.answered_ms);
  return Status::Ok();
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
