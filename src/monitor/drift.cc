#include "steadyeye/monitor/drift.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <numeric>
#include <random>

#include "steadyeye/core/quantile.h"
#include "steadyeye/core/time.h"
#include "steadyeye/monitor/cusum.h"
#include "steadyeye/monitor/mmd.h"

namespace steadyeye {

namespace {

constexpr size_t kQualityQuantities = kNumQualityMetrics;
constexpr size_t kConfidence = kQualityQuantities, kReview = kConfidence + 1,
                 kBadImage = kReview + 1, kClassMix = kBadImage + 1, kEmbedding = kClassMix + 1,
                 kAuditError = kEmbedding + 1, kQuantities = kAuditError + 1;
// Rates of rare 0/1 events are skewed in small batches; five times the batch keeps their batch
// means close enough to normal for the CUSUM's threshold to hold.
constexpr size_t kRateBatchFactor = 5;
constexpr size_t kRecentBatches = 200;  // batch means kept per quantity, for "since the onset"
constexpr size_t kMaxAlertsKept = 10000;
constexpr double kMoveSignificance = 5;      // z of a mean since onset that counts as a move
constexpr double kMoveEffect = 0.2;          // and its least effect (a small one, in Cohen's terms)
constexpr double kLevelShare = 0.05;         // least spread of a metric, as a share of its level
constexpr double kClipSpreads = 3;           // frame values are clipped this far past the reference
constexpr double kClipRobustSpreads = 10;    // and at most this many robust spreads from its median
constexpr size_t kTimeMarks = 5000;          // frame-time marks kept per stream (one per batch)
constexpr size_t kMinReferenceBatches = 10;  // as FitBatchReference needs

// Class shares are themselves estimated from the reference, which adds about n / reference
// frames to the variance of a count over n frames: without this factor a short reference would
// look like a change.
double ReferenceErrorInflation(double n, size_t reference_frames) {
  return 1 + n / double(reference_frames);
}

// The chi-square of a window's predicted-class counts against the reference shares, turned
// into an approximately standard normal value (Wilson and Hilferty, 1931) when frames are
// independent.
double ClassMixZ(const std::vector<int64_t>& counts, const std::vector<double>& shares, size_t n,
                 size_t reference_frames) {
  double chi2 = 0;
  for (size_t c = 0; c < counts.size(); ++c) {
    const double expected = shares[c] * double(n);
    chi2 += (double(counts[c]) - expected) * (double(counts[c]) - expected) / expected;
  }
  chi2 /= ReferenceErrorInflation(double(n), reference_frames);
  const double df = double(counts.size() - 1);
  const double v = 2.0 / (9.0 * df);
  return (std::cbrt(chi2 / df) - (1 - v)) / std::sqrt(v);
}

// Frames since the stream's open alert opened.
int64_t OpenFrames(const std::vector<int64_t>& open_counts) {
  return std::accumulate(open_counts.begin(), open_counts.end(), int64_t{0});
}

bool SameLabels(const std::vector<RisenClass>& x, const std::vector<RisenClass>& y) {
  return std::equal(x.begin(), x.end(), y.begin(), y.end(),
                    [](const RisenClass& a, const RisenClass& b) { return a.label == b.label; });
}

// "; more often predicted as Bag (19% of frames since the alert opened, 10% before)", naming
// each risen class.
std::string TakenFor(const std::vector<RisenClass>& risen) {
  auto percent = [](double share) { return std::to_string(int(std::lround(100 * share))) + "%"; };
  std::string words;
  for (const RisenClass& r : risen) {
    words += words.empty() ? "; more often predicted as " : ", ";
    words += r.name + " (" + percent(r.share) + " of frames since the alert opened, " +
             percent(r.reference_share) + " before)";
  }
  return words;
}

}  // namespace

nlohmann::json RisenClass::ToJson() const {
  return {{"label", label},
          {"name", name},
          {"share", share},
          {"reference_share", reference_share},
          {"z", z}};
}

const char* DriftEventName(DriftEvent event) {
  switch (event) {
    case DriftEvent::kOpened:
      return "opened";
    case DriftEvent::kUpdated:
      return "updated";
    case DriftEvent::kResolved:
      return "resolved";
  }
  return "?";
}

nlohmann::json DriftMove::ToJson() const {
  return {{"metric", metric}, {"reference", reference}, {"recent", recent}, {"ratio", ratio},
          {"z", z},           {"effect", effect}};
}

nlohmann::json DriftAlert::ToJson() const {
  nlohmann::json moves = nlohmann::json::array();
  for (const auto& m : metrics) moves.push_back(m.ToJson());
  nlohmann::json risen = nlohmann::json::array();
  for (const auto& r : risen_classes) risen.push_back(r.ToJson());
  return {{"id", id},
          {"site", site},
          {"camera", camera},
          {"state", state},
          {"onset", FormatUnixMillis(onset_ms)},
          {"detected", FormatUnixMillis(detected_ms)},
          {"resolved", resolved_ms ? nlohmann::json(FormatUnixMillis(*resolved_ms)) : nullptr},
          {"onset_frame", onset_frame},
          {"detected_frame", detected_frame},
          {"alarms", alarms},
          {"trigger", trigger},
          {"metrics", moves},
          {"reason", reason},
          {"cause", cause},
          {"action", action},
          {"accuracy_impact", accuracy_impact},
          {"risen_classes", risen},
          {"decisions", decisions},
          {"absorbed", absorbed},
          {"tightened", decisions != "unchanged"}};
}

namespace {

// One monitored quantity of one stream: its reference, then its CUSUM.
struct Quantity {
  std::string name;
  size_t batch = 1;  // values per batch mean
  size_t frames_per_value = 1;
  bool rate = false;     // a 0/1 rate
  bool up_only = false;  // only a rise is a drift (the class-mix statistic)
  // A rare 0/1 event watched one value at a time (audit errors), with a Bernoulli CUSUM
  // instead of the normal one on batch means; `batch` then only groups values for MoveSince.
  bool bernoulli = false;
  std::optional<BernoulliCusum> events;
  double resolution = 0;         // least change that means anything (quality metrics)
  std::vector<double> learning;  // reference values, until the reference is fitted
  bool enabled = false;
  BatchReference ref;
  double frame_sd = 1;  // spread between single values of the reference (floored, see Fit)
  double clip_low = -HUGE_VAL, clip_high = HUGE_VAL;
  Cusum cusum;
  double sum = 0, raw_sum = 0;  // of the batch so far: clipped values, and as they came
  size_t in_batch = 0;
  double last_z = 0;
  // (last frame of the batch, batch mean of the values as they came), for telling a move.
  std::deque<std::pair<int64_t, double>> recent;

