// The embedded store's model registry. See store/model_registry.h.
#include "sqlite_store.h"
#include "steadyeye/core/file.h"
#include "steadyeye/core/name.h"

namespace steadyeye::internal {

namespace {

constexpr size_t kMaxBundleBytes = size_t(4) << 30;
constexpr const char* kModelColumns = "id, parent, registered_ms, registered_by, reason, card";

AliasChange ReadChange(const Statement& s) {
  AliasChange c;
  c.id = s.Int(0);
  c.alias = s.Text(1);
  c.model_id = s.Text(2);
  c.previous = s.Text(3);
  c.at_ms = s.Int(4);
  c.by = s.Text(5);
  c.reason = s.Text(6);
  return c;
}

constexpr const char* kChangeColumns = "id, alias, model_id, previous, at_ms, by_whom, reason";

}  // namespace

std::filesystem::path SqliteStore::ModelPath(const std::string& id) const {
  return dir_ / "models" / (id + ".seye");
}

StatusOr<ModelRecord> SqliteStore::ReadModel(const Statement& s) const {
  ModelRecord m;
  m.id = s.Text(0);
  m.parent = s.Text(1);
  m.registered_ms = s.Int(2);
  m.registered_by = s.Text(3);
  m.reason = s.Text(4);
  m.card = nlohmann::json::parse(s.Text(5), nullptr, false);
  if (m.card.is_discarded())
    return DataLossError("the stored card of model " + m.id + " is damaged");
  m.file = ModelPath(m.id);
  return m;
}

StatusOr<ModelRecord> SqliteStore::RegisterModel(const std::filesystem::path& bundle,
                                                 const std::string& id, const nlohmann::json& card,
                                                 const std::string& by, const std::string& reason,
                                                 int64_t now_ms) {
  if (Status st = ValidateName(id, "model version"); !st.ok()) return st;
  if (!card.is_object()) return InvalidArgumentError("a model card is a JSON object");
  if (auto existing = GetModel(id); existing.ok() && existing->id == id) return existing;
  SEYE_ASSIGN_OR_RETURN(const auto bytes, ReadFileBytes(bundle, kMaxBundleBytes));
  std::error_code ec;
  std::filesystem::create_directories(dir_ / "models", ec);
  if (ec)
    return FailedPreconditionError("cannot create " + (dir_ / "models").string() + ": " +
                                   ec.message());
  // The file first: a row never names a bundle that is not there.
  SEYE_RETURN_IF_ERROR(WriteFileAtomic(ModelPath(id), bytes, Durability::kPowerLoss));
  const std::string parent = card.value("parent_id", std::string());
  {
    std::lock_guard lock(write_mu_);
    SEYE_ASSIGN_OR_RETURN(
        Statement s, writer_->Prepare("INSERT OR IGNORE INTO models (id, parent, registered_ms, "
                                      "registered_by, reason, card) VALUES (?,?,?,?,?,?)"));
    SEYE_RETURN_IF_ERROR(s.Bind(1, id)
                             .Bind(2, parent)
                             .Bind(3, now_ms)
                             .Bind(4, by)
                             .Bind(5, reason)
                             .Bind(6, card.dump())
                             .Run());
  }
  return GetModel(id);
}

StatusOr<ModelRecord> SqliteStore::GetModel(const std::string& id_or_prefix) const {
  if (id_or_prefix.size() < 4)
    return InvalidArgumentError("give at least 4 characters of a model id");
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(Statement s,
                        reader_->Prepare(std::string("SELECT ") + kModelColumns +
                                         " FROM models WHERE substr(id, 1, length(?1)) = ?1 "
                                         "ORDER BY id LIMIT 3"));
  s.Bind(1, id_or_prefix);
  std::vector<ModelRecord> found;
  while (true) {
    SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) break;
    SEYE_ASSIGN_OR_RETURN(ModelRecord m, ReadModel(s));
    if (m.id == id_or_prefix) return m;
    found.push_back(std::move(m));
  }
  if (found.empty()) return NotFoundError("no registered model " + id_or_prefix);
  if (found.size() > 1) {
    std::string names;
    for (const auto& m : found) names += (names.empty() ? "" : ", ") + m.id;
    return InvalidArgumentError("model id prefix " + id_or_prefix + " is ambiguous: " + names +
                                (found.size() == 3 ? ", ..." : ""));
  }
  return found[0];
}

