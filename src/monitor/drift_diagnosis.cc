#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "steadyeye/monitor/drift.h"

namespace steadyeye {

namespace {

struct Direction {
  const char* metric;
  int sign;  // +1: the metric rose, -1: it fell
};

// A fault is possible when, for every group of `all_of`, at least one of its moves happened.
// `explains` lists what else the fault moves as a side effect (overexposure also lifts the dark
// floor, a veil also lowers the highlights), so that those moves count for it too.
struct Rule {
  bool image_fault;  // false: told by the model's outputs or the gate's rates
  const char* reason;
  const char* words;
  const char* action;
  std::vector<std::vector<Direction>> all_of;
  std::vector<Direction> explains = {};
};

// Ties go to the rule listed first: the most specific fault. Lost detail is told by fine_detail
// (Laplacian against gradient energy, which contrast scales alike); sharpness, the Laplacian's
// variance, falls with the square of contrast under any veil or darkening, so it is only a side
// effect.
const std::vector<Rule>& Rules() {
  static const std::vector<Rule> kRules = {
      {true,
       "camera_moved",
       "the view shifted against the site's reference: likely the camera was bumped or rotated",
       "re-aim or re-mount the camera, then re-take the site's quality baseline",
       {{{"displacement", +1}, {"alignment", -1}}},
       {{"fine_detail", -1}, {"sharpness", -1}, {"peak", -1}, {"noise", -1}}},
      {true,
       "compression",
       "JPEG blocks appeared: likely a bandwidth-limited link or a lower encoder quality",
       "restore the camera's encoder quality or the link's bandwidth",
       {{{"blockiness", +1}}},
       {{"fine_detail", -1}, {"sharpness", -1}, {"noise", -1}, {"flat_area", +1}}},
      {true,
       "glare",
       "a local bright patch: likely a reflection or a light in view",
       "shade the light source or re-angle the camera",
       {{{"glare", +1}}},
       {{"clipped", +1}, {"brightness", +1}, {"fine_detail", -1}, {"contrast", +1}, {"floor", +1}}},
      {true,
       "occlusion",
       "part of the view is flat: likely something hides part of the scene",
       "remove what blocks the camera's view",
       {{{"flat_area", +1}}}},
      {true,
       "dust",
       "fine detail lost under a veil: likely dust or condensation on the lens",
       "clean the lens and check for condensation",
       {{{"fine_detail", -1}}, {{"floor", +1}}},
       {{"contrast", -1}, {"peak", -1}, {"sharpness", -1}}},
      {true,
       "noise",
       "sensor noise rose: likely low light with high gain, or a faulty cable",
       "add light at the scene or check the camera's cable",
       {{{"noise", +1}}},
       {{"fine_detail", +1}, {"sharpness", +1}, {"clipped", +1}}},
      {true,
       "blur",
       "fine detail lost: likely defocus, motion or vibration",
       "refocus the lens and check the mount for vibration",
       {{{"fine_detail", -1}}},
       {{"peak", -1}, {"noise", -1}, {"contrast", -1}, {"sharpness", -1}}},
      {true,
       "haze",
       "a veil lifts the dark areas: likely haze, condensation or a dirty lens",
       "clean the lens and check for condensation or fog",
       {{{"floor", +1}}},
       {{"contrast", -1},
        {"peak", -1},
        {"brightness", +1},
        {"fine_detail", -1},
        {"sharpness", -1}}},
      {true,
       "uneven_light",
       "light became uneven: likely a shadow or a failing lamp",
       "check the lamps and what casts shadows on the scene",
       {{{"uneven_light", +1}}},
       {{"peak", -1}, {"contrast", -1}, {"brightness", -1}}},
      {true,
       "too_dark",
       "images darkened: likely a failing lamp, night or a shorter exposure",
       "check the lamps and the camera's exposure setting",
       {{{"brightness", -1}, {"peak", -1}}},
       {{"contrast", -1}, {"sharpness", -1}, {"noise", -1}, {"midtone", -1}, {"fine_detail", +1}}},
      {true,
       "too_bright",
       "images brightened: likely overexposure or extra light",
       "lower the camera's exposure or shade the extra light",
       {{{"brightness", +1}, {"clipped", +1}}},
       {{"floor", +1}, {"midtone", +1}, {"contrast", -1}, {"sharpness", -1}, {"fine_detail", -1}}},
      {true,
       "low_contrast",
       "contrast fell: likely flat light or a veil over the lens",
       "check the lighting and clean the lens",
       {{{"contrast", -1}}},
       {{"floor", +1}, {"peak", -1}, {"sharpness", -1}, {"noise", -1}}},
      {true,
       "exposure_curve",
       "mid-tones changed: likely a changed exposure curve (gamma)",
       "check the camera's exposure and gamma settings",
       {{{"midtone", -1}, {"midtone", +1}}},
       {{"contrast", -1}, {"fine_detail", +1}, {"brightness", -1}, {"brightness", +1}}},
      {true,
       "scale",
       "items appear at another size: likely the camera's zoom or distance changed",
       "check the camera's zoom and mount",
       {{{"spread", -1}, {"spread", +1}}},
       {{"fine_detail", -1}, {"sharpness", -1}, {"peak", -1}, {"noise", -1}}},
      {false,
       "items_changed",
       "the images look as before but the model is less sure or sees other classes: likely new "
       "or redesigned products",
       "review the queued images; label new items, then retrain from the reviewed images",
       {{{"confidence", -1},
         {"class_mix", +1},
         {"review_rate", +1},
         {"embedding", +1},
         {"audit_error", +1}}}},
      {false,
       "bad_frames",
       "more frames fail the quality gate, though the stream's averages hold",
       "look at the flagged frames' reasons in the review queue",
       {{{"bad_image_rate", +1}}}},
  };
  return kRules;
}

// 2: a specific quality metric, 1: another quality metric, 0: a model output or a rate.
int Telling(const std::string& name) {
  for (size_t m = 0; m < kNumQualityMetrics; ++m) {
    const QualityMetricInfo& info = MetricInfo(QualityMetric(m));
    if (name == info.name) return info.specific ? 2 : 1;
  }
  return 0;
}

bool Matches(const DriftMove& m, const Direction& d) {
  return m.metric == d.metric && (m.z > 0 ? 1 : -1) == d.sign;
}

bool AnyMatches(const DriftMove& m, const std::vector<Direction>& directions) {
  return std::any_of(directions.begin(), directions.end(),
                     [&](const Direction& d) { return Matches(m, d); });
}

// A move's weight as evidence. Effects are capped: a metric nearly constant over the reference
// (the dark floor of images on a black background) moves by dozens of its own spreads under any
// veil, and would otherwise decide every diagnosis alone. Specific metrics count half again.
double Weight(const DriftMove& m) {
  constexpr double kEffectCap = 2;
  const double w = Telling(m.metric) == 2 ? 1.5 : 1.0;
  return w * std::clamp(std::abs(m.effect), 1e-9, kEffectCap);
}

// How much of the moves a fault explains (parsimonious covering, in the abductive-diagnosis
// sense): 0 unless each of its required groups has a move; else the weight of every move it
// requires, plus a share of those it explains as side effects. Side effects count less because
// many faults share them (most darken the highlights).
double Evidence(const Rule& rule, const std::vector<DriftMove>& moves) {
  constexpr double kSideEffectShare = 0.75;
  for (const auto& group : rule.all_of) {
    if (std::none_of(moves.begin(), moves.end(),
                     [&](const DriftMove& m) { return AnyMatches(m, group); }))
      return 0;
  }
  double total = 0;
  for (const DriftMove& m : moves) {
    const bool required = std::any_of(rule.all_of.begin(), rule.all_of.end(),
                                      [&](const auto& group) { return AnyMatches(m, group); });
    if (required) {
      total += Weight(m);
    } else if (AnyMatches(m, rule.explains)) {
      total += kSideEffectShare * Weight(m);
    }
  }
  return total;
}

std::string DescribeMove(const DriftMove& m) {
  if (m.metric == "class_mix")
    return fmt::format("the mix of predicted classes changed (chi-square z {:.1f})", m.recent);
  if (m.metric == "embedding")
    return fmt::format("the model's features of the images moved (MMD z {:.1f})", m.recent);
  const char* verb = m.z > 0 ? "rose" : "fell";
  if (m.reference != 0 && m.ratio > 0) {
    return fmt::format("{} {} to {:.2f} of baseline ({:.3g} -> {:.3g})", m.metric, verb, m.ratio,
                       m.reference, m.recent);
  }
  return fmt::format("{} {} from {:.3g} to {:.3g}", m.metric, verb, m.reference, m.recent);
}

}  // namespace

bool IsImageFault(std::string_view reason) {
  for (const Rule& rule : Rules()) {
    if (reason == rule.reason) return rule.image_fault;
  }
  return false;
}

const char* DriftRestriction(DriftAction action, std::string_view reason, bool can_tighten) {
  switch (action) {
    case DriftAction::kNone:
      return "unchanged";
    case DriftAction::kTighten:
      if (can_tighten && IsImageFault(reason)) return "tightened";
      return "suspended";
    case DriftAction::kSuspend:
      break;
  }
  return "suspended";
}

StatusOr<DriftAction> ParseDriftAction(std::string_view name) {
  for (DriftAction a : {DriftAction::kSuspend, DriftAction::kTighten, DriftAction::kNone}) {
    if (name == DriftActionName(a)) return a;
  }
  return InvalidArgumentError("unknown drift action '" + std::string(name) +
                              "': choose suspend, tighten or none");
}

const char* DriftActionName(DriftAction action) {
  switch (action) {
    case DriftAction::kNone:
      return "none";
    case DriftAction::kTighten:
      return "tighten";
    case DriftAction::kSuspend:
      break;
  }
  return "suspend";
}

DriftDiagnosis DiagnoseDrift(const std::vector<DriftMove>& moves) {
  std::string figures;
  for (size_t i = 0; i < std::min<size_t>(3, moves.size()); ++i)
    figures += (i ? ", " : "") + DescribeMove(moves[i]);
  const bool image_moved = std::any_of(moves.begin(), moves.end(),
                                       [](const DriftMove& m) { return Telling(m.metric) > 0; });
  const Rule* best = nullptr;
  double best_evidence = 0;
  for (const Rule& rule : Rules()) {
    if (image_moved && !rule.image_fault) continue;
    const double e = Evidence(rule, moves);
    if (e > best_evidence) {
      best = &rule;
      best_evidence = e;
    }
  }
  if (best) return {best->reason, figures + ": " + best->words, best->action};
  return {"unexplained", figures + ": the images changed in a way no rule explains",
          "look at the camera and at recent images of this stream"};
}

}  // namespace steadyeye
