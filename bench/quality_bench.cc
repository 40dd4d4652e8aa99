// The quality gate, measured: per-image cost at 28x28 and 1280x720 (single thread, same run),
// and flag rates on Fashion-MNIST test images, clean and under every shift-suite condition x
// severity, with the baseline learned from Fashion-MNIST train images.
//
//   build/bench/quality_bench [--seconds S] [--baseline-limit N] [--test-limit N] [--metric NAME]
//                             [--tune]
//
// --tune measures on the validation split instead (fashion-mnist:val, 3,000 images carved out of
// the train split), with the baseline learned from the train split's training part only: the
// gate's settings are chosen there, never on the test images.
// With --metric, every cell also gives the share of images that this one metric flagged (in
// brackets), to see what one metric contributes to the verdict.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "bench_images.h"
#include "steadyeye/core/allocator.h"
#include "steadyeye/data/source.h"
#include "steadyeye/data/splits.h"
#include "steadyeye/eval/robustness.h"
#include "steadyeye/quality/quality.h"
#include "steadyeye/shift/shift.h"

namespace {

using namespace steadyeye;

double MicrosecondsPerImage(const Image& img, const QualityBaseline& baseline, double seconds) {
  long n = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds || n < 3) {
    if (!AssessQuality(img, &baseline).ok()) return -1;
    ++n;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return 1e6 * elapsed / double(n);
}

struct Rate {
  double flagged = 0;
  size_t n = 0;
  std::map<std::string, size_t> by_metric;

  double ShareFlaggedBy(const std::string& metric) const {
    const auto it = by_metric.find(metric);
    return it == by_metric.end() || n == 0 ? 0.0 : double(it->second) / double(n);
  }
};

Rate FlagRate(const Dataset& data, const QualityBaseline& baseline) {
  Rate r;
  size_t flagged = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    const auto a = AssessQuality(data.image(i), &baseline);
    if (!a.ok() || a->pass()) continue;
    ++flagged;
    for (const auto& f : a->flags) ++r.by_metric[MetricInfo(f.metric).name];
  }
  r.flagged = double(flagged) / double(data.size());
  r.n = data.size();
  return r;
}

std::string TopMetrics(const Rate& r) {
  std::multimap<size_t, std::string, std::greater<>> sorted;
  for (const auto& [name, n] : r.by_metric) sorted.emplace(n, name);
  std::string out;
  int shown = 0;
  for (const auto& [n, name] : sorted) {
    if (shown++ == 3) break;
    out += (out.empty() ? "" : ", ") + name;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  TuneAllocatorForLargeBuffers();
  double seconds = 0.5;
  size_t baseline_limit = 0, test_limit = 0;
  std::string metric;  // empty: no per-metric share
  bool tune = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--tune") == 0) tune = true;
    if (i + 1 == argc) break;
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::stod(argv[i + 1]);
    if (std::strcmp(argv[i], "--baseline-limit") == 0) baseline_limit = std::stoul(argv[i + 1]);
    if (std::strcmp(argv[i], "--test-limit") == 0) test_limit = std::stoul(argv[i + 1]);
    if (std::strcmp(argv[i], "--metric") == 0) metric = argv[i + 1];
  }
  DataRef train_ref, test_ref;
  train_ref.split = Split::kTrain;
  test_ref.split = tune ? Split::kValidation : Split::kTest;
  LoadOptions train_options, test_options;
  // Tuning splits the whole train split as training does, so that no validation image is in
  // the baseline; the baseline limit then caps the training part (below).
  train_options.limit = tune ? 0 : baseline_limit;
  test_options.limit = test_limit;
  auto train = LoadDataset(train_ref, train_options);
  const auto test = LoadDataset(test_ref, test_options);
  if (!train.ok() || !test.ok()) {
    std::fprintf(stderr, "cannot load Fashion-MNIST: %s\n",
                 (train.ok() ? test.status() : train.status()).message().c_str());
    return 1;
  }
  if (tune) *train = std::move(SplitForTraining(*train).train);
  std::vector<Image> reference;
  const size_t reference_size =
      baseline_limit > 0 ? std::min(baseline_limit, train->size()) : train->size();
  for (size_t i = 0; i < reference_size; ++i) reference.push_back(train->image(i));
  const auto baseline = BuildBaseline(reference);
  if (!baseline.ok()) return std::fprintf(stderr, "%s\n", baseline.status().message().c_str()), 1;

  const Image small = test->image(0), large = steadyeye::bench::Textured(1280, 720, 3);
  std::vector<Image> frames(24, large);
  const auto frame_baseline = BuildBaseline(frames);
  std::printf("cost per image (single thread): 28x28 grey %.1f us, 1280x720 RGB %.0f us\n\n",
              MicrosecondsPerImage(small, *baseline, seconds),
              MicrosecondsPerImage(large, *frame_baseline, seconds));

  std::printf("baseline: %zu train images; %zu %s images per cell\n", reference.size(),
              test->size(), tune ? "validation" : "test");
  const Rate clean = FlagRate(*test, *baseline);
  std::printf("clean: flagged %.4f (by %s)", clean.flagged, TopMetrics(clean).c_str());
  if (!metric.empty())
    std::printf("; by %s alone %.4f", metric.c_str(), clean.ShareFlaggedBy(metric));
  std::printf("\n\n");
  std::printf("%-15s %-20s %7s %7s %7s %7s %7s  %s\n", "condition", "group", "sev 1", "sev 2",
              "sev 3", "sev 4", "sev 5", "flagged by (sev 3)");
  for (const auto& c : AllConditions()) {
    std::printf("%-15s %-20s", c.name.c_str(), ConditionGroupName(c.group));
    std::string top;
    for (int s = kMinSeverity; s <= kMaxSeverity; ++s) {
      const auto shifted = CorruptDataset(*test, c.name, s, kDefaultConditionSeed);
      if (!shifted.ok()) return 1;
      const Rate r = FlagRate(*shifted, *baseline);
      if (s == 3) top = TopMetrics(r);
      std::printf(" %7.4f", r.flagged);
      if (!metric.empty()) std::printf(" (%.4f)", r.ShareFlaggedBy(metric));
      std::fflush(stdout);
    }
    std::printf("  %s\n", top.c_str());
  }
  return 0;
}