StatusOr<std::vector<ModelRecord>> SqliteStore::ListModels() const {
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(Statement s, reader_->Prepare(std::string("SELECT ") + kModelColumns +
                                                      " FROM models ORDER BY rowid"));
  std::vector<ModelRecord> out;
  while (true) {
    SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) break;
    SEYE_ASSIGN_OR_RETURN(ModelRecord m, ReadModel(s));
    out.push_back(std::move(m));
  }
  return out;
}

Status SqliteStore::WriteAliasMove(AliasChange& change, bool rollback) {
  SEYE_ASSIGN_OR_RETURN(Statement current,
                        writer_->Prepare("SELECT model_id FROM model_aliases WHERE alias = ?"));
  current.Bind(1, change.alias);
  SEYE_ASSIGN_OR_RETURN(const bool had, current.Step());
  change.previous = had ? current.Text(0) : "";
  if (change.model_id.empty()) {
    SEYE_ASSIGN_OR_RETURN(Statement del,
                          writer_->Prepare("DELETE FROM model_aliases WHERE alias = ?"));
    SEYE_RETURN_IF_ERROR(del.Bind(1, change.alias).Run());
  } else {
    SEYE_ASSIGN_OR_RETURN(Statement set,
                          writer_->Prepare("INSERT OR REPLACE INTO model_aliases (alias, "
                                           "model_id, updated_ms) VALUES (?,?,?)"));
    SEYE_RETURN_IF_ERROR(
        set.Bind(1, change.alias).Bind(2, change.model_id).Bind(3, change.at_ms).Run());
  }
  SEYE_ASSIGN_OR_RETURN(Statement log,
                        writer_->Prepare("INSERT INTO alias_changes (alias, model_id, previous, "
                                         "at_ms, by_whom, reason, rollback) VALUES "
                                         "(?,?,?,?,?,?,?)"));
  SEYE_RETURN_IF_ERROR(log.Bind(1, change.alias)
                           .Bind(2, change.model_id)
                           .Bind(3, change.previous)
                           .Bind(4, change.at_ms)
                           .Bind(5, change.by)
                           .Bind(6, change.reason)
                           .Bind(7, int64_t(rollback ? 1 : 0))
                           .Run());
  change.id = sqlite3_last_insert_rowid(writer_->handle());
  return Status::Ok();
}

StatusOr<AliasChange> SqliteStore::MoveAlias(const std::string& alias, const std::string& model_id,
                                             const std::string& by, const std::string& reason,
                                             int64_t now_ms, bool rollback) {
  AliasChange change;
  change.alias = alias;
  change.model_id = model_id;
  change.at_ms = now_ms;
  change.by = by;
  change.reason = reason;
  SEYE_RETURN_IF_ERROR(
      InTransaction(*writer_, [&]() -> Status { return WriteAliasMove(change, rollback); }));
  return change;
}

StatusOr<AliasChange> SqliteStore::SetAlias(const std::string& alias, const std::string& model_id,
                                            const std::string& by, const std::string& reason,
                                            int64_t now_ms) {
  SEYE_RETURN_IF_ERROR(ValidateAlias(alias));
  SEYE_ASSIGN_OR_RETURN(const ModelRecord model, GetModel(model_id));
  std::lock_guard lock(write_mu_);
  return MoveAlias(alias, model.id, by, reason, now_ms, false);
}

StatusOr<AliasChange> SqliteStore::RemoveAlias(const std::string& alias, const std::string& by,
                                               const std::string& reason, int64_t now_ms) {
  SEYE_RETURN_IF_ERROR(ValidateAlias(alias));
  if (alias == kChampionAlias)
    return InvalidArgumentError("the champion cannot be removed, only moved or rolled back");
  SEYE_ASSIGN_OR_RETURN(const auto aliases, Aliases());
  if (!aliases.count(alias)) return NotFoundError("alias " + alias + " is not set");
  std::lock_guard lock(write_mu_);
  return MoveAlias(alias, "", by, reason, now_ms, false);
}

