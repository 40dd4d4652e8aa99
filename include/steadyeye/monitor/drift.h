// Drift monitoring per site and camera: every served frame is observed; each stream (site,
// camera) learns its reference from its own first `reference_frames` frames, then watches
// every monitored quantity against it with a CUSUM on batch means (see cusum.h), and raises an
// alert that says what moved, the likely cause and what to do.
//
// Monitored quantities, per frame: the quality metrics (quality.h), the calibrated confidence,
// whether the frame went to review, whether the quality gate flagged it, and, per window of
// `class_window` frames, a chi-square statistic of the predicted classes against the
// reference's class shares, and, per window of `embedding_window` embeddings (one every
// `embedding_stride` frames), an MMD two-sample test (mmd.h) of the model's penultimate-layer
// embeddings against a random sample of the reference's. Apart from frames, the answers to the
// blind audit of automatic decisions come in (ObserveAudit): their error rate is watched
// against the stream's first `audit_reference` audits.
//
// False alarms: consecutive frames are not independent, so CUSUMs run on batch means whose
// long-run spread (lag-1 correlation included) is measured on the reference itself. Each
// quantity gets an equal share of the stream's false-alarm budget (Bonferroni): with M
// quantities and a budget of one false alarm per F frames, each CUSUM's threshold is set for an
// in-control run length of M x F frames (Siegmund's approximation). The reference's mean is an
// estimate, so each CUSUM's allowance k grows by its standard error (1 / sqrt(reference
// batches)). Frame values are clipped to a widened reference range first, so that one odd
// frame cannot raise an alarm alone.
//
// Alerts: one alert per stream at a time. It opens at the first alarm, with its onset estimated
// as the frame where the alarming CUSUM last left zero; later alarms keep it open and refresh
// what moved; it resolves after `resolve_frames` frames without an alarm, once every quantity
// that alarmed during it is nearer its reference since the last alarm than its level during
// the alert (a lasting change need not alarm again within `resolve_frames`: a class mix
// measured against a short reference alarms every few hundred frames, and its alert must not
// lift in between). An alert that has tightened the stream's decisions (DriftAction::kTighten)
// for `reference_frames` frames after its onset is absorbed instead: it resolves, the stream
// learns a new reference from its next frame (the fault is its normal now), and its decisions
// stay tightened for that fault until Relearn(). What changes next is then found against the
// new reference; a change the shift certificate does not cover (items_changed, unexplained)
// suspends. Streams are kept in memory only: after a restart every stream learns its reference
// again, without its restrictions.
//
// Thread-safety: Observe(), Suspension() and the read methods may be called from any thread.
// The sink is called with the monitor's lock released, in the order alerts change.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/quality/quality.h"

