#include "steadyeye/review/accuracy.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "steadyeye/review/review_queue.h"

namespace steadyeye {
namespace {

constexpr int64_t kDay = 86'400'000;

TEST(WilsonInterval, MatchesTheTextbookValuesAndStaysInsideZeroOne) {
  // 8 of 10: Wilson 95% is [0.490, 0.943].
  const Interval i = WilsonInterval(0.8, 10);
  EXPECT_NEAR(i.low, 0.4902, 1e-3);
  EXPECT_NEAR(i.high, 0.9433, 1e-3);
  const Interval all = WilsonInterval(1.0, 20);
  EXPECT_LT(all.low, 1.0);
  EXPECT_DOUBLE_EQ(all.high, 1.0);
  const Interval none = WilsonInterval(0.0, 0);
  EXPECT_EQ(none.low, 0);
  EXPECT_EQ(none.high, 1);
}

// A simulated site: `n` automatic decisions with true accuracy `accuracy`, audited at `rate`,
// plus review decisions; every audit capture answered truthfully.
std::vector<ReviewRecord> SimulateDay(std::mt19937_64& rng, int64_t day, int n, double accuracy,
                                      double rate, int reviews) {
  std::vector<ReviewRecord> out;
  std::bernoulli_distribution correct(accuracy), audited(rate);
  for (int i = 0; i < n; ++i) {
    const bool right = correct(rng);
    if (!audited(rng)) continue;
    ReviewRecord r;
    r.time_ms = day * kDay + i;
    r.site = "a";
    r.audit = true;
    r.decision = "auto";
    r.inclusion_probability = rate;
    r.model_label = "Coat";
    r.answer = right ? "Coat" : "Shirt";
    out.push_back(r);
  }
  for (int i = 0; i < reviews; ++i) {
    ReviewRecord r;
    r.time_ms = day * kDay + n + i;
    r.site = "a";
    r.decision = "review";
    r.model_label = "Coat";
    if (i % 2 == 0) r.answer = i % 10 == 0 ? kAnswerBadImage : "Shirt";
    out.push_back(r);
  }
  return out;
}

TEST(EstimateAccuracy, TheAuditIntervalCoversTheTrueAccuracyAboutAsOftenAsItSays) {
  std::mt19937_64 rng(7);
  int covered = 0;
  const int days = 400;
  std::vector<ReviewRecord> all;
  for (int d = 0; d < days; ++d) {
    auto day = SimulateDay(rng, d, 2000, 0.93, 0.05, 0);
    all.insert(all.end(), day.begin(), day.end());
  }
  const auto estimates = EstimateAccuracy(all);
  ASSERT_EQ(estimates.size(), size_t(days) + 1);  // each day, then the whole range
  for (int d = 0; d < days; ++d) {
    const auto& e = estimates[size_t(d)];
    ASSERT_TRUE(e.auto_accuracy.has_value());
    if (e.auto_interval.low <= 0.93 && 0.93 <= e.auto_interval.high) ++covered;
    // 2000 automatic decisions, estimated from ~100 audit captures (sd about 200).
    EXPECT_NEAR(e.auto_decisions, 2000, 800);
  }
  std::printf("the 95%% interval held the true accuracy on %d of %d days\n", covered, days);
  // Nominal 95%: across 400 days, between 90% and 99% of intervals hold the truth.
  EXPECT_GE(covered, 360);
  EXPECT_LE(covered, 396);
  const auto& whole = estimates.back();
  EXPECT_TRUE(whole.day.empty());
  EXPECT_NEAR(*whole.auto_accuracy, 0.93, 0.01);
  EXPECT_NEAR(whole.auto_decisions, 2000.0 * days, 0.02 * 2000 * days);
}

TEST(EstimateAccuracy, ReviewRateFinalAccuracyBadImagesAndAgreement) {
  std::mt19937_64 rng(3);
  // 1000 automatic decisions all correct, audited at 10%; 250 review decisions, half answered.
  auto records = SimulateDay(rng, 0, 1000, 1.0, 0.1, 250);
  records[0].double_reviewed = true;
  records[0].reviewers_agreed = true;
  records[1].double_reviewed = true;
  const auto e = EstimateAccuracy(records).front();
  EXPECT_EQ(e.day, "1970-01-01");
  EXPECT_EQ(*e.auto_accuracy, 1.0);
  EXPECT_NEAR(*e.review_rate, 250.0 / (250 + e.auto_decisions), 1e-12);
  EXPECT_NEAR(*e.review_rate, 0.2, 0.03);
  EXPECT_EQ(e.review_answered, 125);
  EXPECT_DOUBLE_EQ(*e.final_accuracy, 1.0);
  // Bad images: 25 answers of 125 review answers, against ~100 audit answers weighing 10 each.
  EXPECT_NEAR(*e.bad_image_rate, 25.0 / (125 + 10 * e.audit_answered), 1e-9);
  EXPECT_EQ(*e.reviewer_agreement, 0.5);

  // A model that gets half of its automatic decisions wrong drags the final accuracy down with
  // the share of automatic decisions; bad_image answers do not count against it.
  auto half = SimulateDay(rng, 1, 1000, 0.5, 0.1, 0);
  half[0].answer = kAnswerBadImage;
  const auto h = EstimateAccuracy(half).front();
  EXPECT_NEAR(*h.auto_accuracy, 0.5, 0.12);
  EXPECT_EQ(h.audit_answered, int64_t(half.size()));
  EXPECT_NEAR(*h.final_accuracy, *h.auto_accuracy, 1e-12);  // no human decisions that day

  // A day on which every image went to review (a dirty lens): no audit, and the final decisions
  // are the reviewers'.
  auto reviewed_only = SimulateDay(rng, 2, 0, 1.0, 0.1, 40);
  const auto r = EstimateAccuracy(reviewed_only).front();
  EXPECT_FALSE(r.auto_accuracy.has_value());
  EXPECT_EQ(*r.review_rate, 1.0);
  EXPECT_EQ(*r.final_accuracy, 1.0);
}

}  // namespace
}  // namespace steadyeye