  // The reference of a Bernoulli quantity: its in-control rate p0 is the reference's upper
  // 95% bound (Agresti-Coull), so that a lucky reference does not make the usual rate look like
  // a rise; the CUSUM is tuned for a tripling of it.
  void FitBernoulli(double run_length_values) {
    const double n = double(learning.size()) + 4;
    double events_seen = 2;
    for (double v : learning) events_seen += v;
    learning = {};
    const double centre = events_seen / n;
    const double p0 = std::clamp(centre + 1.645 * std::sqrt(centre * (1 - centre) / n), 1e-4, 0.3);
    events.emplace(p0, std::min(0.9, 3 * p0), run_length_values);
    frame_sd = std::sqrt(p0 * (1 - p0));
    ref = BatchReference{batch, p0, frame_sd / std::sqrt(double(batch)), 0, 0};
    enabled = true;
  }

  // Alarm score: the larger CUSUM statistic as a share of its threshold (1 = alarm).
  double Score() const {
    if (events) return events->statistic() / events->threshold();
    return std::max(cusum.upper(), cusum.lower()) / cusum.threshold();
  }
  // Frames the alarming statistic had been above zero at the last alarm.
  int64_t AlarmRunFrames() const {
    const int64_t values =
        events ? events->last_alarm_run() : cusum.last_alarm_run() * int64_t(batch);
    return values * int64_t(frames_per_value);
  }