namespace steadyeye {

// What the monitor sees of one served frame.
struct DriftObservation {
  std::string site;
  std::string camera;
  int64_t time_ms = 0;
  QualityValues quality{};
  bool quality_flagged = false;
  double confidence = 0;  // calibrated, of the predicted class
  int label = 0;          // predicted class, 0..num_classes-1
  bool review = false;    // the decision went to review
  // The model's embedding of the frame (Classifier::embedding_size() floats), or empty.
  std::vector<float> embedding;
  // The ATC threshold of the model that judged the frame (calib/calibration.h); unset: the
  // monitor's options'.
  std::optional<double> atc_threshold;
  // The model that judged the frame has a certified threshold under production conditions
  // (calib/calibration.h ShiftCertificate), so a drift of the image can tighten its automatic
  // decisions rather than suspend them.
  bool can_tighten = false;
};

// What an open alert does to a stream's automatic decisions.
enum class DriftAction {
  kNone,     // nothing: it only alerts
  kSuspend,  // every decision goes to review
  // Where the alert names a fault of the image (IsImageFault) and the model has a shift
  // certificate, automatic decisions continue at or above its threshold; otherwise, suspended.
  kTighten,
};
// "suspend", "tighten", "none"; InvalidArgument naming the choices otherwise.
StatusOr<DriftAction> ParseDriftAction(std::string_view name);
const char* DriftActionName(DriftAction action);

// Whether a diagnosis reason (DriftDiagnosis::reason) names a fault of the image (glare, dust,
// blur, ...) rather than a change told by the model's outputs (items_changed, unexplained, ...).
bool IsImageFault(std::string_view reason);

// What an open alert with `reason` does under `action`: "suspended", "tightened" or
// "unchanged"; `can_tighten` as in DriftObservation.
const char* DriftRestriction(DriftAction action, std::string_view reason, bool can_tighten);

struct DriftOptions {
  size_t num_classes = 10;
  size_t reference_frames = 1000;       // a stream's first frames are its reference
  size_t batch = 20;                    // frames per batch mean
  size_t class_window = 50;             // frames per chi-square of the predicted classes
  double frames_per_false_alarm = 1e6;  // per stream, all quantities together
  double k = 0.5;  // CUSUM allowance, in long-run standard deviations (plus the reference's error)
  size_t resolve_frames = 1000;  // frames without an alarm before an alert may resolve
  // What a stream's open alert does to its automatic decisions.
  DriftAction action = DriftAction::kSuspend;
  // An open items_changed alert whose class mix alarmed restricts only the frames predicted as
  // a class whose share rose since the alert opened: the classes the changed items are taken
  // for. A class has risen at a binomial z above `risen_class_z` (the reference's error
  // included); a frame is spared only when its own class is within chance (z <= 2), and not in
  // the first two class windows after the alert opened. Until some class has risen, every frame
  // is restricted. Off: every frame, always.
  bool restrict_risen_classes_only = true;
  double risen_class_z = 3;
  // The model's class names, for alerts (RisenClass::name); may be empty.
  std::vector<std::string> class_names;
  int64_t first_alert_id = 1;  // so that ids continue those already stored
  // Every this many frames a stream adds a point to its history (see History()).
  size_t history_every = 100;
  size_t history_points = 5000;  // kept per stream, newest last
  // Embedding drift: one frame in `embedding_stride` is kept; each window of
  // `embedding_window` kept embeddings is tested against `embedding_reference_sample` drawn
  // from the reference's, with `embedding_permutations` permutations (about 2 ms per test at
  // 128 features on one core, under the monitor's lock: once per stride x window frames).
  size_t embedding_stride = 2;
  size_t embedding_window = 50;
  size_t embedding_reference_sample = 100;
  size_t embedding_permutations = 50;
  uint64_t seed = 1;  // for the reference samples and permutations
  // Audit answers: the first `audit_reference` of a stream are its reference; the alert's
  // figures average them in batches of `audit_batch`. `audit_rate` (audits per frame) converts
  // the false-alarm budget, counted in frames, into audits.
  size_t audit_reference = 100;
  size_t audit_batch = 10;
  double audit_rate = 0.02;
  // The model's ATC threshold (calib/calibration.h), for the label-free accuracy estimate of
  // frames that do not bring their own.
  std::optional<double> atc_threshold;
};

// One monitored quantity that moved, against the stream's reference.
struct DriftMove {
  std::string metric;
  double reference = 0;  // mean over the reference
  double recent = 0;     // mean since the onset
  double ratio = 0;      // recent / reference (0 when the reference is 0)
  double z = 0;          // (recent - reference) / the reference's batch-mean spread
  // (recent - reference) / the reference's spread between single frames: the size of the
  // move, comparable between quantities (z also grows with how steady a quantity is).
  double effect = 0;
  nlohmann::json ToJson() const;
};

// A class predicted more often since an alert opened than in the reference: what changed items
// are taken for.
struct RisenClass {
  int label = 0;
  std::string name;            // DriftOptions::class_names[label], else "class <label>"
  double share = 0;            // of the frames since the alert opened
  double reference_share = 0;  // of the reference's frames
  double z = 0;                // binomial z of the rise, the reference's error included
  nlohmann::json ToJson() const;
};

struct DriftAlert {
  int64_t id = 0;  // unique within the monitor, increasing
  std::string site, camera;
  std::string state = "open";  // "open" or "resolved"
  int64_t onset_ms = 0, detected_ms = 0;
  std::optional<int64_t> resolved_ms;
  // Frames of the stream (0 = its first frame): where the drift began and where it was found.
  int64_t onset_frame = 0, detected_frame = 0;
  int64_t alarms = 0;              // CUSUM alarms while open (a lasting shift keeps alarming)
  std::string trigger;             // the quantity whose CUSUM opened the alert
  std::vector<DriftMove> metrics;  // largest effect first
  std::string reason;              // one token, e.g. "dust"
  std::string cause;               // in words, with the figures
  std::string action;              // what to do
  // Label-free: the mean calibrated confidence since the onset minus the reference's, an
  // estimate of the change in accuracy (calibrated confidence tracks accuracy in distribution
  // and overstates it under shift, so this is a bound on the loss, not its size).
  double accuracy_impact = 0;
  // An items_changed alert whose class mix alarmed: the classes that rose (see
  // DriftOptions::risen_class_z), largest rise first, as of its last alarm; the cause names them.
  std::vector<RisenClass> risen_classes;
  // DriftRestriction() of the alert's reason when it last changed: "suspended", "tightened"
  // (automatic only at or above the model's shift threshold) or "unchanged".
  std::string decisions = "unchanged";
  // Resolved because the stream learned a lasting, tightened fault as its normal (a new
  // reference from its next frame): its decisions stay tightened for it until Relearn().
  bool absorbed = false;
  nlohmann::json ToJson() const;
};

// The likely cause of a set of moves, and what to do about it: the fault whose expected moves
// carry the most effect (specific quality metrics, quality.h, weigh more). While any quality
// metric moved, only faults of the image are considered; otherwise the model's outputs
// (confidence, class mix, review rate) point at changed items. The cause's figures are those
// of the first moves given (largest effect first).
struct DriftDiagnosis {
  std::string reason, cause, action;
};
DriftDiagnosis DiagnoseDrift(const std::vector<DriftMove>& moves);

enum class DriftEvent { kOpened, kUpdated, kResolved };
const char* DriftEventName(DriftEvent event);

class DriftMonitor {
 public:
  using Sink = std::function<void(DriftEvent, const DriftAlert&)>;
  // `sink` (may be empty) hears every alert when it opens, is refreshed by a later alarm, and
  // resolves.
  explicit DriftMonitor(const DriftOptions& options, Sink sink = {});
  ~DriftMonitor();

