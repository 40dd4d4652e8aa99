#include "steadyeye/registry/site_data.h"

#include <algorithm>
#include <deque>
#include <random>

#include "steadyeye/core/hash.h"
#include "steadyeye/image/codec.h"

namespace steadyeye {

namespace {

// Every capture of the query's site and period, oldest first, keeping only the last `limit`
// that `keep` accepts.
template <typename Keep>
StatusOr<std::vector<Capture>> RecentCaptures(const CaptureStore& store, const SiteDataQuery& query,
                                              std::optional<bool> reviewed, Keep keep) {
  CaptureQuery q;
  q.site = query.site;
  q.since_ms = query.since_ms;
  q.until_ms = query.until_ms;
  q.reviewed = reviewed;
  q.limit = 1000;
  std::deque<Capture> recent;
  while (true) {
    SEYE_ASSIGN_OR_RETURN(auto page, store.List(q));
    if (page.empty()) break;
    q.after_id = page.back().id;
    for (auto& c : page) {
      if (!keep(c)) continue;
      recent.push_back(std::move(c));
      if (recent.size() > query.limit) recent.pop_front();
    }
  }
  return std::vector<Capture>(std::make_move_iterator(recent.begin()),
                              std::make_move_iterator(recent.end()));
}

Dataset EmptyLike(const InputSpec& spec, const std::vector<std::string>& class_names) {
  Dataset d;
  d.channels = spec.channels;
  d.height = spec.height;
  d.width = spec.width;
  d.class_names = class_names;
  return d;
}

// The capture's image conformed to the model's input; an error for one that no longer decodes.
StatusOr<Image> CaptureImage(const CaptureStore& store, int64_t id, const InputSpec& spec) {
  SEYE_ASSIGN_OR_RETURN(const auto bytes, store.GetImage(id));
  SEYE_ASSIGN_OR_RETURN(const Image image, DecodeImage(bytes));
  return ConformImage(image, spec);
}

// How many times each item is drawn when as many are drawn as there are items, with probability
// proportional to its weight: systematic resampling (Kitagawa 1996), which draws each item
// floor or ceil of its expected count, so equal weights keep every item exactly once.
std::vector<size_t> SystematicResample(const std::vector<double>& weights, double sum,
                                       uint64_t seed) {
  const size_t n = weights.size();
  std::vector<size_t> counts(n, 0);
  std::mt19937_64 rng(seed);
  const double step = sum / double(n);
  double point = std::uniform_real_distribution<double>(0, step)(rng), cumulative = 0;
  for (size_t i = 0, drawn = 0; i < n; ++i) {
    cumulative += weights[i];
    while (drawn < n && point < cumulative) {
      ++counts[i];
      ++drawn;
      point += step;
    }
  }
  return counts;
}

std::string CaptureSource(int64_t id) { return "capture:" + std::to_string(id); }

}  // namespace

bool IsGateHoldout(int64_t capture_id) {
  return UnitInterval(SplitMix64Finalize(uint64_t(capture_id) ^ 0x6761746573ull)) <
         kGateHoldoutShare;
}

namespace {

// The site's recent captures outside the holdout, each with how many times it is drawn when they
// are resampled by 1 / inclusion probability; and Kish's effective sample size of the weights.
struct Resampled {
  std::vector<std::pair<Capture, size_t>> draws;  // only captures drawn at least once
  double effective_size = 0;
};

StatusOr<Resampled> ResampleCaptures(const CaptureStore& store, const SiteDataQuery& query,
                                     uint64_t seed) {
  SEYE_ASSIGN_OR_RETURN(const auto captures,
                        RecentCaptures(store, query, std::nullopt,
                                       [](const Capture& c) { return !IsGateHoldout(c.id); }));
  if (captures.empty())
    return NotFoundError("site " + query.site + " has no captured image in the period");
  std::vector<double> weights;
  double sum = 0, sum_sq = 0;
  for (const auto& c : captures) {
    const double w = 1.0 / std::max(c.inclusion_probability, 1e-6);
    weights.push_back(w);
    sum += w;
    sum_sq += w * w;
  }
  Resampled out;
  out.effective_size = sum * sum / sum_sq;
  const auto counts = SystematicResample(weights, sum, seed);
  for (size_t i = 0; i < captures.size(); ++i)
    if (counts[i] > 0) out.draws.emplace_back(captures[i], counts[i]);
  return out;
}

}  // namespace

StatusOr<SiteStream> SiteStreamImages(const CaptureStore& store, const SiteDataQuery& query,
                                      const InputSpec& spec,
                                      const std::vector<std::string>& class_names, uint64_t seed) {
  SEYE_ASSIGN_OR_RETURN(const Resampled resampled, ResampleCaptures(store, query, seed));
  SiteStream out;
  out.images = EmptyLike(spec, class_names);
  out.effective_size = resampled.effective_size;
  for (const auto& [capture, count] : resampled.draws) {
    auto image = CaptureImage(store, capture.id, spec);
    if (!image.ok()) continue;
    ++out.captures;
    const int label = std::clamp(capture.label, 0, int(class_names.size()) - 1);
    for (size_t k = 0; k < count; ++k) out.images.Append(*image, label, CaptureSource(capture.id));
  }
  if (out.images.size() == 0)
    return DataLossError("none of site " + query.site + "'s captured images decodes");
  return out;
}

StatusOr<QualityBaseline> SiteQualityBaseline(const CaptureStore& store, const SiteDataQuery& query,
                                              uint64_t seed) {
  SEYE_ASSIGN_OR_RETURN(const Resampled resampled, ResampleCaptures(store, query, seed));
  std::vector<Image> images;
  for (const auto& [capture, count] : resampled.draws) {
    auto bytes = store.GetImage(capture.id);
    if (!bytes.ok()) continue;
    auto image = DecodeImage(*bytes);
    if (!image.ok()) continue;
    for (size_t k = 0; k < count; ++k) images.push_back(*image);
  }
  return BuildBaseline(images);
}

StatusOr<SiteReviewed> SiteReviewedImages(const CaptureStore& store, const SiteDataQuery& query,
                                          ReviewedPart part, const InputSpec& spec,
                                          const std::vector<std::string>& class_names) {
  const bool holdout = part == ReviewedPart::kGateHoldout;
  SEYE_ASSIGN_OR_RETURN(const auto captures,
                        RecentCaptures(store, query, true, [&](const Capture& c) {
                          return IsGateHoldout(c.id) == holdout;
                        }));
  SiteReviewed out;
  out.data = EmptyLike(spec, class_names);
  for (const auto& c : captures) {
    const auto it = std::find(class_names.begin(), class_names.end(), *c.reviewed_label);
    if (it == class_names.end()) {
      ++out.not_a_class;
      continue;
    }
    auto image = CaptureImage(store, c.id, spec);
    if (!image.ok()) continue;
    out.data.Append(*image, int(it - class_names.begin()), CaptureSource(c.id));
    out.capture_ids.push_back(c.id);
  }
  return out;
}

}  // namespace steadyeye