  // Fits the reference from the values learned; a quantity without spread stays off, except a
  // rate, whose spread is floored at the binomial one of a few events per reference.
  void Fit(double run_length_batches_budget, double k) {
    if (bernoulli) return FitBernoulli(run_length_batches_budget);
    std::vector<double> values = std::move(learning);
    learning = {};
    if (values.empty()) return;
    double mean = 0, var = 0;
    for (double v : values) mean += v;
    mean /= double(values.size());
    for (double v : values) var += (v - mean) * (v - mean);
    frame_sd = std::sqrt(var / double(std::max<size_t>(1, values.size() - 1)));
    if (rate) {
      const double p = std::clamp(mean, 5.0 / double(values.size()), 0.5);
      frame_sd = std::max(frame_sd, std::sqrt(p * (1 - p)));
    } else if (up_only) {
      // The statistic is standard normal for independent frames; frames that come in runs
      // make it larger, which a long enough reference measures. A short one (or a lucky one)
      // must not make the null look smaller than it is.
      if (values.size() < kMinReferenceBatches) mean = 0;
      mean = std::max(mean, 0.0);
      frame_sd = std::max(frame_sd, 1.0);
    } else {
      // A metric nearly constant over the reference (the white level of images that always
      // reach 255) would make a change of one grey level look huge: moves smaller than a share
      // of the metric's level are not told apart.
      std::vector<double> sorted = values;
      std::sort(sorted.begin(), sorted.end());
      const double median = QuantileOfSorted(sorted, 0.5);
      const double least_sd = std::max(kLevelShare * std::abs(median), resolution);
      frame_sd = std::max(frame_sd, least_sd);
      // One odd frame moves a batch mean by at most a few spreads.
      clip_low = QuantileOfSorted(sorted, 0.001) - kClipSpreads * frame_sd;
      clip_high = QuantileOfSorted(sorted, 0.999) + kClipSpreads * frame_sd;
      // A heavy-tailed metric (the displacement found by phase correlation on a dusty lens
      // jumps now and then to a spurious peak) has its 99.9% quantile far out, and a few such
      // frames in one batch alarmed stationary streams. The robust spread (1.4826 x MAD, with
      // the same floor as the spread) bounds the clip there; for a normal metric the quantile
      // bound, about 6 spreads out, stays the tighter one.
      const double robust_sd = std::max(1.4826 * MedianAbsoluteDeviation(sorted, median), least_sd);
      if (robust_sd > 0) {
        clip_low = std::max(clip_low, median - kClipRobustSpreads * robust_sd);
        clip_high = std::min(clip_high, median + kClipRobustSpreads * robust_sd);
      }
      for (double& v : values) v = std::clamp(v, clip_low, clip_high);
    }
    if (!(frame_sd > 0)) return;
    const double floor_sd = frame_sd / std::sqrt(double(batch));
    auto fitted = FitBatchReference(values, batch);
    if (!fitted) fitted = BatchReference{batch, mean, floor_sd, values.size() / batch, 0};
    fitted->sd = std::max(fitted->sd, floor_sd);
    if (up_only) fitted->mean = mean;
    ref = *fitted;
    enabled = true;
    // The reference's mean is itself estimated, one standard error = 1 / sqrt(batches) in z
    // units; an error of that size left in would shorten the run to a false alarm many times
    // over (it eats into k). The allowance grows by it, so short references cost sensitivity
    // rather than false alarms.
    const double allowance = k + 1.0 / std::sqrt(double(std::max<size_t>(1, ref.batches)));
    cusum = Cusum({allowance, CusumThresholdForRunLength(
                                  allowance, run_length_batches_budget / double(batch))});
  }

  // Adds a value; true on an alarm.
  bool Add(double value, int64_t frame) {
    const bool event_alarm = events && events->Add(value > 0.5);
    sum += std::clamp(value, clip_low, clip_high);
    raw_sum += value;
    if (++in_batch < batch) return event_alarm;
    const double mean = sum / double(in_batch);
    recent.push_back({frame, raw_sum / double(in_batch)});
    sum = raw_sum = 0;
    in_batch = 0;
    if (recent.size() > kRecentBatches) recent.pop_front();
    last_z = (mean - ref.mean) / ref.sd;
    if (events) return event_alarm;
    const bool alarm = cusum.Add(up_only ? std::max(last_z, 0.0) : last_z);
    return alarm && !(up_only && cusum.last_direction() < 0);
  }

  // Sum and count of the kept batch means whose last frame is in (after, up_to].
  std::pair<double, size_t> BatchesIn(int64_t after, int64_t up_to) const {
    double total = 0;
    size_t n = 0;
    for (const auto& [frame, mean] : recent) {
      if (frame > after && frame <= up_to) {
        total += mean;
        ++n;
      }
    }
    return {total, n};
  }

  // Whether the values after `last_alarm` are still nearer the level they had during the alert
  // (from `onset` to `last_alarm`) than the reference's: the likelier of "changed as during
  // the alert" and "back to the reference", weighing both alike. What keeps an alert open once
  // its CUSUM has been quiet for a while: a change that lasts keeps its level without
  // necessarily alarming again within `resolve_frames`.
  bool StillMoved(int64_t onset, int64_t last_alarm) const {
    const auto [during, n_during] = BatchesIn(onset - 1, last_alarm);
    const auto [after, n_after] = BatchesIn(last_alarm, INT64_MAX);
    if (n_during == 0 || n_after == 0) return false;
    const double moved = during / double(n_during) - ref.mean;
    const double now = after / double(n_after) - ref.mean;
    return moved != 0 && now / moved > 0.5;
  }