  // Observes a frame; returns the restriction on this frame's decision: what Suspension()
  // would say for its stream just after it, except for a frame of a class an items_changed
  // alert does not restrict (DriftOptions::restrict_risen_classes_only), which gets nullopt.
  // The serving path looks the stream up once per frame.
  std::optional<std::string> Observe(const DriftObservation& observation);
  // Observes the answer to an audit of one of the stream's automatic decisions: whether the
  // model's label was right. An audit error rate that rises is a drift even when nothing else
  // moved.
  void ObserveAudit(const std::string& site, const std::string& camera, int64_t time_ms,
                    bool correct);
  // While the stream has an open alert and the action is not kNone: the alert's reason (the
  // caller restricts the stream's automatic decisions as DriftRestriction says); nullopt
  // otherwise.
  std::optional<std::string> Suspension(const std::string& site, const std::string& camera) const;

  // Starts the reference of every stream whose site `which` selects again, from its next frame
  // (its history is kept; an open alert resolves): after a model change, the model's outputs
  // are no longer comparable with those of the reference.
  void Relearn(const std::function<bool(const std::string& site)>& which);

  // Alerts, newest first; all streams, or one site.
  std::vector<DriftAlert> Alerts(const std::string& site = "") const;
  // Per stream: frames seen, reference progress, the monitored quantities' last batch z and
  // CUSUM statistics as a fraction of the threshold.
  nlohmann::json Streams() const;
  // One stream's history, oldest first: per `history_every` frames, its time and frame, review
  // and bad-image rates, mean calibrated confidence, the label-free accuracy estimate (ATC:
  // the share of frames at or above the model's ATC threshold; null without one), the largest
  // CUSUM score (1 = alarm) and the quality metrics' means. NotFound for an unknown stream.
  StatusOr<nlohmann::json> History(const std::string& site, const std::string& camera) const;
  const DriftOptions& options() const { return options_; }

 private:
  struct Stream;
  using Events = std::vector<std::pair<DriftEvent, DriftAlert>>;
  Stream& StreamFor(const std::string& site, const std::string& camera);
  // Replaces the stream with a fresh one (learning its reference again), keeping its history.
  Stream& Restart(const std::pair<std::string, std::string>& key);
  // The reason the stream's decisions are restricted for: its open alert's, else an absorbed
  // alert's; nullopt when neither.
  std::optional<std::string> RestrictionOf(const Stream& s) const;
  void FitReference(Stream& s);
  void Notify(const Events& events) const;
  // The embedding test of `window` against a fresh sample of the stream's reference
  // embeddings, leaving out the reference's embeddings [skip_begin, skip_end) (a reference
  // window is not compared with itself). Its z (mmd.h).
  double EmbeddingZ(Stream& s, std::span<const float> window, size_t skip_begin, size_t skip_end);
  // Opens the stream's alert or refreshes it; the events for the sink go to `events`.
  void OnAlarm(Stream& s, size_t quantity, int64_t frame, int64_t time_ms, Events& events);
  // Bounds the alerts kept in memory (the store keeps them all).
  void TrimAlerts();
  void AddToHistory(Stream& s, const DriftObservation& o, int64_t frame);
  // Whether any quantity that alarmed during the stream's open alert is, since the last alarm,
  // still nearer its level during the alert than its reference (which keeps the alert open).
  bool AlarmedStillMoved(const Stream& s) const;
  // Whether the open alert of `s` (which has one) leaves frames predicted as `label` alone.
  bool SparesClass(const Stream& s, int label) const;
  // The binomial z of each class's count since the open alert of `s` opened, against the
  // reference's shares. Empty unless the alert is items_changed with its class mix alarmed, and
  // for its first two class windows.
  std::vector<double> ClassRises(const Stream& s) const;
  std::vector<RisenClass> RisenClasses(const Stream& s) const;

  const DriftOptions options_;
  const Sink sink_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Stream>> streams_;
  std::vector<DriftAlert> alerts_;  // every alert, oldest first
  int64_t next_alert_id_ = 1;
};

}  // namespace steadyeye