StatusOr<AliasChange> SqliteStore::RollbackAlias(const std::string& alias, const std::string& by,
                                                 int64_t now_ms) {
  SEYE_RETURN_IF_ERROR(ValidateAlias(alias));
  std::lock_guard lock(write_mu_);
  SEYE_ASSIGN_OR_RETURN(const std::optional<std::string> target, RollbackTarget(alias));
  if (!target)
    return FailedPreconditionError("alias " + alias + " has no earlier model to roll back to");
  if (target->empty() && alias == kChampionAlias)
    return FailedPreconditionError("the champion has no earlier model to roll back to");
  return MoveAlias(alias, *target, by, "rollback", now_ms, true);
}

StatusOr<std::optional<std::string>> SqliteStore::RollbackTarget(const std::string& alias) {
  // Each rollback cancels the latest forward move not yet cancelled, so rolling back twice
  // goes two models back (not back and forth).
  SEYE_ASSIGN_OR_RETURN(Statement s,
                        writer_->Prepare("SELECT previous, rollback FROM alias_changes WHERE "
                                         "alias = ? ORDER BY id DESC"));
  s.Bind(1, alias);
  int64_t cancelled = 0;
  while (true) {
    SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) return std::optional<std::string>();
    if (s.Int(1)) {
      ++cancelled;
    } else if (cancelled > 0) {
      --cancelled;
    } else {
      return std::optional<std::string>(s.Text(0));
    }
  }
}

StatusOr<std::map<std::string, std::string>> SqliteStore::Aliases() const {
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(Statement s, reader_->Prepare("SELECT alias, model_id FROM model_aliases"));
  std::map<std::string, std::string> out;
  while (true) {
    SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) break;
    out[s.Text(0)] = s.Text(1);
  }
  return out;
}

StatusOr<std::vector<AliasChange>> SqliteStore::AliasHistory(const std::string& alias,
                                                             size_t limit) const {
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(Statement s,
                        reader_->Prepare(std::string("SELECT ") + kChangeColumns +
                                         " FROM alias_changes WHERE ?1 = '' OR alias = ?1 "
                                         "ORDER BY id DESC LIMIT ?2"));
  s.Bind(1, alias).Bind(2, int64_t(limit));
  std::vector<AliasChange> out;
  while (true) {
    SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) break;
    out.push_back(ReadChange(s));
  }
  return out;
}

StatusOr<GateRecord> SqliteStore::RecordGateDecision(GateRecord record) {
  SEYE_RETURN_IF_ERROR(ValidateAlias(record.alias));
  SEYE_ASSIGN_OR_RETURN(const ModelRecord challenger, GetModel(record.challenger));
  record.challenger = challenger.id;
  std::lock_guard lock(write_mu_);
  SEYE_RETURN_IF_ERROR(InTransaction(*writer_, [&]() -> Status {
    SEYE_ASSIGN_OR_RETURN(Statement s,
                          writer_->Prepare("INSERT INTO gate_decisions (at_ms, alias, challenger, "
                                           "incumbent, promoted, by_whom, evidence) VALUES "
                                           "(?,?,?,?,?,?,?)"));
    SEYE_RETURN_IF_ERROR(s.Bind(1, record.at_ms)
                             .Bind(2, record.alias)
                             .Bind(3, record.challenger)
                             .Bind(4, record.incumbent)
                             .Bind(5, int64_t(record.promoted ? 1 : 0))
                             .Bind(6, record.by)
                             .Bind(7, record.evidence.dump())
                             .Run());
    record.id = sqlite3_last_insert_rowid(writer_->handle());
    if (!record.promoted) return Status::Ok();
    AliasChange change;
    change.alias = record.alias;
    change.model_id = record.challenger;
    change.at_ms = record.at_ms;
    change.by = record.by;
    change.reason = "gate decision " + std::to_string(record.id);
    return WriteAliasMove(change, false);
  }));
  return record;
}

