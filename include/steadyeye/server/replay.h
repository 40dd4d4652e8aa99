// Replay: a client that drives a running server the way a production line would, for demos,
// load and end-to-end tests. Images go out in a seeded random order (classes interleaved), at a
// set rate, optionally with a production condition switched on from the N-th image; their true
// labels stay with the client. An oracle reviewer can answer the server's review tasks with
// those true labels (at a chosen error rate and hourly capacity).
//
// Thread-safety: Replay() runs its own sender and reviewer threads; call it from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"

namespace steadyeye {

struct ReplayImage {
  std::vector<uint8_t> bytes;  // PNG or JPEG, as sent
  std::string true_label;      // class name, compared with the server's label
};

struct ReplayOptions {
  std::string server;  // e.g. http://127.0.0.1:8080
  std::string token;   // client role (or admin); empty in open mode
  std::string site;
  std::string camera = "default";
  double rate = 0;  // images per second in all; 0: as fast as the server answers
  // When set, image i is sent as taken at ts_start_ms + i * ts_step_ms (a replayed week of
  // production, for plots over time); otherwise the server stamps the arrival time.
  std::optional<int64_t> ts_start_ms;
  int64_t ts_step_ms = 1000;
  int concurrency = 4;  // requests in flight
  // An oracle reviewer answers review tasks of the images it sent with their true labels.
  bool oracle_reviewer = false;
  std::string reviewer_token;    // reviewer role (or admin); default: `token`
  double oracle_error_rate = 0;  // share of answers deliberately wrong (a random other class)
  double oracle_capacity = 0;    // answers per hour; 0: no limit
  uint64_t seed = 1;             // of the oracle's mistakes
  std::vector<std::string> class_names;  // for the oracle's mistakes
  // Reads the site's drift alerts at the end (operator role, or admin); default: `token`.
  std::string operator_token;
  size_t window = 500;  // images per window of the per-window figures (in sending order)
};

// Figures of consecutive images in sending order, against the kept-aside true labels.
struct ReplayWindow {
  int64_t first = 0;  // index of its first image
  int64_t images = 0, auto_decisions = 0, auto_errors = 0, review_decisions = 0;
  int64_t model_correct = 0;  // the model's label was right, whatever the decision
  nlohmann::json ToJson() const;
};

struct ReplaySummary {
  int64_t sent = 0, answered = 0, failed = 0;
  int64_t auto_decisions = 0, review_decisions = 0;
  int64_t auto_correct = 0;  // against the true labels
  int64_t kept_review = 0, kept_quality = 0, kept_audit = 0;
  int64_t reviews_answered = 0, reviews_wrong = 0, reviews_skipped = 0;
  std::vector<std::string> errors;  // the first few failures, with their cause
  double seconds = 0;
  std::vector<ReplayWindow> windows;
  // The site's drift alerts (GET /v1/alerts) when the replay ended; null when the token may
  // not read them (alerts_error says why).
  nlohmann::json alerts;
  std::string alerts_error;

  // The true accuracy of the automatic decisions, from the kept-aside labels.
  std::optional<double> auto_accuracy() const {
    return auto_decisions > 0 ? std::optional<double>(double(auto_correct) / auto_decisions)
                              : std::nullopt;
  }
  nlohmann::json ToJson() const;
};

// Sends `images` in the given order and waits for every answer, then (with the oracle) keeps
// answering until the server's queue has nothing left of these images. `on_progress(done,
// total)` is called as answers come back. InvalidArgument for a bad server URL; Unavailable
// when the server cannot be reached at all.
StatusOr<ReplaySummary> Replay(const std::vector<ReplayImage>& images, const ReplayOptions& options,
                               const std::function<void(size_t, size_t)>& on_progress = {});

}  // namespace steadyeye
