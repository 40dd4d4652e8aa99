// What a site has sent, read back from the capture store as data a model can adapt to or be
// judged on: the closed loop's inputs.
//
// Captures are not a uniform sample of the stream: review and quality captures are kept with
// probability 1, automatic decisions only with the audit rate (capture_store.h). Label-free
// adaptation wants the stream's image statistics, so SiteStreamImages resamples the captures
// with probability proportional to 1 / inclusion probability (importance resampling), which
// makes the expected statistics those of the whole stream.
//
// Captures are split for good into two parts by a hash of their id: one in kGateHoldoutShare is
// kept for judging models (the promotion gate), the rest may be adapted or trained on. A model
// is thus never judged on an image it has seen, with or without its label.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/data/dataset.h"
#include "steadyeye/image/input_spec.h"
#include "steadyeye/quality/quality.h"
#include "steadyeye/store/capture_store.h"

namespace steadyeye {

inline constexpr double kGateHoldoutShare = 0.25;
// True for the captures kept for judging models (never adapted or trained on).
bool IsGateHoldout(int64_t capture_id);

struct SiteDataQuery {
  std::string site;
  std::optional<int64_t> since_ms;  // time_ms >= since
  std::optional<int64_t> until_ms;  // time_ms < until
  size_t limit = 2000;              // the most recent captures, at most this many
};

struct SiteStream {
  Dataset images;             // conformed to the spec; labels are the model's (unused)
  size_t captures = 0;        // distinct captures drawn from
  double effective_size = 0;  // Kish's effective sample size of the weights
};

// The site's most recent captures outside the gate's holdout, resampled (seeded) to as many
// images by 1 / inclusion probability, decoded and conformed to `spec`. Images that no longer
// decode are skipped.
// NotFound when the site has no capture in the period.
StatusOr<SiteStream> SiteStreamImages(const CaptureStore& store, const SiteDataQuery& query,
                                      const InputSpec& spec,
                                      const std::vector<std::string>& class_names, uint64_t seed);

// A quality baseline (quality/quality.h) learned from the site's recent captures outside the
// gate's holdout, resampled as SiteStreamImages does and measured on the images as stored (not
// conformed to a model). NotFound when the site has no capture in the period; BuildBaseline's
// error for too few images.
StatusOr<QualityBaseline> SiteQualityBaseline(const CaptureStore& store, const SiteDataQuery& query,
                                              uint64_t seed);

enum class ReviewedPart { kGateHoldout, kTrainable };

struct SiteReviewed {
  Dataset data;  // labels: the reviewed class, by name among `class_names`
  std::vector<int64_t> capture_ids;
  size_t not_a_class = 0;  // answered bad_image or new_item, or a class the model lacks
};

// The site's reviewed captures of one part (oldest first), with their person's labels.
StatusOr<SiteReviewed> SiteReviewedImages(const CaptureStore& store, const SiteDataQuery& query,
                                          ReviewedPart part, const InputSpec& spec,
                                          const std::vector<std::string>& class_names);

}  // namespace steadyeye