  // The move since `onset_frame`, and whether it is significant.
  std::optional<DriftMove> MoveSince(int64_t onset_frame, bool force) const {
    auto [total, n] = BatchesIn(onset_frame, INT64_MAX);
    if (n == 0 && !recent.empty()) {
      total = recent.back().second;
      n = 1;
    }
    if (n == 0) return std::nullopt;
    DriftMove m;
    m.metric = name;
    m.reference = ref.mean;
    m.recent = total / double(n);
    m.ratio = ref.mean != 0 ? m.recent / ref.mean : 0;
    m.z = (m.recent - ref.mean) / ref.sd;
    m.effect = (m.recent - ref.mean) / frame_sd;
    const bool significant = std::abs(m.z) * std::sqrt(double(n)) >= kMoveSignificance &&
                             std::abs(m.effect) >= kMoveEffect && (!up_only || m.z > 0);
    if (!significant && !force) return std::nullopt;
    return m;
  }
};

}  // namespace

struct DriftMonitor::Stream {
  std::string site, camera;
  int64_t frames = 0;
  std::vector<Quantity> quantities;
  std::vector<int> reference_labels;
  std::vector<double> class_shares;
  std::vector<int64_t> window_counts;
  size_t in_window = 0;
  size_t embedding_dim = 0;             // set by the first embedding seen
  std::vector<float> embedding_pool;    // the reference's kept embeddings, row-major
  std::vector<float> embedding_recent;  // the window being gathered
  double embedding_bandwidth = 1;
  uint64_t embedding_tests = 0;  // tests run, which seeds the next one
  // Keeps the embedding of one frame in `stride` into `to`; false for any other frame, or one
  // without a (well-sized) embedding.
  bool KeepEmbedding(int64_t frame, std::span<const float> e, size_t stride,
                     std::vector<float>& to) {
    if (e.empty() || frame % int64_t(std::max<size_t>(1, stride)) != 0) return false;
    if (embedding_dim == 0) embedding_dim = e.size();
    if (e.size() != embedding_dim) return false;
    to.insert(to.end(), e.begin(), e.end());
    return true;
  }
  std::deque<std::pair<int64_t, int64_t>> time_marks;  // (frame, time_ms), one per batch
  int64_t last_time_ms = 0;                            // of the newest frame
  std::optional<size_t> open_alert;                    // index into alerts_
  std::vector<size_t> alarmed;  // the quantities that alarmed during the open alert
  // Predicted classes of the frames since the open alert opened (its detection).
  std::vector<int64_t> open_counts;
  int64_t last_alarm_frame = 0;
  bool fitted = false;
  bool can_tighten = false;  // as the last frame's DriftObservation said
  // A tightened alert whose fault was learned into a new reference (see Observe): the stream's
  // decisions stay tightened for it while no alert is open, until Relearn().
  std::optional<DriftAlert> absorbed;
  // The history point being gathered, and those done.
  struct Bucket {
    int64_t frames = 0, review = 0, bad = 0, above_atc = 0;
    double confidence = 0;
    QualityValues quality{};
  } bucket;
  std::deque<nlohmann::json> history;

