// The model registry: every model a deployment has served or may serve, with its lineage, and
// the aliases that say which model serves where.
//
// A model is registered once, by its version (ModelCard::Version: the weights' hash, plus a
// digest of its calibration and quality baseline when it has them): its
// bundle is copied into the store (<store>/models/<id>.seye) so that the registry never points
// at a file someone may move, and its card (parent, data with fingerprints, hyper-parameters,
// metrics, calibration) is kept with who or what registered it and why.
//
// Aliases name one model each and can move:
//   "champion"             the model every site gets unless it has its own;
//   "site:<site>"          a site's own model (a per-site override of the champion);
//   "challenger"           a candidate for the champion, scored in the shadow;
//   "challenger:<site>"    a candidate for one site.
// Every move of an alias is recorded (who, when, why, from which model), so that rollback is one
// step: the alias goes back to the model it named before its last move not yet rolled back.
//
// Thread-safety: as the store (every method may be called from any thread). Durable when a
// method returns OK.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"

namespace steadyeye {

inline constexpr const char* kChampionAlias = "champion";
inline constexpr const char* kChallengerAlias = "challenger";

// "site:<site>" / "challenger:<site>".
std::string SiteAlias(const std::string& site);
std::string SiteChallengerAlias(const std::string& site);
// OK for the alias forms above (site names as core/name.h allows); InvalidArgument naming them
// otherwise.
Status ValidateAlias(const std::string& alias);

struct ModelRecord {
  std::string id;      // the version (ModelCard::Version)
  std::string parent;  // the card's parent id; empty for a model trained from scratch
  int64_t registered_ms = 0;
  std::string registered_by;   // a person ("cli:<user>") or the loop ("drift-alert:12", ...)
  std::string reason;          // why it was made or registered, in words
  nlohmann::json card;         // the whole model card: data, hyper-parameters, metrics, ...
  std::filesystem::path file;  // the bundle inside the store
  nlohmann::json ToJson() const;
};

struct AliasChange {
  int64_t id = 0;  // increasing
  std::string alias;
  std::string model_id;  // empty: the alias was removed
  std::string previous;  // empty: the alias was new
  int64_t at_ms = 0;
  std::string by, reason;
  nlohmann::json ToJson() const;
};

// One decision of the promotion gate (registry/gate.h), with its evidence.
struct GateRecord {
  int64_t id = 0;  // assigned by the store, increasing
  int64_t at_ms = 0;
  std::string alias;  // what the challenger would replace: "champion" or "site:<site>"
  std::string challenger, incumbent;
  bool promoted = false;
  std::string by;
  nlohmann::json evidence;  // the comparisons and refusals
  nlohmann::json ToJson() const;
};

// Live images a challenger classified in the shadow at one site (server/predictor.h): the same
// images the serving model decided, its answers only counted, never acted on. "Confident" is a
// model's calibrated confidence at or above its own certified threshold (what it would decide
// automatically, before the quality gate and drift monitoring have their say).
struct ShadowTally {
  int64_t images = 0;
  int64_t agreed = 0;                // same label as the serving model
  int64_t challenger_confident = 0;  // the challenger would have decided automatically
  int64_t serving_confident = 0;     // the serving model did (by confidence)
  int64_t both_confident = 0;
  int64_t both_confident_disagreed = 0;  // both sure, different labels: one of them is wrong
  int64_t first_ms = 0, last_ms = 0;     // capture times of the first and last image (0: none)

  void Add(const ShadowTally& other);
  nlohmann::json ToJson() const;  // the counts, their shares and the times
};

class ModelRegistry {
 public:
  virtual ~ModelRegistry() = default;

  // Registers the bundle at `bundle`, of version `version` and card `card` (the caller has
  // loaded and validated it; its "parent_id" is read). Registering a version again returns the
  // record made the first time. InvalidArgument for a version that is not a name (core/name.h);
  // the copy's I/O error otherwise.
  virtual StatusOr<ModelRecord> RegisterModel(const std::filesystem::path& bundle,
                                              const std::string& version,
                                              const nlohmann::json& card, const std::string& by,
                                              const std::string& reason, int64_t now_ms) = 0;
  // By id or a unique prefix of one (at least 4 characters). NotFound; InvalidArgument for an
  // ambiguous prefix, naming the matches.
  virtual StatusOr<ModelRecord> GetModel(const std::string& id_or_prefix) const = 0;
  // Oldest first.
  virtual StatusOr<std::vector<ModelRecord>> ListModels() const = 0;

  // Points `alias` at a registered model (NotFound otherwise) and records the move.
  virtual StatusOr<AliasChange> SetAlias(const std::string& alias, const std::string& model_id,
                                         const std::string& by, const std::string& reason,
                                         int64_t now_ms) = 0;
  // Removes a site's override or a challenger (the champion cannot be removed: it can only
  // move). NotFound when the alias is not set.
  virtual StatusOr<AliasChange> RemoveAlias(const std::string& alias, const std::string& by,
                                            const std::string& reason, int64_t now_ms) = 0;
  // Moves `alias` back to the model it named before its last move (removing it if it was new).
  // FailedPrecondition when it has no earlier model.
  virtual StatusOr<AliasChange> RollbackAlias(const std::string& alias, const std::string& by,
                                              int64_t now_ms) = 0;
  // alias -> model id.
  virtual StatusOr<std::map<std::string, std::string>> Aliases() const = 0;
  // Moves, newest first; of one alias or (empty) all.
  virtual StatusOr<std::vector<AliasChange>> AliasHistory(const std::string& alias,
                                                          size_t limit) const = 0;

  // Logs a gate decision and fills in its id; when it promotes, moves `record.alias` to the
  // challenger in the same transaction (reason "gate decision <id>"), so that no promotion
  // lacks its evidence. NotFound for an unregistered challenger.
  virtual StatusOr<GateRecord> RecordGateDecision(GateRecord record) = 0;
  // Decisions, newest first; of one alias or (empty) all.
  virtual StatusOr<std::vector<GateRecord>> GateDecisions(const std::string& alias,
                                                          size_t limit) const = 0;

  // Adds what a server scored in the shadow (model id -> site -> counts since its last call)
  // to the registry's running totals, in one transaction. NotFound for an unregistered model
  // (nothing is added then).
  virtual Status AddShadowTallies(
      const std::map<std::string, std::map<std::string, ShadowTally>>& by_model) = 0;
  // A model's shadow totals by site (empty when it was never scored in the shadow).
  virtual StatusOr<std::map<std::string, ShadowTally>> ShadowTallies(
      const std::string& model_id) const = 0;
};

// The model that serves `site`: its override, else the champion; nullopt when neither is set.
std::optional<std::string> ModelForSite(const std::map<std::string, std::string>& aliases,
                                        const std::string& site);

// What `model_id` scored in the shadow at `site` (all zero when nothing).
StatusOr<ShadowTally> ShadowTallyAt(const ModelRegistry& registry, const std::string& model_id,
                                    const std::string& site);
// Whether the gate has logged a decision on `model_id` for `alias` ("champion" or
// "site:<site>").
StatusOr<bool> WasJudged(const ModelRegistry& registry, const std::string& alias,
                         const std::string& model_id);

}  // namespace steadyeye
