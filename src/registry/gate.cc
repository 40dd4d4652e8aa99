#include "steadyeye/registry/gate.h"

#include <algorithm>
#include <cmath>

#include "fmt/format.h"
#include "steadyeye/model/predict.h"

namespace steadyeye {

namespace {

// 1 where the model's top class is the label.
StatusOr<std::vector<uint8_t>> Correct(const Classifier& model, const Dataset& data) {
  SEYE_ASSIGN_OR_RETURN(const auto logits, DatasetLogits(model, data));
  const size_t k = model.num_classes();
  std::vector<uint8_t> right(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    const float* row = &logits[i * k];
    right[i] = size_t(std::max_element(row, row + k) - row) == size_t(data.labels[i]);
  }
  return right;
}

std::string Points(double fraction) { return fmt::format("{:+.1f}", 100 * fraction); }

}  // namespace

nlohmann::json PairedComparison::ToJson() const {
  return {{"set", set},
          {"target", target},
          {"n", n},
          {"only_challenger_right", only_challenger_right},
          {"only_incumbent_right", only_incumbent_right},
          {"incumbent_accuracy", incumbent_accuracy},
          {"challenger_accuracy", challenger_accuracy},
          {"difference", difference},
          {"lower_bound", lower_bound},
          {"margin", margin},
          {"non_inferior", non_inferior}};
}

nlohmann::json GateDecision::ToJson() const {
  nlohmann::json sets = nlohmann::json::array();
  for (const auto& c : comparisons) sets.push_back(c.ToJson());
  return {{"promote", promote}, {"comparisons", sets}, {"refusals", refusals}};
}

PairedComparison ComparePaired(std::string set, std::span<const uint8_t> incumbent_right,
                               std::span<const uint8_t> challenger_right,
                               const GateOptions& options) {
  PairedComparison c;
  c.set = std::move(set);
  c.margin = options.margin;
  c.n = std::min(incumbent_right.size(), challenger_right.size());
  size_t incumbent = 0, challenger = 0;
  for (size_t i = 0; i < c.n; ++i) {
    incumbent += incumbent_right[i];
    challenger += challenger_right[i];
    c.only_challenger_right += challenger_right[i] && !incumbent_right[i];
    c.only_incumbent_right += incumbent_right[i] && !challenger_right[i];
  }
  if (c.n == 0) return c;  // nothing measured: not non-inferior
  const double n = double(c.n), b = double(c.only_challenger_right),
               d = double(c.only_incumbent_right);
  c.incumbent_accuracy = double(incumbent) / n;
  c.challenger_accuracy = double(challenger) / n;
  c.difference = (b - d) / n;
  const double variance = std::max(0.0, b + d - (b - d) * (b - d) / n) / (n * n);
  c.lower_bound = c.difference - options.z * std::sqrt(variance);
  c.non_inferior = c.lower_bound > -options.margin;
  return c;
}

StatusOr<GateDecision> JudgeChallenger(const Classifier& incumbent, const Classifier& challenger,
                                       std::span<const GateSet> sets, const GateOptions& options) {
  if (incumbent.card().class_names != challenger.card().class_names)
    return InvalidArgumentError("the challenger's classes differ from the incumbent's");
  // Each model normalises pixels its own way; the images must only have one shape for both.
  const InputSpec &mine = incumbent.card().input, &theirs = challenger.card().input;
  if (mine.channels != theirs.channels || mine.height != theirs.height ||
      mine.width != theirs.width)
    return InvalidArgumentError("the challenger's input is " + theirs.ShapeString() +
                                ", the incumbent's " + mine.ShapeString());
  GateDecision out;
  bool any_target = false;
  for (const auto& set : sets) {
    SEYE_ASSIGN_OR_RETURN(const auto a, Correct(incumbent, set.data));
    SEYE_ASSIGN_OR_RETURN(const auto b, Correct(challenger, set.data));
    GateOptions set_options = options;
    set_options.margin = set.margin.value_or(options.margin);
    PairedComparison c = ComparePaired(set.name, a, b, set_options);
    c.target = set.target;
    if (!c.non_inferior) {
      out.refusals.push_back(
          fmt::format("{}: {} points ({} images), lower bound {} below the margin of -{}", c.set,
                      Points(c.difference), c.n, Points(c.lower_bound), 100 * c.margin));
    }
    if (set.target) {
      any_target = true;
      if (c.n < options.min_images) {
        out.refusals.push_back(
            fmt::format("{}: only {} images, {} needed to decide", c.set, c.n, options.min_images));
      } else if (c.difference <= 0) {
        out.refusals.push_back(fmt::format("{}: not better ({} points), which it was made to be",
                                           c.set, Points(c.difference)));
      }
    }
    out.comparisons.push_back(std::move(c));
  }
  if (!any_target) out.refusals.push_back("no set where the challenger was meant to be better");
  out.promote = out.refusals.empty();
  return out;
}

}  // namespace steadyeye