  int64_t TimeOfFrame(int64_t frame) const {
    int64_t t = time_marks.empty() ? 0 : time_marks.front().second;
    for (const auto& [f, ms] : time_marks) {
      if (f > frame) break;
      t = ms;
    }
    return t;
  }
};

DriftMonitor::DriftMonitor(const DriftOptions& options, Sink sink)
    : options_(options), sink_(std::move(sink)), next_alert_id_(options.first_alert_id) {}

DriftMonitor::~DriftMonitor() = default;

DriftMonitor::Stream& DriftMonitor::StreamFor(const std::string& site, const std::string& camera) {
  auto& slot = streams_[{site, camera}];
  if (slot) return *slot;
  slot = std::make_unique<Stream>();
  Stream& s = *slot;
  s.site = site;
  s.camera = camera;
  s.quantities.resize(kQuantities);
  for (size_t m = 0; m < kQualityQuantities; ++m) {
    s.quantities[m].name = MetricInfo(QualityMetric(m)).name;
    s.quantities[m].resolution = MetricInfo(QualityMetric(m)).resolution;
    s.quantities[m].batch = options_.batch;
  }
  s.quantities[kConfidence].name = "confidence";
  s.quantities[kConfidence].batch = options_.batch;
  for (size_t q : {kReview, kBadImage}) {
    s.quantities[q].batch = options_.batch * kRateBatchFactor;
    s.quantities[q].rate = true;
  }
  s.quantities[kReview].name = "review_rate";
  s.quantities[kBadImage].name = "bad_image_rate";
  Quantity& mix = s.quantities[kClassMix];
  mix.name = "class_mix";
  mix.batch = 1;
  mix.frames_per_value = options_.class_window;
  mix.up_only = true;
  s.window_counts.assign(options_.num_classes, 0);
  Quantity& embedding = s.quantities[kEmbedding];
  embedding.name = "embedding";
  embedding.batch = 1;
  embedding.frames_per_value = options_.embedding_stride * options_.embedding_window;
  embedding.up_only = true;
  Quantity& audit = s.quantities[kAuditError];
  audit.name = "audit_error";
  audit.batch = options_.audit_batch;
  audit.bernoulli = true;
  audit.frames_per_value = size_t(std::lround(1 / std::clamp(options_.audit_rate, 1e-6, 1.0)));
  return s;
}

std::optional<std::string> DriftMonitor::Observe(const DriftObservation& o) {
  Events events;
  std::optional<std::string> suspension;
  {
    std::lock_guard lock(mu_);
    Stream& s = StreamFor(o.site, o.camera);
    s.can_tighten = o.can_tighten;
    s.last_time_ms = o.time_ms;
    const int64_t frame = s.frames++;
    if (frame % int64_t(options_.batch) == 0) {
      s.time_marks.emplace_back(frame, o.time_ms);
      if (s.time_marks.size() > kTimeMarks) s.time_marks.pop_front();
    }
    double values[kQuantities];
    for (size_t m = 0; m < kQualityQuantities; ++m) values[m] = o.quality[m];
    values[kConfidence] = o.confidence;
    values[kReview] = o.review ? 1 : 0;
    values[kBadImage] = o.quality_flagged ? 1 : 0;
    const int label = std::clamp<int>(o.label, 0, int(options_.num_classes) - 1);

    if (!s.fitted) {
      for (size_t q = 0; q < kClassMix; ++q) s.quantities[q].learning.push_back(values[q]);
      s.reference_labels.push_back(label);
      s.KeepEmbedding(frame, o.embedding, options_.embedding_stride, s.embedding_pool);
      if (size_t(s.frames) >= options_.reference_frames) FitReference(s);
      AddToHistory(s, o, frame);
      // No alert before the reference is learned; an absorbed fault still restricts.
      if (options_.action == DriftAction::kNone) return std::nullopt;
      return RestrictionOf(s);
    }
    std::vector<size_t> alarmed;
    for (size_t q = 0; q < kClassMix; ++q) {
      Quantity& quantity = s.quantities[q];
      if (quantity.enabled && quantity.Add(values[q], frame)) alarmed.push_back(q);
    }
    ++s.window_counts[size_t(label)];
    if (++s.in_window == options_.class_window) {
      const double z =
          ClassMixZ(s.window_counts, s.class_shares, s.in_window, options_.reference_frames);
      std::fill(s.window_counts.begin(), s.window_counts.end(), 0);
      s.in_window = 0;
      Quantity& mix = s.quantities[kClassMix];
      if (mix.enabled && mix.Add(z, frame)) alarmed.push_back(kClassMix);
    }
    Quantity& embedding = s.quantities[kEmbedding];
    if (embedding.enabled &&
        s.KeepEmbedding(frame, o.embedding, options_.embedding_stride, s.embedding_recent) &&
        s.embedding_recent.size() == options_.embedding_window * s.embedding_dim) {
      const double z = EmbeddingZ(s, s.embedding_recent, 0, 0);
      s.embedding_recent.clear();
      if (embedding.Add(z, frame)) alarmed.push_back(kEmbedding);
    }
    for (size_t q : alarmed) OnAlarm(s, q, frame, o.time_ms, events);
    AddToHistory(s, o, frame);
    if (s.open_alert && frame - s.last_alarm_frame >= int64_t(options_.resolve_frames) &&
        !AlarmedStillMoved(s)) {
      DriftAlert& a = alerts_[*s.open_alert];
      a.state = "resolved";
      a.resolved_ms = o.time_ms;
      events.emplace_back(DriftEvent::kResolved, a);
      s.open_alert.reset();
    }
    Stream* current = &s;
    if (s.open_alert && alerts_[*s.open_alert].decisions == "tightened" &&
        frame - alerts_[*s.open_alert].onset_frame >= int64_t(options_.reference_frames)) {
      // A fault of the image that lasts: decisions stay tightened for it, and the stream learns
      // it as its normal, so that what changes next (say, the items themselves, which the shift
      // certificate does not cover) is found against it rather than hidden behind its alert.
      DriftAlert& a = alerts_[*s.open_alert];
      a.state = "resolved";
      a.resolved_ms = o.time_ms;
      a.absorbed = true;
      events.emplace_back(DriftEvent::kResolved, a);
      DriftAlert kept = a;
      current = &Restart({o.site, o.camera});
      current->absorbed = std::move(kept);
    }
    if (current->open_alert) ++current->open_counts[size_t(label)];
    if (options_.action != DriftAction::kNone) suspension = RestrictionOf(*current);
    if (current->open_alert && SparesClass(*current, label)) suspension.reset();
  }
  Notify(events);
  return suspension;
}

void DriftMonitor::Notify(const Events& events) const {
  if (!sink_) return;
  for (const auto& [event, alert] : events) sink_(event, alert);
}

void DriftMonitor::ObserveAudit(const std::string& site, const std::string& camera, int64_t time_ms,
                                bool correct) {
  Events events;
  {
    std::lock_guard lock(mu_);
    Stream& s = StreamFor(site, camera);
    Quantity& audit = s.quantities[kAuditError];
    const double error = correct ? 0 : 1;
    if (!audit.enabled) {
      audit.learning.push_back(error);
      if (audit.learning.size() >= options_.audit_reference) {
        audit.Fit(
            options_.frames_per_false_alarm * double(kQuantities) / double(audit.frames_per_value),
            options_.k);  // a run length in audits, for the Bernoulli CUSUM
      }
      return;
    }
    // Audits are answered later than their frames were served: they count at the latest frame.
    const int64_t frame = std::max<int64_t>(0, s.frames - 1);
    if (audit.Add(error, frame)) OnAlarm(s, kAuditError, frame, time_ms, events);
  }
  Notify(events);
}

void DriftMonitor::FitReference(Stream& s) {
  const size_t k = options_.num_classes;
  s.class_shares.assign(k, 0);
  for (int label : s.reference_labels) s.class_shares[size_t(label)] += 1;
  // A class the reference never saw still gets a small expected share, so that its appearance
  // counts as a change instead of dividing by zero.
  const double floor = 0.5 / double(s.reference_labels.size());
  for (double& share : s.class_shares)
    share = std::max(share / double(s.reference_labels.size()), floor);
  // The reference's own windows, for the class-mix statistic's reference.
  Quantity& mix = s.quantities[kClassMix];
  std::vector<int64_t> counts(k, 0);
  size_t in = 0;
  for (int label : s.reference_labels) {
    ++counts[size_t(label)];
    if (++in == options_.class_window) {
      mix.learning.push_back(ClassMixZ(counts, s.class_shares, in, s.reference_labels.size()));
      std::fill(counts.begin(), counts.end(), 0);
      in = 0;
    }
  }
  s.reference_labels = {};
  // The reference's own embedding windows, each against a sample of the rest.
  const size_t dim = s.embedding_dim, window = options_.embedding_window;
  const size_t pooled = dim ? s.embedding_pool.size() / dim : 0;
  if (window >= 2 && pooled >= window + options_.embedding_reference_sample) {
    s.embedding_bandwidth = MedianPairwiseDistance(s.embedding_pool, dim);
    for (size_t begin = 0; begin + window <= pooled; begin += window) {
      const std::span<const float> w(s.embedding_pool.data() + begin * dim, window * dim);
      s.quantities[kEmbedding].learning.push_back(EmbeddingZ(s, w, begin, begin + window));
    }
  }
  // Each quantity gets an equal share of the stream's false-alarm budget; it is counted
  // before the fit, as every quantity may turn out enabled.
  const double per_quantity_frames = options_.frames_per_false_alarm * double(kQuantities);
  for (size_t q = 0; q < kQuantities; ++q) {
    if (q == kAuditError) continue;  // fitted on its own audits (ObserveAudit)
    s.quantities[q].Fit(per_quantity_frames / double(s.quantities[q].frames_per_value), options_.k);
  }
  s.fitted = true;
}

double DriftMonitor::EmbeddingZ(Stream& s, std::span<const float> window, size_t skip_begin,
                                size_t skip_end) {
  const size_t dim = s.embedding_dim, pooled = s.embedding_pool.size() / dim;
  std::vector<size_t> candidates;
  for (size_t i = 0; i < pooled; ++i)
    if (i < skip_begin || i >= skip_end) candidates.push_back(i);
  std::mt19937_64 rng(options_.seed * 1000003 + s.embedding_tests++);
  const size_t take = std::min(options_.embedding_reference_sample, candidates.size());
  std::vector<float> sample;
  sample.reserve(take * dim);
  for (size_t i = 0; i < take; ++i) {  // a partial Fisher-Yates: `take` distinct points
    std::swap(candidates[i], candidates[i + rng() % (candidates.size() - i)]);
    const float* point = s.embedding_pool.data() + candidates[i] * dim;
    sample.insert(sample.end(), point, point + dim);
  }
  return MmdPermutationTest(window, sample, dim, s.embedding_bandwidth,
                            options_.embedding_permutations, rng())
      .z;
}

void DriftMonitor::OnAlarm(Stream& s, size_t alarmed, int64_t frame, int64_t time_ms,
                           Events& events) {
  const Quantity& q = s.quantities[alarmed];
  s.last_alarm_frame = frame;
  const bool opening = !s.open_alert;
  if (opening) {
    s.alarmed.clear();
    s.open_counts.assign(options_.num_classes, 0);
  }
  if (std::find(s.alarmed.begin(), s.alarmed.end(), alarmed) == s.alarmed.end())
    s.alarmed.push_back(alarmed);
  if (opening) {
    DriftAlert a;
    a.id = next_alert_id_++;
    a.site = s.site;
    a.camera = s.camera;
    const int64_t run_frames = q.AlarmRunFrames();
    a.onset_frame = std::max<int64_t>(int64_t(options_.reference_frames), frame + 1 - run_frames);
    a.onset_ms = s.TimeOfFrame(a.onset_frame);
    a.detected_frame = frame;
    a.detected_ms = time_ms;
    a.trigger = q.name;
    alerts_.push_back(std::move(a));
    if (alerts_.size() > kMaxAlertsKept) TrimAlerts();
    s.open_alert = alerts_.size() - 1;
  }
  DriftAlert& a = alerts_[*s.open_alert];
  ++a.alarms;
  std::vector<DriftMove> moves;
  for (size_t i = 0; i < s.quantities.size(); ++i) {
    const Quantity& other = s.quantities[i];
    if (!other.enabled) continue;
    if (auto m = other.MoveSince(a.onset_frame, i == alarmed)) moves.push_back(*m);
  }
  std::sort(moves.begin(), moves.end(), [](const DriftMove& x, const DriftMove& y) {
    return std::abs(x.effect) > std::abs(y.effect);
  });
  a.metrics = moves;
  const DriftDiagnosis d = DiagnoseDrift(a.metrics);
  bool changed = d.reason != a.reason;
  a.reason = d.reason;
  a.decisions = DriftRestriction(options_.action, a.reason, s.can_tighten);
  a.action = d.action;
  std::vector<RisenClass> risen = RisenClasses(s);
  changed = changed || !SameLabels(risen, a.risen_classes);
  a.risen_classes = std::move(risen);
  a.cause = d.cause + TakenFor(a.risen_classes);
  if (auto conf = s.quantities[kConfidence].MoveSince(a.onset_frame, true))
    a.accuracy_impact = conf->recent - conf->reference;
  if (opening || changed)
    events.emplace_back(opening ? DriftEvent::kOpened : DriftEvent::kUpdated, a);
}

bool DriftMonitor::AlarmedStillMoved(const Stream& s) const {
  const int64_t onset = alerts_[*s.open_alert].onset_frame;
  for (size_t q : s.alarmed) {
    const Quantity& quantity = s.quantities[q];
    if (quantity.enabled && quantity.StillMoved(onset, s.last_alarm_frame)) return true;
  }
  return false;
}

std::vector<double> DriftMonitor::ClassRises(const Stream& s) const {
  const DriftAlert& a = alerts_[*s.open_alert];
  if (a.reason != "items_changed" ||
      std::find(s.alarmed.begin(), s.alarmed.end(), kClassMix) == s.alarmed.end())
    return {};
  // Changed items are mistaken for some classes, whose share then rises; frames predicted as
  // the others are as right as before. The reference's own error is in the variance, as in
  // ClassMixZ. In the first frames the class the items are taken for may not have risen far
  // yet, so nothing is told before two class windows.
  const int64_t open_frames = OpenFrames(s.open_counts);
  if (open_frames < 2 * int64_t(options_.class_window)) return {};
  const double n = double(open_frames);
  const double inflation = ReferenceErrorInflation(n, options_.reference_frames);
  std::vector<double> z(s.open_counts.size());
  for (size_t c = 0; c < z.size(); ++c) {
    const double p = s.class_shares[c];
    z[c] =
        (double(s.open_counts[c]) - n * p) / std::sqrt(std::max(n * p * (1 - p) * inflation, 1e-9));
  }
  return z;
}

bool DriftMonitor::SparesClass(const Stream& s, int label) const {
  // Ten classes checked at every frame: one rises by chance now and then, so a frame is spared
  // only when its own class is well within chance.
  constexpr double kWithinChanceZ = 2;
  if (!options_.restrict_risen_classes_only) return false;
  const std::vector<double> z = ClassRises(s);
  const bool any_risen =
      std::any_of(z.begin(), z.end(), [&](double c) { return c > options_.risen_class_z; });
  return any_risen && z[size_t(label)] <= kWithinChanceZ;
}

std::vector<RisenClass> DriftMonitor::RisenClasses(const Stream& s) const {
  const std::vector<double> z = ClassRises(s);
  const double n = double(OpenFrames(s.open_counts));
  std::vector<RisenClass> risen;
  for (size_t c = 0; c < z.size(); ++c) {
    if (z[c] <= options_.risen_class_z) continue;
    RisenClass r;
    r.label = int(c);
    r.name =
        c < options_.class_names.size() ? options_.class_names[c] : "class " + std::to_string(c);
    r.share = double(s.open_counts[c]) / n;
    r.reference_share = s.class_shares[c];
    r.z = z[c];
    risen.push_back(std::move(r));
  }
  std::sort(risen.begin(), risen.end(),
            [](const RisenClass& x, const RisenClass& y) { return x.z > y.z; });
  return risen;
}

void DriftMonitor::AddToHistory(Stream& s, const DriftObservation& o, int64_t frame) {
  Stream::Bucket& b = s.bucket;
  ++b.frames;
  b.review += o.review ? 1 : 0;
  b.bad += o.quality_flagged ? 1 : 0;
  b.confidence += o.confidence;
  const std::optional<double> atc = o.atc_threshold ? o.atc_threshold : options_.atc_threshold;
  if (atc && o.confidence >= *atc) ++b.above_atc;
  for (size_t m = 0; m < kNumQualityMetrics; ++m) b.quality[m] += o.quality[m];
  if (size_t(b.frames) < std::max<size_t>(1, options_.history_every)) return;
  const double n = double(b.frames);
  double score = 0;
  for (const Quantity& q : s.quantities) {
    if (q.enabled) score = std::max(score, q.Score());
  }
  nlohmann::json quality = nlohmann::json::object();
  for (size_t m = 0; m < kNumQualityMetrics; ++m)
    quality[MetricInfo(QualityMetric(m)).name] = b.quality[m] / n;
  s.history.push_back(
      {{"time", FormatUnixMillis(o.time_ms)},
       {"frame", frame},
       {"frames", b.frames},
       {"review_rate", double(b.review) / n},
       {"bad_image_rate", double(b.bad) / n},
       {"confidence", b.confidence / n},
       {"accuracy_label_free", atc ? nlohmann::json(double(b.above_atc) / n) : nlohmann::json()},
       {"score", s.fitted ? nlohmann::json(score) : nlohmann::json()},
       {"alert", s.open_alert ? nlohmann::json(alerts_[*s.open_alert].id) : nlohmann::json()},
       {"quality", quality}});
  if (s.history.size() > options_.history_points) s.history.pop_front();
  b = {};
}

void DriftMonitor::Relearn(const std::function<bool(const std::string& site)>& which) {
  Events events;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, stream] : streams_) {
      if (!which(key.first)) continue;
      if (stream->open_alert) {
        DriftAlert& a = alerts_[*stream->open_alert];
        a.state = "resolved";
        // The stream's own clock (a replay's or a simulation's time), as for every other change.
        a.resolved_ms = stream->frames > 0 ? stream->last_time_ms : UnixMillisNow();
        events.emplace_back(DriftEvent::kResolved, a);
      }
      Restart(key);
    }
  }
  Notify(events);
}

