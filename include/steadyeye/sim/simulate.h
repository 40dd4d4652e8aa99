// The demo's deployment story, measured: a scenario (sim/scenario.h) played over a stream of
// images no model of the run was trained on, through two policies side by side on the same
// stream:
//   static  the lab model with its certified threshold and quality gate, nothing else;
//   loop    the same, plus drift monitoring, label-free adaptation when a site drifts,
//           retraining from reviewed captures, and promotion through the gate.
// Each policy has its own store and serving path (server/predictor.h, the code `steadyeye
// serve` runs) and its own simulated reviewers, who answer the review queue with the true label
// at the scenario's error rate, within a daily capacity. Every figure is computed against the
// true labels the simulation keeps aside.
//
// Stream: the images of `stream_data`, shuffled by the scenario's seed, each used once, dealt to
// the site-days in order; their times are uniform within the day. Time runs forward in rounds
// of `loop.round_hours`: the round's images are served, the reviewers work, then the loop looks
// at each site. A site's future images are never seen before their round.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/data/source.h"
#include "steadyeye/sim/scenario.h"

namespace steadyeye {

struct SimulationOptions {
  Scenario scenario;
  // The lab model: trained on `lab_data` only. When its card is certified at another alpha or
  // delta than the scenario's, the run serves a copy certified at the scenario's on
  // `clean_data` (<out>/lab-model.seye).
  std::filesystem::path lab_model;
  DataRef lab_data;                  // replayed when retraining
  DataRef clean_data;                // clean lab images held back from training (the gate's)
  std::vector<DataRef> stream_data;  // never trained on
  DataRef clean_test;                // for the lab model's clean accuracy (the targets' bar)
  std::filesystem::path out;         // <out>/<policy>/store: replaced at the start
  int train_threads = 1;             // compute threads of retraining
  size_t gate_clean_images = 2000;
  size_t gate_shift_images = 100;  // per anticipated condition
  // Hears (stage, done, total) as rounds finish; and a line per loop action.
  std::function<void(size_t done, size_t total)> on_progress;
  std::function<void(const std::string&)> log;
};

// Runs both policies and returns the summary (see summary.json in the README): per policy and
// site, the figures of each day; the loop's actions; the time from each shift's onset to the
// first promoted model; the targets, checked. InvalidArgument when the stream is too small for
// the scenario or the scenario names a class the model lacks.
StatusOr<nlohmann::json> RunSimulation(const SimulationOptions& options);

}  // namespace steadyeye
