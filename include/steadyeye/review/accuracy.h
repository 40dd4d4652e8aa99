// True production accuracy, per site and day, from what the store keeps: the blind audit of
// automatic decisions, the reviewers' answers, and every capture's inclusion probability.
//
// - Automatic decisions: accuracy estimated on the answered audit captures, each weighted by
//   1 / inclusion probability (a ratio estimator), with a 95% Wilson interval computed on the
//   effective sample size (Kish: (sum w)^2 / sum w^2; equal weights give the plain count).
//   Answers of bad_image count against the camera, not the model, and are left out; new_item
//   counts as an error (the model gave one of its classes to something that is none of them).
// - The number of automatic decisions is estimated as the sum of the audit weights (every
//   automatic decision had the same chance to be audited); review decisions are all stored.
// - Final decisions: automatic ones at the audit's accuracy, answered review ones as the
//   reviewer's answer (counted correct; reviewer agreement says how far to trust that). Unknown
//   when automatic decisions exist but none was audited and answered.
// - Bad-image rate: the weighted share of bad_image among answered captures.
// - Reviewer agreement: the share of double-reviewed tasks whose two answers match.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace steadyeye {

// One capture as the accuracy estimate sees it.
struct ReviewRecord {
  int64_t time_ms = 0;
  std::string site;
  bool audit = false;    // kept as an audit sample of automatic decisions
  std::string decision;  // "auto" or "review"
  double inclusion_probability = 1;
  std::string model_label;            // the model's class name
  std::optional<std::string> answer;  // the first standing answer other than skip
  bool double_reviewed = false;       // done with two answers
  bool reviewers_agreed = false;
};

struct Interval {
  double low = 0, high = 0;
};

// 95% (z = 1.96) Wilson score interval for a proportion `p` observed on `n` trials (n may be an
// effective, non-integer count). n <= 0 gives [0, 1].
Interval WilsonInterval(double p, double n, double z = 1.96);

struct AccuracyEstimate {
  std::string site;
  std::string day;  // YYYY-MM-DD (UTC); empty for the whole range
  int64_t captures = 0;
  // Automatic decisions, from the audit.
  int64_t audit_kept = 0, audit_answered = 0;
  double auto_decisions = 0;  // estimated count
  std::optional<double> auto_accuracy;
  Interval auto_interval;
  double auto_effective_n = 0;
  // All decisions.
  int64_t review_decisions = 0, review_answered = 0;
  std::optional<double> review_rate;
  std::optional<double> final_accuracy;  // automatic and answered human decisions together
  Interval final_interval;
  std::optional<double> bad_image_rate;
  std::optional<double> new_item_rate;
  int64_t double_reviewed = 0, agreed = 0;
  std::optional<double> reviewer_agreement;

  nlohmann::json ToJson() const;
};

// Estimates per (site, day), ordered by site then day, and one whole-range row per site (day
// empty) after its days.
std::vector<AccuracyEstimate> EstimateAccuracy(const std::vector<ReviewRecord>& records);

}  // namespace steadyeye