StatusOr<nlohmann::json> DriftMonitor::History(const std::string& site,
                                               const std::string& camera) const {
  std::lock_guard lock(mu_);
  auto it = streams_.find({site, camera});
  if (it == streams_.end()) return NotFoundError("no monitored stream " + site + " / " + camera);
  return nlohmann::json(it->second->history);
}

void DriftMonitor::TrimAlerts() {
  // Resolved alerts go first, oldest first; open ones are referenced by their streams.
  const size_t drop = alerts_.size() - kMaxAlertsKept / 2;
  std::vector<DriftAlert> kept;
  size_t dropped = 0;
  for (auto& a : alerts_) {
    if (dropped < drop && a.state == "resolved") {
      ++dropped;
      continue;
    }
    kept.push_back(std::move(a));
  }
  alerts_ = std::move(kept);
  for (auto& [key, stream] : streams_) {
    stream->open_alert.reset();
    for (size_t i = 0; i < alerts_.size(); ++i) {
      if (alerts_[i].state == "open" && alerts_[i].site == key.first &&
          alerts_[i].camera == key.second)
        stream->open_alert = i;
    }
  }
}

DriftMonitor::Stream& DriftMonitor::Restart(const std::pair<std::string, std::string>& key) {
  auto& slot = streams_[key];
  auto history = std::move(slot->history);
  slot.reset();
  Stream& fresh = StreamFor(key.first, key.second);
  fresh.history = std::move(history);
  return fresh;
}

