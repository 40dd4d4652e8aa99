// The embedded store: SQLite (WAL) for metadata, content-addressed files for images. One class
// behind five interfaces (captures, review queue, tokens, alerts, models), one file per
// interface: sqlite_capture_store.cc, sqlite_review_queue.cc, sqlite_token_store.cc,
// sqlite_alert_store.cc, sqlite_model_registry.cc. Private to src/store.
//
// Locking: writes go through `writer_` under `write_mu_`; reads through `reader_` under
// `read_mu_` (WAL lets them run beside a write). Never take read_mu_ while holding write_mu_ in
// the other order: only write_mu_ -> (nothing) and read_mu_ -> (nothing) are used.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "sqlite.h"
#include "steadyeye/store/store.h"

namespace steadyeye::internal {

// Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back on error.
template <typename Body>
Status InTransaction(Database& db, Body&& body) {
  SEYE_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  Status st = body();
  if (st.ok()) st = db.Exec("COMMIT");
  if (!st.ok()) (void)db.Exec("ROLLBACK");
  return st;
}

class SqliteStore final : public Store {
 public:
  SqliteStore(std::filesystem::path dir, StoreOptions options);
  ~SqliteStore() override;

  Status Open();

  // CaptureStore (sqlite_capture_store.cc)
  Status Insert(std::span<NewCapture> captures) override;
  StatusOr<Capture> Get(int64_t id) const override;
  StatusOr<std::vector<uint8_t>> GetImage(int64_t id) const override;
  StatusOr<std::vector<Capture>> List(const CaptureQuery& query) const override;
  Status SetReviewedLabel(int64_t id, const std::string& label,
                          const std::string& reviewer) override;
  StatusOr<RetentionReport> ApplyRetention(const RetentionPolicy& policy, int64_t now_ms) override;
  StatusOr<StoreStats> Stats() const override;

  // ReviewQueue (sqlite_review_queue.cc)
  StatusOr<std::optional<ReviewTask>> NextTask(const std::string& reviewer, int64_t now_ms,
                                               int64_t lease_ms, int64_t besides_task) override;
  StatusOr<ReviewAnswer> Answer(int64_t task_id, const std::string& reviewer,
                                const std::string& answer, int64_t now_ms) override;
  StatusOr<ReviewTask> Undo(int64_t task_id, const std::string& reviewer, int64_t now_ms,
                            int64_t lease_ms) override;
  StatusOr<ReviewTask> GetTask(int64_t task_id) const override;
  StatusOr<std::vector<ReviewAnswer>> AnswersFor(int64_t capture_id) const override;
  StatusOr<ReviewStats> QueueStats(const std::string& reviewer) const override;
  Status SetSiteWeight(const std::string& site, double weight) override;
  StatusOr<std::vector<ReviewRecord>> ReviewRecords(const std::optional<std::string>& site,
                                                    std::optional<int64_t> since_ms,
                                                    std::optional<int64_t> until_ms) const override;

  // TokenStore (sqlite_token_store.cc)
  StatusOr<NewToken> CreateToken(const std::string& name, Role role, int64_t now_ms) override;
  StatusOr<TokenInfo> Authenticate(const std::string& token) const override;
  StatusOr<std::vector<TokenInfo>> ListTokens() const override;
  Status RevokeToken(int64_t id) override;
  StatusOr<int64_t> ActiveTokenCount() const override;

  // AlertStore (sqlite_alert_store.cc)
  Status SaveAlert(const nlohmann::json& alert) override;
  StatusOr<std::vector<nlohmann::json>> ListAlerts(const AlertQuery& query) const override;
  StatusOr<int64_t> MaxAlertId() const override;

  // ModelRegistry (sqlite_model_registry.cc)
  StatusOr<ModelRecord> RegisterModel(const std::filesystem::path& bundle,
                                      const std::string& version, const nlohmann::json& card,
                                      const std::string& by, const std::string& reason,
                                      int64_t now_ms) override;
  StatusOr<ModelRecord> GetModel(const std::string& id_or_prefix) const override;
  StatusOr<std::vector<ModelRecord>> ListModels() const override;
  StatusOr<AliasChange> SetAlias(const std::string& alias, const std::string& model_id,
                                 const std::string& by, const std::string& reason,
                                 int64_t now_ms) override;
  StatusOr<AliasChange> RemoveAlias(const std::string& alias, const std::string& by,
                                    const std::string& reason, int64_t now_ms) override;
  StatusOr<AliasChange> RollbackAlias(const std::string& alias, const std::string& by,
                                      int64_t now_ms) override;
  StatusOr<std::map<std::string, std::string>> Aliases() const override;
  StatusOr<GateRecord> RecordGateDecision(GateRecord record) override;
  StatusOr<std::vector<GateRecord>> GateDecisions(const std::string& alias,
                                                  size_t limit) const override;
  StatusOr<std::vector<AliasChange>> AliasHistory(const std::string& alias,
                                                  size_t limit) const override;
  Status AddShadowTallies(
      const std::map<std::string, std::map<std::string, ShadowTally>>& by_model) override;
  StatusOr<std::map<std::string, ShadowTally>> ShadowTallies(
      const std::string& model_id) const override;

 private:
  // The schema version found (0 for a new database); FailedPrecondition for a newer one.
  static StatusOr<int64_t> CheckSchema(Database& db);
  std::filesystem::path ImagePath(const std::string& sha) const;
  Status WriteImage(const std::string& sha, std::span<const uint8_t> bytes);
  StatusOr<int64_t> ImageBytesOnDisk();
  Status RemoveWhere(const std::string& where, const std::string& order,
                     std::optional<int64_t> bytes_to_free, RetentionReport& report);
  void CheckpointLoop(Database& db);

  // Registry helpers; MoveAlias and RollbackTarget need write_mu_ held, WriteAliasMove also an
  // open transaction.
  std::filesystem::path ModelPath(const std::string& id) const;
  StatusOr<ModelRecord> ReadModel(const Statement& s) const;
  StatusOr<AliasChange> MoveAlias(const std::string& alias, const std::string& model_id,
                                  const std::string& by, const std::string& reason, int64_t now_ms,
                                  bool rollback);
  Status WriteAliasMove(AliasChange& change, bool rollback);
  // The model a rollback of `alias` goes back to ("" = unset); nullopt when there is none.
  StatusOr<std::optional<std::string>> RollbackTarget(const std::string& alias);

  // Review queue helpers; callers hold write_mu_ (inside a transaction where they write).
  Status AddTask(const Capture& capture);
  StatusOr<ReviewTask> ReadTask(Database& db, int64_t task_id) const;
  Status RelabelCapture(int64_t capture_id);
  // After an answer comes or goes: sets the task's escalation and whether it is done
  // (review/review_queue.h AnswersNeeded).
  Status SettleTask(const ReviewTask& task);

  const std::filesystem::path dir_;
  const StoreOptions options_;
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool stopping_ = false;
  std::thread checkpointer_;
  mutable std::mutex write_mu_;
  mutable std::mutex read_mu_;
  std::unique_ptr<Database> writer_;
  std::unique_ptr<Database> reader_;
  Statement insert_capture_;
  Statement add_image_ref_;
  Statement insert_task_;
  std::map<std::string, double> site_weights_;  // as in site_weights; under write_mu_
  mutable Statement get_capture_;
};

}  // namespace steadyeye::internal
