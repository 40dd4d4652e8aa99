// Internal to sim/: one policy's run over the stream: its store, serving path, reviewers and
// (for the loop) the loop's actions; and what happened to every image.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/registry/site_loop.h"
#include "steadyeye/server/alerts.h"
#include "steadyeye/server/metrics.h"
#include "steadyeye/server/predictor.h"
#include "steadyeye/server/registry_follower.h"
#include "steadyeye/sim/simulate.h"
#include "steadyeye/store/store.h"
#include "stream.h"

namespace steadyeye::sim {

// What happened to one stream image under a policy.
struct Outcome {
  bool automatic = false;
  bool quality_flag = false;
  bool drift_suspended = false;
  int label = -1;             // the model's
  std::optional<int> answer;  // the reviewer's class (first answer), when one came in time
};

class PolicyRun {
 public:
  // Opens a fresh store in `dir`, registers the lab model as the champion and serves it.
  static StatusOr<std::unique_ptr<PolicyRun>> Create(const std::string& name, bool loop,
                                                     const SimulationOptions& options,
                                                     const Stream& stream,
                                                     const std::filesystem::path& dir);
  ~PolicyRun();

  // Serves stream images [begin, end); then the reviewers answer up to `capacity` tasks at
  // `now_ms`; then (loop only, and not after the `last` round) the loop looks at every site.
  Status Round(size_t begin, size_t end, int64_t now_ms, int capacity, bool last);
  // The model version serving each site now.
  std::map<std::string, std::string> Versions() const;

  const std::string& name() const { return name_; }
  bool loop() const { return loop_; }
  const std::vector<Outcome>& outcomes() const { return outcomes_; }
  const nlohmann::json& actions() const { return actions_; }
  StatusOr<std::vector<nlohmann::json>> Alerts() const;
  // The reviewers' work and how often the labels they left are wrong: `first_answer_error` is
  // what one reviewer per task would leave, `label_error` what the second opinions left.
  StatusOr<nlohmann::json> ReviewerFigures() const;

 private:
  PolicyRun(const std::string& name, bool loop, const SimulationOptions& options,
            const Stream& stream);
  Status Serve(size_t begin, size_t end);
  Status Review(int64_t now_ms, int capacity);
  // A challenger made and waiting for enough held-out reviewed images of its site to be judged.
  struct Pending {
    std::string id, kind, why;
    int64_t since_ms = 0;  // judged on the site's held-out reviewed captures since then
    int64_t made_ms = 0;
    size_t images = 0;
  };
  struct SiteState {
    int64_t acted_alert = 0;                // the newest alert acted upon
    std::optional<int64_t> alert_onset_ms;  // of the open alert acted upon
    // Since the site's last change (an alert's onset, or the images a promoted model was
    // judged on), until a site certificate is made from its images (RecalibrateOnSite).
    std::optional<int64_t> certify_since_ms;
    size_t new_trainable_reviews = 0;
    std::vector<int64_t> holdout_reviewed_ms;  // capture times of answered held-out captures
    std::optional<Pending> pending;
  };
  Status RunLoop(int64_t now_ms);
  Status MakeChallenger(const std::string& site, SiteState& state, ChallengerSource source,
                        const std::string& why, int64_t since_ms, int64_t now_ms);
  Status JudgePending(const std::string& site, SiteState& state, int64_t now_ms);
  // Re-fits the serving model's calibration on the site's reviewed images since
  // state.certify_since_ms and serves the result when a threshold was certified.
  Status Recalibrate(const std::string& site, SiteState& state, int64_t now_ms);
  // Sets the site's quality baseline from its captures since `since_ms`; notes it in `action`.
  void Rebaseline(const std::string& site, int64_t since_ms, nlohmann::json& action);
  nlohmann::json Action(const std::string& site, const std::string& kind, const std::string& why,
                        int64_t now_ms) const;
  void Record(nlohmann::json action);

  const std::string name_;
  const bool loop_;
  const SimulationOptions& options_;
  const Stream& stream_;
  // Declared in the order they depend on one another: destroyed in reverse, the follower and the
  // predictor go before the alert dispatcher, metrics and store they use.
  std::unique_ptr<Store> store_;
  std::unique_ptr<ServerMetrics> metrics_;
  std::unique_ptr<AlertDispatcher> alerts_;
  std::unique_ptr<Predictor> predictor_;
  std::unique_ptr<RegistryFollower> follower_;
  std::vector<Outcome> outcomes_;
  std::map<int64_t, size_t> image_of_capture_;
  std::mt19937_64 reviewer_rng_;
  int64_t tasks_answered_ = 0;        // answers given, second ones included
  int64_t tasks_first_answered_ = 0;  // tasks given their first answer
  int64_t first_answers_wrong_ = 0;
  std::map<std::string, SiteState> sites_;  // the loop's bookkeeping
  nlohmann::json actions_ = nlohmann::json::array();
};

}  // namespace steadyeye::sim
