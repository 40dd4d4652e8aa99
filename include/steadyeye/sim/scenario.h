// A deployment story for the demo's simulation, read from a YAML file: sites, the production
// conditions each meets and when, a product redesign, the reviewers and the loop's settings.
// Days are numbered from 1; day d is the d-th 24 hours from the scenario's start. See
// scenarios/four-sites.yaml for a commented example.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "steadyeye/calib/calibration.h"
#include "steadyeye/core/status.h"
#include "steadyeye/image/image.h"
#include "steadyeye/monitor/drift.h"

namespace steadyeye {

// A production condition at a site from `from_day` (inclusive) to `to_day` (exclusive; none:
// to the end), optionally only within daily hours (a window that may wrap midnight).
struct SiteEvent {
  std::string condition;  // a shift/shift.h name
  int severity_start = 3;
  int severity_end = 3;  // rises linearly from start to end over the event (dust gathering)
  double from_day = 1;
  std::optional<double> to_day;
  std::optional<std::pair<int, int>> hours;  // [from, to) in 0..24, e.g. {20, 6}
  std::string description;                   // in words, for the report
  // The severity at `day` (fractional, from 1), or nullopt when the event is not on then.
  std::optional<int> SeverityAt(double day, double hour) const;
};

struct SiteScenario {
  std::string name;
  std::string camera = "line-1";
  std::vector<SiteEvent> events;  // applied in this order
};

// A product class whose look changes for good from `day` on, at every site: a concept change
// that only reviewed labels can teach a model.
struct Redesign {
  double day = 20;
  std::string class_name;
  std::string change = "rotate90";  // the only change so far: the item turned a quarter
  // The redesigned look of an image of that class.
  Image Apply(const Image& image) const;
};

struct ReviewerSpec {
  double error_rate = 0.02;    // share of answers that are a wrong class
  int capacity_per_day = 400;  // answers per day, all sites together
};

struct LoopSpec {
  double round_hours = 6;      // the loop looks at every site this often
  size_t retrain_every = 250;  // new reviewed captures at a site that trigger retraining
  double margin = 0.01;        // the gate's non-inferiority margin at the site
  // ... and on the lab's clean images and shift suite. Wider than at the site: a site's own
  // model serves only that site; the lab sets guard against forgetting, not against trade-offs.
  double lab_margin = 0.03;
  double max_wait_days = 3;  // a challenger not judged by then (too little evidence) is dropped
  // Live images of its site a challenger is scored on in the shadow before it is judged.
  size_t min_shadow_images = 40;
  size_t lab_replay = 3000;  // lab images replayed when retraining
  int epochs = 2;            // of each fine-tuning
  // What a site's open drift alert does to its automatic decisions (monitor/drift.h).
  DriftAction drift_action = DriftAction::kSuspend;
};

struct Scenario {
  uint64_t seed = 1;
  int days = 30;
  int images_per_site_day = 160;
  std::string start = "2026-11-02T00:00:00Z";
  double audit_rate = 0.1;
  // The risk the deployment accepts among automatic decisions: every model of the run, the lab
  // model included, has its threshold certified at `alpha` with probability 1 - `delta`.
  double alpha = kDefaultAlpha;
  double delta = kDefaultDelta;
  size_t drift_reference_frames = 300;  // a stream's first frames are its drift reference
  ReviewerSpec reviewers;
  LoopSpec loop;
  std::optional<Redesign> redesign;
  std::vector<SiteScenario> sites;

  // The same story with `images` per site-day; review capacity, the drift reference, the
  // retraining trigger and the lab replay are scaled with it, so that the loop acts on about
  // the same days with the same share of site images.
  Scenario Scaled(int images) const;
};

// InvalidArgument naming the field for a malformed scenario (unknown condition or class is
// checked by the simulation, which knows the model's classes).
StatusOr<Scenario> ParseScenario(const std::string& yaml_text);
StatusOr<Scenario> LoadScenario(const std::filesystem::path& file);

}  // namespace steadyeye
