// Keeps a running server on the models the registry names: the champion for every site, a
// site's own model ("site:<site>") where it has one. `steadyeye models promote|assign|rollback`
// thus reaches a running server within one poll, without a restart; each switch is atomic
// (Predictor::SwitchModels). Challengers ("challenger", "challenger:<site>") are scored in the
// shadow where they do not already serve, and each poll adds what they scored to the registry
// (ModelRegistry::ShadowTallies), where the promotion gate reads it, until the gate has judged
// them.
//
// It can also follow a folder of site quality baselines (FollowBaselines), so that a baseline
// `steadyeye loop` re-takes after a promotion reaches the server as the promotion does.
//
// Thread-safety: SyncOnce() may be called from any thread; the follower's own thread calls it
// every `every` until destruction.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "steadyeye/core/status.h"
#include "steadyeye/model/classifier.h"
#include "steadyeye/server/predictor.h"
#include "steadyeye/store/model_registry.h"

namespace steadyeye {

class RegistryFollower {
 public:
  // `registry` and `predictor` must outlive the follower. `log` hears a line per switch and
  // per failure (a model that cannot be loaded leaves the served ones as they are).
  RegistryFollower(ModelRegistry& registry, Predictor& predictor,
                   std::function<void(const std::string&)> log);
  ~RegistryFollower();

  // Also follows the quality baselines in `dir` (<site>.json, as PUT /v1/sites/{site}/baseline
  // and `steadyeye loop` write them, atomically): a file that appears or changes after this call
  // replaces that site's baseline in the predictor at the next sync. Files present now count as
  // loaded: the server loads them at start, and its --baselines may override them. A file that
  // does not load is logged once and leaves the site's baseline as it was. Call before Start().
  void FollowBaselines(std::filesystem::path dir);
  // Starts polling every `every`.
  void Start(std::chrono::milliseconds every);
  // Saves the shadow scores gathered since the last call, reads the aliases and switches when
  // they name other models than those served or scored. Returns whether it switched.
  // FailedPrecondition when the registry has no champion.
  StatusOr<bool> SyncOnce();

 private:
  // The model of `version`: the predictor's own when it serves it already, else from the
  // registry's bundle.
  StatusOr<std::shared_ptr<const Classifier>> Load(const std::string& version);
  Status FlushShadowTallies();
  // Leaves out of `shadows` (site -> challenger) every challenger the gate has judged for that
  // site (or, for "", for the champion): its decision is made, scoring it further costs only.
  Status DropJudged(std::map<std::string, std::string>& shadows);
  // Reads every baseline file; `apply` sets those whose content changed since the last read.
  void ReadBaselines(bool apply);

  ModelRegistry& registry_;
  Predictor& predictor_;
  std::function<void(const std::string&)> log_;
  std::mutex mu_;                        // one sync at a time; guards the baseline fields
  std::filesystem::path baselines_dir_;  // empty: not followed
  std::map<std::string, std::string> baseline_text_;  // site -> its file's content last read
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace steadyeye
