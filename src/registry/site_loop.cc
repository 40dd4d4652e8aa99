#include "steadyeye/registry/site_loop.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <limits>
#include <random>

#include "steadyeye/core/time.h"
#include "steadyeye/data/splits.h"
#include "steadyeye/eval/robustness.h"
#include "steadyeye/model/calibrate.h"
#include "steadyeye/model/predict.h"

namespace steadyeye {

namespace {

// `n` images of `data` drawn without replacement (seeded), in their original order, or all.
Dataset Sample(const Dataset& data, size_t n, uint64_t seed) {
  std::vector<size_t> order(data.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  order.resize(std::min(n, order.size()));
  std::sort(order.begin(), order.end());
  return data.Subset(order);
}

// Adds the site's images to the lab replay `train`, repeated so that they make up about
// `site_share` of it (each repetition gets its own augmentation and production views). Every
// fifth site image goes to `val` instead, for early stopping with the lab's validation images.
void MixSiteIntoLab(const Dataset& site, double site_share, Dataset& train, Dataset& val) {
  std::vector<size_t> fit, check;
  for (size_t i = 0; i < site.size(); ++i) (i % 5 == 4 ? check : fit).push_back(i);
  const Dataset site_fit = site.Subset(fit);
  val.Extend(site.Subset(check));
  const double wanted = site_share / (1 - site_share) * double(train.size());
  const size_t repeats =
      std::max<size_t>(1, size_t(wanted / double(std::max<size_t>(1, fit.size())) + 0.5));
  for (size_t r = 0; r < repeats; ++r) train.Extend(site_fit);
}

// Every reviewed capture of one part of the site, conformed to `model`.
StatusOr<SiteReviewed> AllReviewed(const Store& store, const std::string& site, ReviewedPart part,
                                   const Classifier& model,
                                   std::optional<int64_t> since_ms = std::nullopt) {
  SiteDataQuery q;
  q.site = site;
  q.since_ms = since_ms;
  q.limit = std::numeric_limits<size_t>::max();
  return SiteReviewedImages(store, q, part, model.card().input, model.card().class_names);
}

// The clean images and the shift suite (every anticipated condition on the first images).
StatusOr<std::vector<GateSet>> LabSets(const SiteGateOptions& o, const Classifier& model) {
  SEYE_ASSIGN_OR_RETURN(Dataset clean,
                        LoadDataset(o.clean_data, LoadOptionsFor(model, o.clean_images)));
  std::vector<size_t> first(std::min(o.shift_images, clean.size()));
  for (size_t i = 0; i < first.size(); ++i) first[i] = i;
  const Dataset base = clean.Subset(first);
  Dataset suite = base.Subset(std::vector<size_t>{});
  SEYE_ASSIGN_OR_RETURN(const auto conditions, SelectConditions("anticipated"));
  for (const auto& condition : conditions) {
    SEYE_ASSIGN_OR_RETURN(const Dataset shifted,
                          CorruptDataset(base, condition, o.shift_severity, kDefaultConditionSeed));
    suite.Extend(shifted);
  }
  std::vector<GateSet> sets;
  sets.push_back({"clean " + o.clean_data.ToString(), std::move(clean), false, o.lab_margin});
  sets.push_back({"shift suite (anticipated, severity " + std::to_string(o.shift_severity) + ")",
                  std::move(suite), false, o.lab_margin});
  return sets;
}

}  // namespace

StatusOr<std::unique_ptr<Classifier>> LoadRegisteredModel(const ModelRegistry& registry,
                                                          const std::string& id) {
  SEYE_ASSIGN_OR_RETURN(const ModelRecord record, registry.GetModel(id));
  return Classifier::Load(record.file);
}

StatusOr<std::unique_ptr<Classifier>> LoadSiteModel(const ModelRegistry& registry,
                                                    const std::string& site) {
  SEYE_ASSIGN_OR_RETURN(const auto aliases, registry.Aliases());
  const auto id = ModelForSite(aliases, site);
  if (!id) return FailedPreconditionError("no model serves site " + site);
  return LoadRegisteredModel(registry, *id);
}

namespace {

StatusOr<ModelRecord> RegisterInMemoryModel(Store& store, const Classifier& model,
                                            const std::string& by, const std::string& reason) {
  // The registry copies a bundle from a file; this one exists only for that copy.
  static std::atomic<uint64_t> counter{0};
  const auto bundle = std::filesystem::temp_directory_path() /
                      fmt::format("steadyeye-model-{}-{}.seye", ::getpid(), counter++);
  SEYE_RETURN_IF_ERROR(model.Save(bundle));
  auto record = store.RegisterModel(bundle, model.card().Version(), model.card().ToJson(), by,
                                    reason, UnixMillisNow());
  std::error_code ignored;
  std::filesystem::remove(bundle, ignored);
  return record;
}

}  // namespace

StatusOr<ModelRecord> RegisterSiteChallenger(Store& store, const std::string& site,
                                             const Classifier& model, const std::string& by,
                                             const std::string& reason) {
  SEYE_ASSIGN_OR_RETURN(auto record, RegisterInMemoryModel(store, model, by, reason));
  SEYE_RETURN_IF_ERROR(
      store.SetAlias(SiteChallengerAlias(site), record.id, by, reason, UnixMillisNow()).status());
  return record;
}

StatusOr<NewChallenger> AdaptSiteChallenger(Store& store, const SiteAdaptOptions& o) {
  const std::string& site = o.query.site;
  SEYE_ASSIGN_OR_RETURN(const auto model, LoadSiteModel(store, site));
  const ModelCard& card = model->card();
  SEYE_ASSIGN_OR_RETURN(SiteStream stream,
                        SiteStreamImages(store, o.query, card.input, card.class_names, o.seed));
  NewChallenger out;
  out.images = stream.images.size();
  out.source = fmt::format("store captures of site {} ({} captures, effective sample {:.0f})", site,
                           stream.captures, stream.effective_size);
  AdaptOptions adapt = o.adapt;
  adapt.site = site;
  adapt.source = out.source;
  SEYE_ASSIGN_OR_RETURN(const auto adapted, AdaptBatchNorm(*model, stream.images, adapt));
  SEYE_ASSIGN_OR_RETURN(
      out.record,
      RegisterSiteChallenger(store, site, *adapted, o.by, "label-free adaptation to site " + site));
  return out;
}

StatusOr<NewChallenger> RetrainSiteChallenger(Store& store, const SiteRetrainOptions& o,
                                              size_t* not_a_class) {
  SEYE_ASSIGN_OR_RETURN(const auto start, LoadSiteModel(store, o.site));
  SEYE_ASSIGN_OR_RETURN(SiteReviewed reviewed,
                        AllReviewed(store, o.site, ReviewedPart::kTrainable, *start));
  if (not_a_class) *not_a_class = reviewed.not_a_class;
  if (reviewed.data.size() < o.min_reviewed) {
    return FailedPreconditionError(
        fmt::format("site {} has {} reviewed captures to train on; {} are needed", o.site,
                    reviewed.data.size(), o.min_reviewed));
  }
  SEYE_ASSIGN_OR_RETURN(const Dataset lab, LoadDataset(o.lab_data, LoadOptionsFor(*start)));
  const TrainingSplits lab_splits = SplitForTraining(lab);
  Dataset train = Sample(lab_splits.train, o.lab_replay, o.training.seed);
  Dataset val = Sample(lab_splits.validation, 2000, o.training.seed);
  MixSiteIntoLab(reviewed.data, o.site_share, train, val);
  TrainOptions training = o.training;
  training.data_source = fmt::format("site {} reviewed captures ({}) + {} replay", o.site,
                                     reviewed.data.size(), o.lab_data.ToString());
  SEYE_ASSIGN_OR_RETURN(auto model, FineTuneClassifier(*start, train, val, training));
  CalibrateOptions calibrate{o.alpha, o.delta, o.lab_data.ToString() + " (calibration part)", {}};
  SEYE_ASSIGN_OR_RETURN(Calibration calibration,
                        CalibrateForProduction(*model, lab_splits.calibration, calibrate,
                                               o.shift_certificate_images));
  NewChallenger out;
  out.images = train.size();
  out.source = training.data_source;
  out.calibration = std::move(calibration);
  SEYE_ASSIGN_OR_RETURN(out.record, RegisterSiteChallenger(
                                        store, o.site, *model, o.by,
                                        fmt::format("fine-tuned on {} reviewed captures of site {}",
                                                    reviewed.data.size(), o.site)));
  return out;
}

StatusOr<SiteGateResult> GateSiteChallenger(Store& store, const SiteGateOptions& o) {
  SEYE_ASSIGN_OR_RETURN(const auto aliases, store.Aliases());
  const auto incumbent_id = ModelForSite(aliases, o.site);
  if (!incumbent_id) return FailedPreconditionError("no model serves site " + o.site);
  std::string challenger_id = o.challenger;
  if (challenger_id.empty()) {
    const auto it = aliases.find(SiteChallengerAlias(o.site));
    if (it == aliases.end())
      return NotFoundError("site " + o.site +
                           " has no challenger; adapt or retrain one, or name one");
    challenger_id = it->second;
  }
  SEYE_ASSIGN_OR_RETURN(const auto incumbent, LoadRegisteredModel(store, *incumbent_id));
  SEYE_ASSIGN_OR_RETURN(const auto challenger, LoadRegisteredModel(store, challenger_id));
  SEYE_ASSIGN_OR_RETURN(
      SiteReviewed reviewed,
      AllReviewed(store, o.site, ReviewedPart::kGateHoldout, *incumbent, o.site_since_ms));
  SEYE_ASSIGN_OR_RETURN(std::vector<GateSet> sets, LabSets(o, *incumbent));
  sets.insert(
      sets.begin(),
      GateSet{"site " + o.site + " reviewed (held out)", std::move(reviewed.data), true, {}});
  SiteGateResult out;
  SEYE_ASSIGN_OR_RETURN(out.decision, JudgeChallenger(*incumbent, *challenger, sets, o.gate));
  SEYE_ASSIGN_OR_RETURN(const ShadowTally shadow,
                        ShadowTallyAt(store, challenger->card().Version(), o.site));
  if (size_t(shadow.images) < o.min_shadow_images) {
    out.decision.promote = false;
    out.decision.refusals.push_back("shadow: scored on " + std::to_string(shadow.images) +
                                    " live images at site " + o.site + ", needs " +
                                    std::to_string(o.min_shadow_images) + " before it acts");
  }
  GateRecord record;
  record.at_ms = UnixMillisNow();
  record.alias = SiteAlias(o.site);
  record.challenger = challenger->card().Version();
  record.incumbent = *incumbent_id;
  record.promoted = out.decision.promote && !o.dry_run;
  record.by = o.by;
  record.evidence = out.decision.ToJson();
  record.evidence["margin"] = o.gate.margin;
  record.evidence["lab_margin"] = o.lab_margin.value_or(o.gate.margin);
  record.evidence["dry_run"] = o.dry_run;
  record.evidence["shadow"] = shadow.ToJson();
  record.evidence["min_shadow_images"] = o.min_shadow_images;
  SEYE_ASSIGN_OR_RETURN(out.record, store.RecordGateDecision(std::move(record)));
  return out;
}

StatusOr<NewChallenger> MakeSiteChallenger(Store& store, ChallengerSource source,
                                           const SiteAdaptOptions& adapt,
                                           const SiteRetrainOptions& retrain) {
  if (source == ChallengerSource::kAdapt) return AdaptSiteChallenger(store, adapt);
  auto made = RetrainSiteChallenger(store, retrain);
  if (source == ChallengerSource::kRetrainElseAdapt &&
      made.status().code() == StatusCode::kFailedPrecondition) {
    return AdaptSiteChallenger(store, adapt);
  }
  return made;
}

StatusOr<SiteLoopStep> RunSiteLoopStep(Store& store, ChallengerSource source,
                                       const SiteAdaptOptions& adapt,
                                       const SiteRetrainOptions& retrain, SiteGateOptions gate) {
  SiteLoopStep step;
  SEYE_ASSIGN_OR_RETURN(step.challenger, MakeSiteChallenger(store, source, adapt, retrain));
  gate.challenger = step.challenger.record.id;
  SEYE_ASSIGN_OR_RETURN(step.gate, GateSiteChallenger(store, gate));
  return step;
}

nlohmann::json SiteRecalibration::ToJson() const {
  nlohmann::json j = {{"images", images},
                      {"certified", calibration.threshold.certified},
                      {"threshold", calibration.threshold.ToJson()},
                      {"temperature", calibration.temperature}};
  if (record) j["model"] = record->id;
  return j;
}

StatusOr<SiteRecalibration> RecalibrateOnSite(Store& store, const SiteRecalibrateOptions& o) {
  SEYE_ASSIGN_OR_RETURN(const auto aliases, store.Aliases());
  const auto serving_id = ModelForSite(aliases, o.site);
  if (!serving_id) return FailedPreconditionError("no model serves site " + o.site);
  SEYE_ASSIGN_OR_RETURN(const ModelRecord serving_record, store.GetModel(*serving_id));
  SEYE_ASSIGN_OR_RETURN(auto model, LoadRegisteredModel(store, *serving_id));
  SEYE_ASSIGN_OR_RETURN(SiteReviewed data,
                        AllReviewed(store, o.site, ReviewedPart::kGateHoldout, *model, o.since_ms));
  // A model registered at some time cannot have been trained on captures taken after it.
  SEYE_ASSIGN_OR_RETURN(const SiteReviewed unseen,
                        AllReviewed(store, o.site, ReviewedPart::kTrainable, *model,
                                    std::max(o.since_ms, serving_record.registered_ms)));
  data.data.Extend(unseen.data);
  SiteRecalibration out;
  out.images = data.data.size();
  if (out.images < o.min_images) {
    return FailedPreconditionError(fmt::format(
        "site {} has {} reviewed images the model serving it was not trained on; {} are needed to "
        "calibrate it there",
        o.site, out.images, o.min_images));
  }
  CalibrateOptions calibrate{o.alpha,
                             o.delta,
                             fmt::format("site {} reviewed captures since {} ({} images)", o.site,
                                         FormatUnixMillis(o.since_ms), out.images),
                             {}};
  SEYE_ASSIGN_OR_RETURN(out.calibration, CalibrateClassifier(*model, data.data, calibrate));
  if (!out.calibration.threshold.certified) return out;
  model->SetParent(serving_record.id);
  const std::string reason =
      fmt::format("re-calibrated on {} reviewed images of site {}: threshold {:.3f} certified",
                  out.images, o.site, out.calibration.threshold.threshold);
  SEYE_ASSIGN_OR_RETURN(out.record, RegisterInMemoryModel(store, *model, o.by, reason));
  SEYE_RETURN_IF_ERROR(
      store.SetAlias(SiteAlias(o.site), out.record->id, o.by, reason, UnixMillisNow()).status());
  return out;
}

}  // namespace steadyeye