std::optional<std::string> DriftMonitor::RestrictionOf(const Stream& s) const {
  if (s.open_alert) return alerts_[*s.open_alert].reason;
  if (s.absorbed) return s.absorbed->reason;
  return std::nullopt;
}

std::optional<std::string> DriftMonitor::Suspension(const std::string& site,
                                                    const std::string& camera) const {
  if (options_.action == DriftAction::kNone) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = streams_.find({site, camera});
  if (it == streams_.end()) return std::nullopt;
  return RestrictionOf(*it->second);
}

std::vector<DriftAlert> DriftMonitor::Alerts(const std::string& site) const {
  std::lock_guard lock(mu_);
  std::vector<DriftAlert> out;
  for (auto it = alerts_.rbegin(); it != alerts_.rend(); ++it) {
    if (site.empty() || it->site == site) out.push_back(*it);
  }
  return out;
}

nlohmann::json DriftMonitor::Streams() const {
  std::lock_guard lock(mu_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [key, s] : streams_) {
    nlohmann::json quantities = nlohmann::json::object();
    for (const Quantity& q : s->quantities) {
      if (!q.enabled) continue;
      quantities[q.name] = {
          {"reference", q.ref.mean},
          {"last_batch_mean", q.recent.empty() ? q.ref.mean : q.recent.back().second},
          {"z", q.last_z},
          {"score", q.Score()}};
    }
    out.push_back(
        {{"site", key.first},
         {"camera", key.second},
         {"frames", s->frames},
         {"reference_frames", options_.reference_frames},
         {"reference_ready", s->fitted},
         {"open_alert",
          s->open_alert ? nlohmann::json(alerts_[*s->open_alert].id) : nlohmann::json()},
         {"absorbed_alert", s->absorbed ? nlohmann::json(s->absorbed->id) : nlohmann::json()},
         {"quantities", quantities}});
  }
  return out;
}

}  // namespace steadyeye
