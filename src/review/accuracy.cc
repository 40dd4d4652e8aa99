#include "steadyeye/review/accuracy.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "steadyeye/core/time.h"
#include "steadyeye/review/review_queue.h"

namespace steadyeye {

Interval WilsonInterval(double p, double n, double z) {
  if (n <= 0) return {0, 1};
  const double z2 = z * z;
  const double center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

namespace {

std::optional<double> Share(double part, double whole) {
  if (whole <= 0) return std::nullopt;
  return part / whole;
}

nlohmann::json Optional(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

// Sums over the records of one group; Finish turns them into the estimate.
struct Accumulator {
  AccuracyEstimate e;
  double audit_w = 0, audit_w2 = 0, audit_correct_w = 0;  // answered, not bad_image
  double answered_w = 0, bad_w = 0, new_w = 0;

  void Add(const ReviewRecord& r) {
    ++e.captures;
    const double w = r.inclusion_probability > 0 ? 1 / r.inclusion_probability : 0;
    if (r.audit) {
      ++e.audit_kept;
      e.auto_decisions += w;
    } else if (r.decision == "review") {
      ++e.review_decisions;
    }
    if (r.double_reviewed) {
      ++e.double_reviewed;
      e.agreed += r.reviewers_agreed ? 1 : 0;
    }
    if (!r.answer) return;
    answered_w += w;
    if (*r.answer == kAnswerBadImage) bad_w += w;
    if (*r.answer == kAnswerNewItem) new_w += w;
    if (!r.audit && r.decision == "review") ++e.review_answered;
    if (r.audit) {
      ++e.audit_answered;
      if (*r.answer == kAnswerBadImage) return;
      audit_w += w;
      audit_w2 += w * w;
      if (*r.answer == r.model_label) audit_correct_w += w;
    }
  }

  AccuracyEstimate Finish() {
    e.auto_accuracy = Share(audit_correct_w, audit_w);
    e.auto_effective_n = audit_w2 > 0 ? audit_w * audit_w / audit_w2 : 0;
    e.auto_interval = WilsonInterval(e.auto_accuracy.value_or(0), e.auto_effective_n);
    const double decisions = e.auto_decisions + double(e.review_decisions);
    e.review_rate = Share(double(e.review_decisions), decisions);
    if (e.auto_accuracy) {
      // Answered human decisions count as correct; automatic ones at the audit's accuracy.
      const double n = e.auto_decisions + double(e.review_answered);
      auto mix = [&](double auto_part) {
        return (e.auto_decisions * auto_part + double(e.review_answered)) / n;
      };
      e.final_accuracy = mix(*e.auto_accuracy);
      e.final_interval = {mix(e.auto_interval.low), mix(e.auto_interval.high)};
    } else if (e.auto_decisions == 0 && e.review_answered > 0) {
      // Every decision went to people (a site whose frames all fail the quality gate).
      e.final_accuracy = 1.0;
      e.final_interval = {1.0, 1.0};
    }
    e.bad_image_rate = Share(bad_w, answered_w);
    e.new_item_rate = Share(new_w, answered_w);
    e.reviewer_agreement = Share(double(e.agreed), double(e.double_reviewed));
    return e;
  }
};

std::string DayOf(int64_t time_ms) { return FormatUnixMillis(time_ms).substr(0, 10); }

}  // namespace

nlohmann::json AccuracyEstimate::ToJson() const {
  return {{"site", site},
          {"day", day.empty() ? nlohmann::json() : nlohmann::json(day)},
          {"captures", captures},
          {"auto",
           {{"decisions_estimated", auto_decisions},
            {"audit_kept", audit_kept},
            {"audit_answered", audit_answered},
            {"accuracy", Optional(auto_accuracy)},
            {"interval95", {auto_interval.low, auto_interval.high}},
            {"effective_n", auto_effective_n}}},
          {"review", {{"decisions", review_decisions}, {"answered", review_answered}}},
          {"review_rate", Optional(review_rate)},
          {"final_accuracy", Optional(final_accuracy)},
          {"final_interval95", {final_interval.low, final_interval.high}},
          {"bad_image_rate", Optional(bad_image_rate)},
          {"new_item_rate", Optional(new_item_rate)},
          {"reviewer_agreement", Optional(reviewer_agreement)},
          {"double_reviewed", double_reviewed}};
}

std::vector<AccuracyEstimate> EstimateAccuracy(const std::vector<ReviewRecord>& records) {
  std::map<std::string, std::map<std::string, Accumulator>> groups;  // site -> day ("" = all)
  for (const auto& r : records) {
    auto& site = groups[r.site];
    site[DayOf(r.time_ms)].Add(r);
    site[""].Add(r);
  }
  std::vector<AccuracyEstimate> out;
  for (auto& [site, days] : groups) {
    for (auto& [day, acc] : days) {
      if (day.empty()) continue;
      acc.e.site = site;
      acc.e.day = day;
      out.push_back(acc.Finish());
    }
    days[""].e.site = site;
    out.push_back(days[""].Finish());
  }
  return out;
}

}  // namespace steadyeye
