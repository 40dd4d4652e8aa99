// The embedded store's review queue: tasks, leases, answers. See review/review_queue.h.
#include <cmath>

#include "sqlite_store.h"
#include "steadyeye/core/hash.h"
#include "steadyeye/core/time.h"

namespace steadyeye::internal {

namespace {

constexpr const char* kTaskColumns =
    "id, capture_id, kind, site, created_ms, answers_needed, answers_done, leased_to, "
    "lease_until_ms, done, escalated";

ReviewTask ReadTaskRow(const Statement& s) {
  ReviewTask t;
  t.id = s.Int(0);
  t.capture_id = s.Int(1);
  t.kind = s.Int(2) == 1   ? TaskKind::kQuality
           : s.Int(2) == 2 ? TaskKind::kAudit
                           : TaskKind::kReview;
  t.site = s.Text(3);
  t.created_ms = s.Int(4);
  t.answers_needed = int(s.Int(5));
  t.answers_done = int(s.Int(6));
  t.leased_to = s.Text(7);
  t.lease_until_ms = s.Int(8);
  t.done = s.Int(9) != 0;
  t.escalated = int(s.Int(10));
  return t;
}

// A uniform number in [0, 1) from the capture id: the same store gives the same tasks their
// double review and audit keys on every run.
double UnitHash(int64_t id, uint64_t seed, uint64_t salt) {
  return UnitInterval(SplitMix64Finalize(uint64_t(id) + seed * 0x9E3779B97F4A7C15ull + salt));
}

StatusOr<std::optional<int64_t>> FirstId(Statement& s) {
  SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
  std::optional<int64_t> id;
  if (row) id = s.Int(0);
  s.Reset();
  return id;
}

}  // namespace

Status SqliteStore::AddTask(const Capture& c) {
  const bool audit = c.kept_because == KeptBecause::kAudit;
  const double uncertainty = audit ? UnitHash(c.id, options_.seed, 1) : 1 - c.confidence;
  const int needed = UnitHash(c.id, options_.seed, 2) < options_.double_review_share ? 2 : 1;
  insert_task_.Bind(1, c.id)
      .Bind(2, int64_t(c.kept_because))
      .Bind(3, c.site)
      .Bind(4, uncertainty)
      .Bind(5, c.received_ms)
      .Bind(6, int64_t(needed));
  const auto weight = site_weights_.find(c.site);
  insert_task_.Bind(7, weight == site_weights_.end() ? 1.0 : weight->second);
  return insert_task_.Run();
}

StatusOr<ReviewTask> SqliteStore::ReadTask(Database& db, int64_t task_id) const {
  SEYE_ASSIGN_OR_RETURN(Statement s, db.Prepare(std::string("SELECT ") + kTaskColumns +
                                                " FROM review_tasks WHERE id = ?"));
  s.Bind(1, task_id);
  SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
  if (!row) return NotFoundError("no review task with id " + std::to_string(task_id));
  return ReadTaskRow(s);
}

Status SqliteStore::RelabelCapture(int64_t capture_id) {
  // The answer given most often, the earliest of those tied; named by its first reviewer.
  SEYE_ASSIGN_OR_RETURN(
      Statement first,
      writer_->Prepare("SELECT answer, reviewer, answered_ms FROM review_answers a WHERE "
                       "capture_id = ?1 AND undone = 0 AND answer != 'skip' ORDER BY (SELECT "
                       "COUNT(*) FROM review_answers b WHERE b.capture_id = ?1 AND b.undone = 0 "
                       "AND b.answer = a.answer) DESC, id LIMIT 1"));
  first.Bind(1, capture_id);
  SEYE_ASSIGN_OR_RETURN(const bool row, first.Step());
  SEYE_ASSIGN_OR_RETURN(
      Statement update,
      writer_->Prepare(
          "UPDATE captures SET reviewed_label = ?, reviewer = ?, reviewed_ms = ? WHERE id = ?"));
  if (row) {
    update.Bind(1, first.Text(0)).Bind(2, first.Text(1)).Bind(3, first.Int(2));
  } else {
    update.BindNull(1).Bind(2, std::string_view("")).Bind(3, int64_t(0));
  }
  return update.Bind(4, capture_id).Run();
}

Status SqliteStore::SettleTask(const ReviewTask& task) {
  SEYE_ASSIGN_OR_RETURN(Statement given,
                        writer_->Prepare("SELECT answer FROM review_answers WHERE task_id = ? AND "
                                         "undone = 0 AND answer != 'skip' ORDER BY id"));
  given.Bind(1, task.id);
  std::vector<std::string> answers;
  while (true) {
    SEYE_ASSIGN_OR_RETURN(const bool row, given.Step());
    if (!row) break;
    answers.push_back(given.Text(0));
  }
  SEYE_ASSIGN_OR_RETURN(
      Statement model,
      writer_->Prepare("SELECT label_name, confidence FROM captures WHERE id = ?"));
  model.Bind(1, task.capture_id);
  SEYE_ASSIGN_OR_RETURN(const bool found, model.Step());
  if (!found)
    return InternalError("review task " + std::to_string(task.id) + " has no capture " +
                         std::to_string(task.capture_id));
  const int needed = AnswersNeeded(task.answers_needed, answers, model.Text(0), model.Real(1),
                                   options_.second_opinion_confidence);
  SEYE_ASSIGN_OR_RETURN(
      Statement update,
      writer_->Prepare("UPDATE review_tasks SET escalated = ?, done = ? WHERE id = ?"));
  return update.Bind(1, int64_t(std::max(0, needed - task.answers_needed)))
      .Bind(2, int64_t(answers.size() >= size_t(needed)))
      .Bind(3, task.id)
      .Run();
}

StatusOr<std::optional<ReviewTask>> SqliteStore::NextTask(const std::string& reviewer,
                                                          int64_t now_ms, int64_t lease_ms,
                                                          int64_t besides_task) {
  if (reviewer.empty()) return InvalidArgumentError("a reviewer needs a name");
  std::lock_guard lock(write_mu_);
  std::optional<ReviewTask> task;
  SEYE_RETURN_IF_ERROR(InTransaction(*writer_, [&]() -> Status {
    // The reviewer's own lease, if any (index review_tasks_leased).
    SEYE_ASSIGN_OR_RETURN(Statement held,
                          writer_->Prepare("SELECT id FROM review_tasks WHERE "
                                           "done = 0 AND leased_to = ? AND "
                                           "lease_until_ms > ? AND id != ? ORDER BY id LIMIT 1"));
    held.Bind(1, reviewer).Bind(2, now_ms).Bind(3, besides_task);
    SEYE_ASSIGN_OR_RETURN(std::optional<int64_t> id, FirstId(held));
    if (!id) {
      // Walks the open tasks in priority order (index review_tasks_next) and stops at the first
      // that is free and new to this reviewer.
      SEYE_ASSIGN_OR_RETURN(
          Statement next,
          writer_->Prepare(
              "SELECT t.id FROM review_tasks t "
              "WHERE t.done = 0 AND t.id != ?3 AND (t.leased_to = '' OR t.lease_until_ms <= ?1) "
              "AND NOT EXISTS "
              "(SELECT 1 FROM review_answers a WHERE a.task_id = t.id AND a.reviewer = ?2 AND "
              "a.undone = 0) ORDER BY t.weight DESC, t.urgency DESC, "
              "t.created_ms, t.id LIMIT 1"));
      next.Bind(1, now_ms).Bind(2, reviewer).Bind(3, besides_task);
      SEYE_ASSIGN_OR_RETURN(id, FirstId(next));
    }
    if (!id) return Status::Ok();
    SEYE_ASSIGN_OR_RETURN(
        Statement lease,
        writer_->Prepare("UPDATE review_tasks SET leased_to = ?, lease_until_ms = ? WHERE id = ?"));
    SEYE_RETURN_IF_ERROR(lease.Bind(1, reviewer).Bind(2, now_ms + lease_ms).Bind(3, *id).Run());
    SEYE_ASSIGN_OR_RETURN(task, ReadTask(*writer_, *id));
    return Status::Ok();
  }));
  return task;
}

StatusOr<ReviewAnswer> SqliteStore::Answer(int64_t task_id, const std::string& reviewer,
                                           const std::string& answer, int64_t now_ms) {
  if (reviewer.empty()) return InvalidArgumentError("a reviewer needs a name");
  if (answer.empty()) return InvalidArgumentError("an answer must not be empty");
  std::lock_guard lock(write_mu_);
  ReviewAnswer out;
  SEYE_RETURN_IF_ERROR(InTransaction(*writer_, [&]() -> Status {
    SEYE_ASSIGN_OR_RETURN(const ReviewTask task, ReadTask(*writer_, task_id));
    const std::string name = "task " + std::to_string(task_id);
    if (task.done) return FailedPreconditionError(name + " is already answered");
    if (!task.leased_to.empty() && task.leased_to != reviewer && task.lease_until_ms > now_ms) {
      return FailedPreconditionError(name + " is leased to another reviewer");
    }
    SEYE_ASSIGN_OR_RETURN(Statement mine,
                          writer_->Prepare("SELECT id FROM review_answers WHERE task_id = ? AND "
                                           "reviewer = ? AND undone = 0"));
    mine.Bind(1, task_id).Bind(2, reviewer);
    SEYE_ASSIGN_OR_RETURN(const std::optional<int64_t> before, FirstId(mine));
    if (before) return FailedPreconditionError("you already answered " + name);
    SEYE_ASSIGN_OR_RETURN(
        Statement insert,
        writer_->Prepare("INSERT INTO review_answers (task_id, capture_id, reviewer, answer, "
                         "answered_ms) VALUES (?,?,?,?,?)"));
    SEYE_RETURN_IF_ERROR(insert.Bind(1, task_id)
                             .Bind(2, task.capture_id)
                             .Bind(3, reviewer)
                             .Bind(4, answer)
                             .Bind(5, now_ms)
                             .Run());
    out = {sqlite3_last_insert_rowid(writer_->handle()),
           task_id,
           task.capture_id,
           reviewer,
           answer,
           now_ms};
    const bool counts = answer != kAnswerSkip;
    SEYE_ASSIGN_OR_RETURN(
        Statement update,
        writer_->Prepare("UPDATE review_tasks SET answers_done = answers_done + ?1, "
                         "leased_to = '', lease_until_ms = 0 WHERE id = ?2"));
    SEYE_RETURN_IF_ERROR(update.Bind(1, int64_t(counts)).Bind(2, task_id).Run());
    if (!counts) return Status::Ok();
    SEYE_RETURN_IF_ERROR(SettleTask(task));
    return RelabelCapture(task.capture_id);
  }));
  return out;
}

StatusOr<ReviewTask> SqliteStore::Undo(int64_t task_id, const std::string& reviewer, int64_t now_ms,
                                       int64_t lease_ms) {
  std::lock_guard lock(write_mu_);
  ReviewTask task;
  SEYE_RETURN_IF_ERROR(InTransaction(*writer_, [&]() -> Status {
    SEYE_ASSIGN_OR_RETURN(task, ReadTask(*writer_, task_id));
    SEYE_ASSIGN_OR_RETURN(Statement last,
                          writer_->Prepare("SELECT id, task_id, answer FROM review_answers WHERE "
                                           "reviewer = ? AND undone = 0 ORDER BY id DESC LIMIT 1"));
    last.Bind(1, reviewer);
    SEYE_ASSIGN_OR_RETURN(const bool row, last.Step());
    if (!row || last.Int(1) != task_id) {
      return FailedPreconditionError(
          "only your last answer can be undone, and it was not on task " + std::to_string(task_id));
    }
    const int64_t answer_id = last.Int(0);
    const bool counted = last.Text(2) != kAnswerSkip;
    SEYE_ASSIGN_OR_RETURN(Statement undo,
                          writer_->Prepare("UPDATE review_answers SET undone = 1 WHERE id = ?"));
    SEYE_RETURN_IF_ERROR(undo.Bind(1, answer_id).Run());
    // Back to the reviewer, unless someone else is working on it right now.
    const bool others =
        !task.leased_to.empty() && task.leased_to != reviewer && task.lease_until_ms > now_ms;
    SEYE_ASSIGN_OR_RETURN(
        Statement reopen,
        writer_->Prepare("UPDATE review_tasks SET answers_done = answers_done - ?1, done = 0, "
                         "leased_to = ?2, lease_until_ms = ?3 WHERE id = ?4"));
    reopen.Bind(1, int64_t(counted))
        .Bind(2, others ? task.leased_to : reviewer)
        .Bind(3, others ? task.lease_until_ms : now_ms + lease_ms)
        .Bind(4, task_id);
    SEYE_RETURN_IF_ERROR(reopen.Run());
    if (counted) {
      // An escalation the undone answer asked for goes with it.
      SEYE_RETURN_IF_ERROR(SettleTask(task));
      SEYE_RETURN_IF_ERROR(RelabelCapture(task.capture_id));
    }
    SEYE_ASSIGN_OR_RETURN(task, ReadTask(*writer_, task_id));
    return Status::Ok();
  }));
  return task;
}

StatusOr<ReviewTask> SqliteStore::GetTask(int64_t task_id) const {
  std::lock_guard lock(read_mu_);
  return ReadTask(*reader_, task_id);
}

StatusOr<std::vector<ReviewAnswer>> SqliteStore::AnswersFor(int64_t capture_id) const {
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(
      Statement s,
      reader_->Prepare("SELECT id, task_id, capture_id, reviewer, answer, answered_ms FROM "
                       "review_answers WHERE capture_id = ? AND undone = 0 ORDER BY id"));
  s.Bind(1, capture_id);
  std::vector<ReviewAnswer> out;
  while (true) {
    SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) break;
    out.push_back({s.Int(0), s.Int(1), s.Int(2), s.Text(3), s.Text(4), s.Int(5)});
  }
  return out;
}

