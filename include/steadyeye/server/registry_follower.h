// Keeps a running server on the models the registry names: the champion for every site, a
// site's own model ("site:<site>") where it has one. `steadyeye models promote|assign|rollback`
// thus reaches a running server within one poll, without a restart; each switch is atomic
// (Predictor::SwitchModels).
//
// Thread-safety: SyncOnce() may be called from any thread; the follower's own thread calls it
// every `every` until destruction.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
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

  // Starts polling every `every`.
  void Start(std::chrono::milliseconds every);
  // Reads the aliases and switches when they name other models than those served. Returns
  // whether it switched. FailedPrecondition when the registry has no champion.
  StatusOr<bool> SyncOnce();

 private:
  // The model of `version`: the predictor's own when it serves it already, else from the
  // registry's bundle.
  StatusOr<std::shared_ptr<const Classifier>> Load(const std::string& version);

  ModelRegistry& registry_;
  Predictor& predictor_;
  std::function<void(const std::string&)> log_;
  std::mutex mu_;  // one sync at a time
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace steadyeye
