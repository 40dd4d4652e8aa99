// The promotion gate: a challenger replaces the model serving a site (or the champion) only when
// it is proven no worse on every set of images it is judged on, and better where it was made to
// be.
//
// Both models classify the same images, so each comparison is paired: what matters are the
// discordant images, b (only the challenger right) and c (only the incumbent right). The
// accuracy difference d = (b - c) / n gets a one-sided lower confidence bound from the Wald
// interval for a paired difference of proportions (the McNemar setting; Agresti, "Categorical
// Data Analysis", 10.1), and the challenger is non-inferior on a set when that bound is above
// -margin. The Wald bound is chosen for being simple to state and check; with few discordant
// pairs it is optimistic, which is why a target set needs min_images.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/data/dataset.h"
#include "steadyeye/model/classifier.h"

namespace steadyeye {

struct GateOptions {
  double margin = 0.01;    // the accuracy (as a fraction) a challenger may lose and still pass
  double z = 1.645;        // one-sided normal quantile of the bound: 1.645 for 95%
  size_t min_images = 30;  // fewer images in a target set decide nothing
};

struct PairedComparison {
  std::string set;
  bool target = false;  // a set where the challenger was made to be better
  size_t n = 0;
  size_t only_challenger_right = 0;  // b
  size_t only_incumbent_right = 0;   // c
  double incumbent_accuracy = 0, challenger_accuracy = 0;
  double difference = 0;   // challenger - incumbent
  double lower_bound = 0;  // one-sided lower confidence bound of the difference
  double margin = 0;
  bool non_inferior = false;
  nlohmann::json ToJson() const;
};

// `incumbent_right[i]` / `challenger_right[i]`: whether each model classified item i correctly.
// The spans have the same length. Uses options.margin and options.z.
PairedComparison ComparePaired(std::string set, std::span<const uint8_t> incumbent_right,
                               std::span<const uint8_t> challenger_right,
                               const GateOptions& options);

// A set of labelled images to judge on. `target`: the challenger must be better here (its
// accuracy higher), not only no worse. `margin`: this set's own non-inferiority margin (default:
// GateOptions::margin); a site's own model may be allowed to lose more on lab images than on its
// site's, since it only ever sees the site's.
struct GateSet {
  std::string name;
  Dataset data;
  bool target = false;
  std::optional<double> margin;
};

struct GateDecision {
  bool promote = false;
  std::vector<PairedComparison> comparisons;
  std::vector<std::string> refusals;  // why it was refused, one line per failed condition
  nlohmann::json ToJson() const;
};

// Judges `challenger` against `incumbent` on every set (each conformed to their shared input).
// Promoted when every set is non-inferior, every target set has at least min_images and a
// higher accuracy, and there is at least one target set. InvalidArgument when the two models
// differ in classes or input shape, or a set's images do not conform to it.
StatusOr<GateDecision> JudgeChallenger(const Classifier& incumbent, const Classifier& challenger,
                                       std::span<const GateSet> sets, const GateOptions& options);

}  // namespace steadyeye
