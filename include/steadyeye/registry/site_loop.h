// One site's loop, as library calls that the CLI (steadyeye adapt / retrain / models gate) and
// the server's triggers share: make a challenger for a site from its captures, judge it against
// the model serving the site, and promote it when it passes.
//
// Each call works on the store's registry: challengers are registered with their lineage and
// set as the alias challenger:<site>; gate decisions are logged with their evidence, and a
// promotion moves site:<site> (registry/gate.h, store/model_registry.h). A server that follows
// the registry (server/registry_follower.h) serves a promoted model without a restart.
//
// Thread-safety: calls may run on any thread; the store serialises writes. Two calls for the
// same site at once make two challengers, the later one named by the alias.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "steadyeye/calib/calibration.h"
#include "steadyeye/core/status.h"
#include "steadyeye/data/source.h"
#include "steadyeye/model/adapt.h"
#include "steadyeye/model/train.h"
#include "steadyeye/registry/gate.h"
#include "steadyeye/registry/site_data.h"
#include "steadyeye/store/store.h"

namespace steadyeye {

// The model serving `site` (its own, else the champion). FailedPrecondition when neither is
// set; the load's error for a bundle that no longer loads.
StatusOr<std::unique_ptr<Classifier>> LoadSiteModel(const ModelRegistry& registry,
                                                    const std::string& site);
// A registered model by id or unique prefix.
StatusOr<std::unique_ptr<Classifier>> LoadRegisteredModel(const ModelRegistry& registry,
                                                          const std::string& id);

struct NewChallenger {
  ModelRecord record;
  size_t images = 0;                       // images it was made from
  std::string source;                      // what they were, in words
  std::optional<Calibration> calibration;  // retraining only
};

// Registers `model` (saved through a temporary file, removed afterwards) and points
// challenger:<site> at it.
StatusOr<ModelRecord> RegisterSiteChallenger(Store& store, const std::string& site,
                                             const Classifier& model, const std::string& by,
                                             const std::string& reason);

struct SiteAdaptOptions {
  SiteDataQuery query;  // its site names the site
  AdaptOptions adapt;
  uint64_t seed = 1;
  std::string by = "adapt";
};
// Label-free: the serving model's BatchNorm statistics re-estimated on the site's recent captures
// (SiteStreamImages).
StatusOr<NewChallenger> AdaptSiteChallenger(Store& store, const SiteAdaptOptions& options);

struct SiteRetrainOptions {
  std::string site;
  DataRef lab_data;          // the lab's training data (its train part is replayed)
  size_t lab_replay = 6000;  // lab images replayed
  double site_share = 0.5;   // share of the training images from the site (repeated)
  size_t min_reviewed = 50;  // fewer reviewed captures: FailedPrecondition
  TrainOptions training;     // epochs, learning rate, threads, ...; widths/depths are the model's
  double alpha = kDefaultAlpha;
  double delta = kDefaultDelta;
  // Certifying calibration images per condition for the shift certificate (0 = all).
  size_t shift_certificate_images = 2000;
  std::string by = "retrain";
};
// The serving model fine-tuned on the site's reviewed captures outside the gate's holdout,
// repeated to `site_share` of the images, plus `lab_replay` lab images (so that nothing is
// forgotten), then calibrated on the lab's calibration part. Answers that are no class the
// model has (new_item, bad_image) are left out: a new class needs a model with another output.
// `not_a_class`, when given, receives how many were left out.
StatusOr<NewChallenger> RetrainSiteChallenger(Store& store, const SiteRetrainOptions& options,
                                              size_t* not_a_class = nullptr);

struct SiteGateOptions {
  std::string site;
  std::string challenger;  // id or prefix; empty: the alias challenger:<site>
  GateOptions gate;
  std::optional<double> lab_margin;  // the clean and shift-suite sets' margin (default: gate's)
  DataRef clean_data;                // clean lab images held back from training
  size_t clean_images = 2000;
  size_t shift_images = 200;  // per anticipated condition
  int shift_severity = 3;
  // Judge on the site's held-out reviewed captures taken since then (all when unset): after a
  // lasting change, the images of before no longer say how a model serves the site.
  std::optional<int64_t> site_since_ms;
  // Live images the challenger must have been scored on in the shadow at the site before it can
  // be promoted (server/registry_follower.h); what it scored is in the evidence either way.
  size_t min_shadow_images = 0;
  bool dry_run = false;  // judge and log, but do not promote
  std::string by = "gate";
};
struct SiteGateResult {
  GateRecord record;  // as logged
  GateDecision decision;
};
// Judges the site's challenger against the model serving the site on the site's held-out
// reviewed captures (the target), the clean images and the shift suite, reports what it scored
// in the shadow at the site (agreement with the serving model), logs the decision and promotes
// the challenger to site:<site> when it passes. NotFound when the site has no challenger.
StatusOr<SiteGateResult> GateSiteChallenger(Store& store, const SiteGateOptions& options);

// One step of a site's loop: make a challenger, then gate it (and promote it when it passes).
enum class ChallengerSource {
  kAdapt,             // label-free adaptation
  kRetrain,           // retraining from reviewed captures
  kRetrainElseAdapt,  // retraining when the site has the reviewed captures for it
};
struct SiteLoopStep {
  NewChallenger challenger;
  SiteGateResult gate;
};
// Makes the site's challenger only (registered and set as challenger:<site>, not judged).
StatusOr<NewChallenger> MakeSiteChallenger(Store& store, ChallengerSource source,
                                           const SiteAdaptOptions& adapt,
                                           const SiteRetrainOptions& retrain);
// MakeSiteChallenger, then GateSiteChallenger on what it made.
// The options' site, challenger and `by` fields are the caller's. The error of whichever call
// failed: making the challenger (FailedPrecondition: too few reviewed captures to retrain) or
// judging it.
StatusOr<SiteLoopStep> RunSiteLoopStep(Store& store, ChallengerSource source,
                                       const SiteAdaptOptions& adapt,
                                       const SiteRetrainOptions& retrain, SiteGateOptions gate);

// Re-fits the temperature and certified threshold of the model serving a site on the site's own
// reviewed images (calib/calibration.h FitCalibration, at `alpha` and `delta`). When a threshold
// is certified, registers the result as a child of that model and points site:<site> at it;
// otherwise changes nothing. A lab certificate says nothing of a site whose conditions changed;
// this one is made on them. It needs many images: at alpha 1% and delta 5%, at least 299
// images at or above the threshold when none of them is wrong.
//
// The images are the site's reviewed captures taken since `since_ms` that the model was not
// trained on: the gate's held-out ones, and the others taken after the model was registered.
// FailedPrecondition for fewer than `min_images`. The people's labels are taken as true, so
// reviewers' slips must be rarer than alpha (review/review_queue.h: second opinions). While a drift
// alert sends every frame of the site to review, the captures are a sample of the stream; otherwise
// they over-represent the frames the model was unsure of, which makes the certificate conservative.
struct SiteRecalibrateOptions {
  std::string site;
  int64_t since_ms = 0;
  double alpha = kDefaultAlpha;
  double delta = kDefaultDelta;
  size_t min_images = 100;  // fewer: FailedPrecondition
  std::string by = "recalibrate";
};
struct SiteRecalibration {
  size_t images = 0;
  Calibration calibration;
  std::optional<ModelRecord> record;  // when certified: registered and serving the site
  nlohmann::json ToJson() const;
};
StatusOr<SiteRecalibration> RecalibrateOnSite(Store& store, const SiteRecalibrateOptions& options);

}  // namespace steadyeye
