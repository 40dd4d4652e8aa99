#include "policy.h"

#include <fmt/format.h>

#include <algorithm>

#include "steadyeye/core/time.h"
#include "steadyeye/model/classifier.h"
#include "steadyeye/registry/site_data.h"
#include "steadyeye/review/review_queue.h"

namespace steadyeye::sim {

namespace {

constexpr size_t kServeChunk = 64;  // images per PredictMany: shared model batches and commits
constexpr int64_t kLeaseMs = 600'000;

bool HasReasonPrefix(const PredictResult& r, const std::string& prefix) {
  return std::any_of(r.reasons.begin(), r.reasons.end(),
                     [&](const std::string& reason) { return reason.rfind(prefix, 0) == 0; });
}

}  // namespace

PolicyRun::PolicyRun(const std::string& name, bool loop, const SimulationOptions& options,
                     const Stream& stream)
    : name_(name),
      loop_(loop),
      options_(options),
      stream_(stream),
      outcomes_(stream.images.size()),
      reviewer_rng_(options.scenario.seed + 17) {}

PolicyRun::~PolicyRun() = default;

StatusOr<std::unique_ptr<PolicyRun>> PolicyRun::Create(const std::string& name, bool loop,
                                                       const SimulationOptions& options,
                                                       const Stream& stream,
                                                       const std::filesystem::path& dir) {
  std::unique_ptr<PolicyRun> run(new PolicyRun(name, loop, options, stream));
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  SEYE_ASSIGN_OR_RETURN(run->store_, OpenSqliteStore(dir));
  SEYE_ASSIGN_OR_RETURN(auto model, Classifier::Load(options.lab_model));
  if (model->card().class_names != stream.class_names)
    return InvalidArgumentError(options.lab_model.string() +
                                " has other classes than the stream's data");
  const std::string version = model->card().Version();
  SEYE_RETURN_IF_ERROR(run->store_
                           ->RegisterModel(options.lab_model, version, model->card().ToJson(),
                                           "demo", "the lab model", UnixMillisNow())
                           .status());
  SEYE_RETURN_IF_ERROR(
      run->store_->SetAlias(kChampionAlias, version, "demo", "the lab model", UnixMillisNow())
          .status());
  run->metrics_ = std::make_unique<ServerMetrics>(version);
  PredictorOptions p;
  p.audit_rate = options.scenario.audit_rate;
  p.seed = options.scenario.seed;
  SEYE_ASSIGN_OR_RETURN(run->alerts_,
                        AlertDispatcher::Create(*run->store_, *run->metrics_, WebhookOptions{}));
  if (loop) {
    DriftOptions drift;
    drift.reference_frames = options.scenario.drift_reference_frames;
    drift.resolve_frames = options.scenario.drift_reference_frames;
    drift.audit_rate = options.scenario.audit_rate;
    drift.seed = options.scenario.seed;
    drift.action = options.scenario.loop.drift_action;
    SEYE_RETURN_IF_ERROR(EnableDriftMonitoring(p, drift, *run->store_, *run->alerts_));
  }
  SEYE_ASSIGN_OR_RETURN(run->predictor_,
                        Predictor::Create(std::move(model), *run->store_, *run->metrics_, p));
  if (loop) {
    run->follower_ = std::make_unique<RegistryFollower>(
        *run->store_, *run->predictor_, [log = options.log](const std::string& line) {
          if (log) log(line);
        });
  }
  return run;
}

Status PolicyRun::Serve(size_t begin, size_t end) {
  std::vector<PredictRequest> requests;
  for (size_t at = begin; at < end; at += kServeChunk) {
    const size_t stop = std::min(end, at + kServeChunk);
    requests.clear();
    for (size_t i = at; i < stop; ++i) {
      const StreamImage& image = stream_.images[i];
      const auto& site = options_.scenario.sites[size_t(image.site)];
      requests.push_back({image.png, site.name, site.camera, image.time_ms});
    }
    auto results = predictor_->PredictMany(requests);
    for (size_t k = 0; k < results.size(); ++k) {
      if (!results[k].ok())
        return results[k].status().WithContext("serving stream image " + std::to_string(at + k));
      const PredictResult& r = *results[k];
      Outcome& o = outcomes_[at + k];
      o.automatic = r.decision == "auto";
      o.quality_flag = HasReasonPrefix(r, "quality:");
      o.drift_suspended = HasReasonPrefix(r, "drift:");
      o.label = r.label;
      if (r.capture_id) image_of_capture_[*r.capture_id] = at + k;
    }
  }
  return Status::Ok();
}

Status PolicyRun::Review(int64_t now_ms, int capacity) {
  const auto& names = stream_.class_names;
  std::uniform_real_distribution<double> unit(0, 1);
  std::uniform_int_distribution<int> other(1, int(names.size()) - 1);
  for (int n = 0; n < capacity; ++n) {
    // Three reviewers take turns, so that double-reviewed tasks and second opinions get their
    // second answer, and a disagreement its third.
    const std::string reviewer = "sim-reviewer-" + std::to_string(tasks_answered_ % 3 + 1);
    SEYE_ASSIGN_OR_RETURN(const auto task, store_->NextTask(reviewer, now_ms, kLeaseMs));
    if (!task) break;
    const auto it = image_of_capture_.find(task->capture_id);
    if (it == image_of_capture_.end())
      return InternalError("review task for capture " + std::to_string(task->capture_id) +
                           " that this run did not send");
    const StreamImage& image = stream_.images[it->second];
    const int truth = image.label;
    const int answer = unit(reviewer_rng_) < options_.scenario.reviewers.error_rate
                           ? (truth + other(reviewer_rng_)) % int(names.size())
                           : truth;
    SEYE_ASSIGN_OR_RETURN(const ReviewAnswer stored,
                          store_->Answer(task->id, reviewer, names[size_t(answer)], now_ms));
    ++tasks_answered_;
    SEYE_RETURN_IF_ERROR(ObserveAuditAnswer(*store_, *predictor_, stored));
    if (task->answers_done > 0) continue;  // a later answer to a task already counted
    ++tasks_first_answered_;
    first_answers_wrong_ += answer != truth;
    // An answer stands as the final decision only when it came by the end of the image's day;
    // later ones still teach the loop.
    Outcome& o = outcomes_[it->second];
    if (!o.answer && now_ms <= stream_.start_ms + image.day * kDayMs) o.answer = answer;
    SiteState& state = sites_[task->site];
    if (IsGateHoldout(task->capture_id)) {
      state.holdout_reviewed_ms.push_back(image.time_ms);
    } else {
      ++state.new_trainable_reviews;
    }
  }
  return Status::Ok();
}

nlohmann::json PolicyRun::Action(const std::string& site, const std::string& kind,
                                 const std::string& why, int64_t now_ms) const {
  return {{"site", site},
          {"time", FormatUnixMillis(now_ms)},
          {"day", 1 + double(now_ms - stream_.start_ms) / kDayMs},
          {"trigger", why},
          {"kind", kind}};
}

void PolicyRun::Record(nlohmann::json action) {
  if (options_.log) options_.log(action.dump());
  actions_.push_back(std::move(action));
}

Status PolicyRun::MakeChallenger(const std::string& site, SiteState& state, ChallengerSource source,
                                 const std::string& why, int64_t since_ms, int64_t now_ms) {
  const std::string by = "loop:" + why;
  SiteAdaptOptions adapt;
  adapt.query.site = site;
  adapt.query.since_ms = since_ms;
  adapt.seed = options_.scenario.seed;
  adapt.by = by;
  const LoopSpec& spec = options_.scenario.loop;
  SiteRetrainOptions retrain;
  retrain.site = site;
  retrain.lab_data = options_.lab_data;
  retrain.lab_replay = spec.lab_replay;
  retrain.training.epochs = spec.epochs;
  retrain.training.learning_rate = 0.01;
  retrain.training.patience = 2;
  retrain.training.threads = options_.train_threads;
  retrain.training.seed = options_.scenario.seed;
  retrain.alpha = options_.scenario.alpha;
  retrain.delta = options_.scenario.delta;
  retrain.by = by;
  const std::string kind = source == ChallengerSource::kAdapt ? "adapt" : "retrain";
  auto made = MakeSiteChallenger(*store_, source, adapt, retrain);
  if (!made.ok()) {
    nlohmann::json action = Action(site, kind, why, now_ms);
    action["error"] = made.status().ToString();
    Record(std::move(action));
    return Status::Ok();
  }
  // A newer challenger replaces one still waiting: the alias names the newest. From the next
  // round on, the serving path scores it in the shadow.
  state.pending = Pending{made->record.id, kind, why, since_ms, now_ms, made->images};
  return follower_->SyncOnce().status();
}

Status PolicyRun::JudgePending(const std::string& site, SiteState& state, int64_t now_ms) {
  const Pending& p = *state.pending;
  const LoopSpec& spec = options_.scenario.loop;
  SiteGateOptions gate;
  const size_t evidence =
      size_t(std::count_if(state.holdout_reviewed_ms.begin(), state.holdout_reviewed_ms.end(),
                           [&](int64_t t) { return t >= p.since_ms; }));
  SEYE_ASSIGN_OR_RETURN(const ShadowTally scored, ShadowTallyAt(*store_, p.id, site));
  const size_t shadow = size_t(scored.images);
  if (evidence < gate.gate.min_images || shadow < spec.min_shadow_images) {
    if (now_ms - p.made_ms < int64_t(spec.max_wait_days * kDayMs)) return Status::Ok();
    nlohmann::json action = Action(site, p.kind, p.why, now_ms);
    action["challenger"] = p.id;
    action["expired"] =
        fmt::format("{} held-out reviewed images and {} scored in the shadow in {:g} days",
                    evidence, shadow, spec.max_wait_days);
    Record(std::move(action));
    state.pending.reset();
    return Status::Ok();
  }
  gate.site = site;
  gate.challenger = p.id;
  gate.gate.margin = spec.margin;
  gate.lab_margin = spec.lab_margin;
  gate.clean_data = options_.clean_data;
  gate.clean_images = options_.gate_clean_images;
  gate.shift_images = options_.gate_shift_images;
  gate.site_since_ms = p.since_ms;
  gate.min_shadow_images = spec.min_shadow_images;
  gate.by = "loop:" + p.why;
  auto judged = GateSiteChallenger(*store_, gate);
  nlohmann::json action = Action(site, p.kind, p.why, now_ms);
  action["challenger"] = p.id;
  action["made_day"] = 1 + double(p.made_ms - stream_.start_ms) / kDayMs;
  action["images"] = p.images;
  state.pending.reset();
  if (!judged.ok()) {
    action["error"] = judged.status().ToString();
  } else {
    action["promoted"] = judged->record.promoted;
    action["gate_decision"] = judged->record.id;
    action["shadow"] = judged->record.evidence.value("shadow", nlohmann::json());
    if (!judged->decision.refusals.empty()) action["refused"] = judged->decision.refusals;
    // A promotion switches the site's model; either way the shadow scoring of it ends.
    SEYE_RETURN_IF_ERROR(follower_->SyncOnce().status());
    if (judged->record.promoted) {
      state.alert_onset_ms.reset();  // the switch learns the site's drift reference again
      Rebaseline(site, p.since_ms, action);
      // Its threshold was certified on lab images: from now on the site's own images since
      // the change it was made for may certify one there.
      state.certify_since_ms = p.since_ms;
    }
  }
  Record(std::move(action));
  return Status::Ok();
}

Status PolicyRun::Recalibrate(const std::string& site, SiteState& state, int64_t now_ms) {
  SiteRecalibrateOptions options;
  options.site = site;
  options.since_ms = *state.certify_since_ms;
  options.alpha = options_.scenario.alpha;
  options.delta = options_.scenario.delta;
  options.by = "loop:site-certificate";
  auto made = RecalibrateOnSite(*store_, options);
  if (!made.ok() && made.status().code() == StatusCode::kFailedPrecondition)
    return Status::Ok();  // too few images yet
  nlohmann::json action = Action(site, "recalibrate", "site-certificate", now_ms);
  if (!made.ok()) {
    action["error"] = made.status().ToString();
    Record(std::move(action));
    return Status::Ok();
  }
  if (!made->record) return Status::Ok();  // nothing certified yet; try again with more images
  action["recalibration"] = made->ToJson();
  Record(std::move(action));
  // Serving the new version learns the site's drift reference again: the alert acted upon
  // resolves, and the site is decided at its own certified threshold.
  SEYE_RETURN_IF_ERROR(follower_->SyncOnce().status());
  state.alert_onset_ms.reset();
  state.certify_since_ms.reset();
  return Status::Ok();
}

void PolicyRun::Rebaseline(const std::string& site, int64_t since_ms, nlohmann::json& action) {
  // The serving model was just shown to do well on the site's images since `since_ms`: those
  // conditions are the site's normal now, and the quality gate should judge frames against them
  // (what an operator does by re-taking the site's baseline after re-mounting a camera).
  SiteDataQuery query;
  query.site = site;
  query.since_ms = since_ms;
  auto baseline = SiteQualityBaseline(*store_, query, options_.scenario.seed);
  const Status set =
      baseline.ok() ? predictor_->SetSiteBaseline(site, *baseline) : baseline.status();
  if (set.ok()) {
    action["quality_baseline_images"] = baseline->n;
  } else {
    action["quality_baseline_error"] = set.ToString();
  }
}

Status PolicyRun::RunLoop(int64_t now_ms) {
  const LoopSpec& spec = options_.scenario.loop;
  AlertQuery open;
  open.state = "open";
  SEYE_ASSIGN_OR_RETURN(const auto alerts, store_->ListAlerts(open));
  // Saves what the shadows scored in the round just served.
  SEYE_RETURN_IF_ERROR(follower_->SyncOnce().status());
  for (const auto& site : options_.scenario.sites) {
    SiteState& state = sites_[site.name];
    std::optional<nlohmann::json> newest;
    for (const auto& alert : alerts) {
      if (alert.value("site", "") == site.name) newest = alert;  // newest first
      if (newest) break;
    }
    if (!newest) state.alert_onset_ms.reset();
    if (newest && newest->value("id", int64_t(0)) > state.acted_alert) {
      // A drift alert: adapt at once, without labels, to what the site sent since its onset.
      state.acted_alert = newest->value("id", int64_t(0));
      const auto onset = ParseTimestamp(newest->value("onset", ""));
      state.alert_onset_ms = onset.ok() ? *onset : now_ms - kDayMs;
      state.certify_since_ms = state.alert_onset_ms;
      SEYE_RETURN_IF_ERROR(MakeChallenger(site.name, state, ChallengerSource::kAdapt,
                                          "drift-alert:" + std::to_string(state.acted_alert),
                                          *state.alert_onset_ms, now_ms));
    } else if (spec.retrain_every > 0 && state.new_trainable_reviews >= spec.retrain_every) {
      // Enough new reviewed captures: retrain on them, judged on the site's last week.
      const std::string why = "reviewed:" + std::to_string(state.new_trainable_reviews);
      state.new_trainable_reviews = 0;
      SEYE_RETURN_IF_ERROR(MakeChallenger(site.name, state, ChallengerSource::kRetrain, why,
                                          now_ms - 7 * kDayMs, now_ms));
    }
    if (state.pending) SEYE_RETURN_IF_ERROR(JudgePending(site.name, state, now_ms));
    // Since the site's last change: can its own reviewed images certify a threshold now?
    if (state.certify_since_ms) SEYE_RETURN_IF_ERROR(Recalibrate(site.name, state, now_ms));
  }
  return Status::Ok();
}

Status PolicyRun::Round(size_t begin, size_t end, int64_t now_ms, int capacity, bool last) {
  SEYE_RETURN_IF_ERROR(Serve(begin, end));
  SEYE_RETURN_IF_ERROR(Review(now_ms, capacity));
  return loop_ && !last ? RunLoop(now_ms) : Status::Ok();
}

std::map<std::string, std::string> PolicyRun::Versions() const {
  std::map<std::string, std::string> out;
  const auto served = predictor_->ModelVersions();
  for (const auto& site : options_.scenario.sites) {
    const auto it = served.find(site.name);
    out[site.name] = it != served.end() ? it->second : served.at("");
  }
  return out;
}

StatusOr<nlohmann::json> PolicyRun::ReviewerFigures() const {
  // Labels of all reviewed captures, and of those where the model was confident (the images a
  // site certificate rests on, and where second opinions are asked).
  int64_t labelled = 0, wrong = 0, confident = 0, confident_wrong = 0;
  const double cutoff = StoreOptions{}.second_opinion_confidence;
  for (const auto& [capture_id, image] : image_of_capture_) {
    SEYE_ASSIGN_OR_RETURN(const Capture capture, store_->Get(capture_id));
    if (!capture.reviewed_label) continue;
    const bool right =
        *capture.reviewed_label == stream_.class_names[size_t(stream_.images[image].label)];
    ++labelled;
    wrong += !right;
    if (capture.confidence < cutoff) continue;
    ++confident;
    confident_wrong += !right;
  }
  SEYE_ASSIGN_OR_RETURN(const ReviewStats queue, store_->QueueStats(""));
  auto share = [](int64_t a, int64_t b) { return b > 0 ? double(a) / double(b) : 0.0; };
  return nlohmann::json{{"answers", tasks_answered_},
                        {"tasks_answered", tasks_first_answered_},
                        {"second_opinions", queue.second_opinions},
                        {"double_reviewed", queue.double_reviewed},
                        {"first_answer_error", share(first_answers_wrong_, tasks_first_answered_)},
                        {"labelled_captures", labelled},
                        {"label_error", share(wrong, labelled)},
                        {"confident_labelled_captures", confident},
                        {"confident_label_error", share(confident_wrong, confident)}};
}

StatusOr<std::vector<nlohmann::json>> PolicyRun::Alerts() const {
  AlertQuery all;
  all.limit = 10000;
  return store_->ListAlerts(all);
}

}  // namespace steadyeye::sim