StatusOr<std::vector<GateRecord>> SqliteStore::GateDecisions(const std::string& alias,
                                                             size_t limit) const {
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(
      Statement s,
      reader_->Prepare("SELECT id, at_ms, alias, challenger, incumbent, promoted, by_whom, "
                       "evidence FROM gate_decisions WHERE ?1 = '' OR alias = ?1 "
                       "ORDER BY id DESC LIMIT ?2"));
  s.Bind(1, alias).Bind(2, int64_t(limit));
  std::vector<GateRecord> out;
  while (true) {
    SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) break;
    GateRecord g;
    g.id = s.Int(0);
    g.at_ms = s.Int(1);
    g.alias = s.Text(2);
    g.challenger = s.Text(3);
    g.incumbent = s.Text(4);
    g.promoted = s.Int(5) != 0;
    g.by = s.Text(6);
    g.evidence = nlohmann::json::parse(s.Text(7), nullptr, false);
    if (g.evidence.is_discarded())
      return DataLossError("the evidence of gate decision " + std::to_string(g.id) + " is damaged");
    out.push_back(std::move(g));
  }
  return out;
}

Status SqliteStore::AddShadowTallies(
    const std::map<std::string, std::map<std::string, ShadowTally>>& by_model) {
  std::lock_guard lock(write_mu_);
  return InTransaction(*writer_, [&]() -> Status {
    SEYE_ASSIGN_OR_RETURN(
        Statement add,
        writer_->Prepare(
            "INSERT INTO shadow_tallies (model_id, site, images, agreed, challenger_confident, "
            "serving_confident, both_confident, both_confident_disagreed, first_ms, last_ms) "
            "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) ON CONFLICT (model_id, site) DO UPDATE SET "
            "images = images + ?3, agreed = agreed + ?4, "
            "challenger_confident = challenger_confident + ?5, "
            "serving_confident = serving_confident + ?6, both_confident = both_confident + ?7, "
            "both_confident_disagreed = both_confident_disagreed + ?8, "
            "first_ms = MIN(first_ms, ?9), last_ms = MAX(last_ms, ?10)"));
    SEYE_ASSIGN_OR_RETURN(Statement known, writer_->Prepare("SELECT 1 FROM models WHERE id = ?"));
    for (const auto& [model_id, sites] : by_model) {
      known.Reset();
      known.Bind(1, model_id);
      SEYE_ASSIGN_OR_RETURN(const bool registered, known.Step());
      if (!registered) return NotFoundError("no registered model " + model_id);
      for (const auto& [site, t] : sites) {
        if (t.images == 0) continue;
        add.Reset();
        SEYE_RETURN_IF_ERROR(add.Bind(1, model_id)
                                 .Bind(2, site)
                                 .Bind(3, t.images)
                                 .Bind(4, t.agreed)
                                 .Bind(5, t.challenger_confident)
                                 .Bind(6, t.serving_confident)
                                 .Bind(7, t.both_confident)
                                 .Bind(8, t.both_confident_disagreed)
                                 .Bind(9, t.first_ms)
                                 .Bind(10, t.last_ms)
                                 .Run());
      }
    }
    return Status::Ok();
  });
}

StatusOr<std::map<std::string, ShadowTally>> SqliteStore::ShadowTallies(
    const std::string& model_id) const {
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(
      Statement s,
      reader_->Prepare("SELECT site, images, agreed, challenger_confident, serving_confident, "
                       "both_confident, both_confident_disagreed, first_ms, last_ms FROM "
                       "shadow_tallies WHERE model_id = ?"));
  s.Bind(1, model_id);
  std::map<std::string, ShadowTally> out;
  while (true) {
    SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) break;
    ShadowTally& t = out[s.Text(0)];
    t.images = s.Int(1);
    t.agreed = s.Int(2);
    t.challenger_confident = s.Int(3);
    t.serving_confident = s.Int(4);
    t.both_confident = s.Int(5);
    t.both_confident_disagreed = s.Int(6);
    t.first_ms = s.Int(7);
    t.last_ms = s.Int(8);
  }
  return out;
}

}  // namespace steadyeye::internal