StatusOr<ReviewStats> SqliteStore::QueueStats(const std::string& reviewer) const {
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(
      Statement s,
      reader_->Prepare(
          "SELECT (SELECT COUNT(*) FROM review_tasks WHERE done = 0), "
          "(SELECT COUNT(*) FROM review_tasks WHERE done = 0 AND leased_to != '' AND "
          "lease_until_ms > ?1), "
          "(SELECT COUNT(*) FROM review_tasks WHERE done = 0 AND kind = 2), "
          "(SELECT COUNT(*) FROM review_tasks WHERE done = 1), "
          "(SELECT COUNT(*) FROM review_answers WHERE undone = 0), "
          "(SELECT COUNT(*) FROM review_answers WHERE undone = 0 AND answer = 'skip'), "
          "(SELECT COUNT(*) FROM review_answers WHERE undone = 0 AND reviewer = ?2), "
          "(SELECT COUNT(*) FROM review_tasks WHERE escalated > 0), COUNT(*), COALESCE(SUM(agree), "
          "0) FROM (SELECT COUNT(DISTINCT a.answer) = 1 AS agree "
          "FROM review_tasks t JOIN review_answers a ON a.task_id = t.id AND a.undone = 0 AND "
          "a.answer != 'skip' WHERE t.done = 1 AND t.answers_needed = 2 GROUP BY t.id HAVING "
          "COUNT(*) >= 2)"));
  s.Bind(1, UnixMillisNow()).Bind(2, reviewer);
  SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
  if (!row) return InternalError("review statistics returned no row");
  ReviewStats r;
  r.open = s.Int(0);
  r.leased = s.Int(1);
  r.open_audit = s.Int(2);
  r.done = s.Int(3);
  r.answers = s.Int(4);
  r.skips = s.Int(5);
  r.done_by_reviewer = s.Int(6);
  r.second_opinions = s.Int(7);
  r.double_reviewed = s.Int(8);
  r.agreed = s.Int(9);
  return r;
}

Status SqliteStore::SetSiteWeight(const std::string& site, double weight) {
  if (!std::isfinite(weight) || weight < 0)
    return InvalidArgumentError("a site weight must be a finite number >= 0");
  std::lock_guard lock(write_mu_);
  SEYE_RETURN_IF_ERROR(InTransaction(*writer_, [&]() -> Status {
    SEYE_ASSIGN_OR_RETURN(
        Statement s, writer_->Prepare("INSERT INTO site_weights (site, weight) VALUES (?, ?) ON "
                                      "CONFLICT(site) DO UPDATE SET weight = excluded.weight"));
    SEYE_RETURN_IF_ERROR(s.Bind(1, site).Bind(2, weight).Run());
    // Open tasks carry their site's weight (the queue's index orders by it).
    SEYE_ASSIGN_OR_RETURN(Statement open, writer_->Prepare("UPDATE review_tasks SET weight = ? "
                                                           "WHERE site = ? AND done = 0"));
    return open.Bind(1, weight).Bind(2, site).Run();
  }));
  site_weights_[site] = weight;
  return Status::Ok();
}

StatusOr<std::vector<ReviewRecord>> SqliteStore::ReviewRecords(
    const std::optional<std::string>& site, std::optional<int64_t> since_ms,
    std::optional<int64_t> until_ms) const {
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(
      Statement s,
      reader_->Prepare(
          "SELECT c.time_ms, c.site, c.kept_because, c.decision, c.inclusion_probability, "
          "c.label_name, c.reviewed_label, COALESCE(t.answers_needed = 2 AND t.done = 1, 0), "
          "(SELECT COUNT(DISTINCT a.answer) FROM review_answers a WHERE a.task_id = t.id AND "
          "a.undone = 0 AND a.answer != 'skip') FROM captures c LEFT JOIN review_tasks t ON "
          "t.capture_id = c.id WHERE (?1 IS NULL OR c.site = ?1) AND (?2 IS NULL OR c.time_ms "
          ">= ?2) AND (?3 IS NULL OR c.time_ms < ?3) ORDER BY c.id"));
  s.Bind(1, site).Bind(2, since_ms).Bind(3, until_ms);
  std::vector<ReviewRecord> out;
  while (true) {
    SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) break;
    ReviewRecord r;
    r.time_ms = s.Int(0);
    r.site = s.Text(1);
    r.audit = s.Int(2) == int64_t(KeptBecause::kAudit);
    r.decision = s.Text(3);
    r.inclusion_probability = s.Real(4);
    r.model_label = s.Text(5);
    if (!s.IsNull(6)) r.answer = s.Text(6);
    r.double_reviewed = s.Int(7) != 0;
    r.reviewers_agreed = r.double_reviewed && s.Int(8) == 1;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace steadyeye::internal
