// The embedded store's captures: SQLite (WAL) for metadata, content-addressed files for images;
// opening and schema. See sqlite_store.h.
#include <pthread.h>

#include <algorithm>
#include <chrono>

#include "sqlite_store.h"
#include "steadyeye/core/hash.h"
#include "steadyeye/core/time.h"

namespace steadyeye::internal {

namespace {

namespace fs = std::filesystem;

// 1: captures and images. 2: review tasks and answers, site weights, tokens. 3: each task keeps
// its site's weight, so the next task is an index walk. 7: tasks count the answers asked
// beyond their own (second opinions). Older stores upgrade on open: missing tables are created,
// missing columns added.
constexpr int kSchemaVersion = 7;
constexpr size_t kMaxListLimit = 1000;

// Column order shared by every SELECT of a whole capture (ReadCapture reads it).
constexpr const char* kCaptureColumns =
    "id, time_ms, received_ms, site, camera, model_version, label, label_name, confidence, "
    "probabilities, decision, reasons, kept_because, inclusion_probability, quality, image_sha256, "
    "image_bytes, image_format, width, height, reviewed_label, reviewed_ms, reviewer";

// The queue's order within a site weight: uncertainty in steps of 0.01, then age. The steps keep
// the priority index's inserts at about a hundred places (each one's newest end), which stay in
// the page cache, instead of at random places all over a large index.
constexpr const char* kUrgency =
    "INTEGER GENERATED ALWAYS AS (CAST(uncertainty * 100 AS INTEGER)) VIRTUAL";

const std::string kSchema = R"sql(
CREATE TABLE IF NOT EXISTS captures (
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  site TEXT NOT NULL,
  camera TEXT NOT NULL,
  model_version TEXT NOT NULL,
  label INTEGER NOT NULL,
  label_name TEXT NOT NULL,
  confidence REAL NOT NULL,
  probabilities TEXT NOT NULL,
  decision TEXT NOT NULL,
  reasons TEXT NOT NULL,
  kept_because INTEGER NOT NULL,
  inclusion_probability REAL NOT NULL,
  quality TEXT NOT NULL,
  image_sha256 TEXT NOT NULL,
  image_bytes INTEGER NOT NULL,
  image_format TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  reviewed_label TEXT,
  reviewed_ms INTEGER NOT NULL DEFAULT 0,
  reviewer TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS captures_site_time ON captures(site, time_ms);
CREATE INDEX IF NOT EXISTS captures_time ON captures(time_ms);
CREATE TABLE IF NOT EXISTS images (
  sha256 TEXT PRIMARY KEY,
  bytes INTEGER NOT NULL,
  refs INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS review_tasks (
  id INTEGER PRIMARY KEY,
  capture_id INTEGER NOT NULL UNIQUE,
  kind INTEGER NOT NULL,
  site TEXT NOT NULL,
  uncertainty REAL NOT NULL,
  weight REAL NOT NULL DEFAULT 1,
  urgency )sql" + std::string(kUrgency) +
                            R"sql(,
  created_ms INTEGER NOT NULL,
  answers_needed INTEGER NOT NULL,
  answers_done INTEGER NOT NULL DEFAULT 0,
  escalated INTEGER NOT NULL DEFAULT 0,
  leased_to TEXT NOT NULL DEFAULT '',
  lease_until_ms INTEGER NOT NULL DEFAULT 0,
  done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS review_tasks_next
  ON review_tasks(done, weight DESC, urgency DESC, created_ms, id);
CREATE INDEX IF NOT EXISTS review_tasks_leased ON review_tasks(leased_to, done);
CREATE TABLE IF NOT EXISTS review_answers (
  id INTEGER PRIMARY KEY,
  task_id INTEGER NOT NULL,
  capture_id INTEGER NOT NULL,
  reviewer TEXT NOT NULL,
  answer TEXT NOT NULL,
  answered_ms INTEGER NOT NULL,
  undone INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS review_answers_task ON review_answers(task_id);
CREATE INDEX IF NOT EXISTS review_answers_capture ON review_answers(capture_id);
CREATE INDEX IF NOT EXISTS review_answers_reviewer ON review_answers(reviewer, id);
CREATE TABLE IF NOT EXISTS site_weights (
  site TEXT PRIMARY KEY,
  weight REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role INTEGER NOT NULL,
  salt TEXT NOT NULL,
  hash TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY,
  site TEXT NOT NULL,
  camera TEXT NOT NULL,
  state TEXT NOT NULL,
  onset_ms INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_site ON alerts(site, id);
CREATE TABLE IF NOT EXISTS models (
  id TEXT PRIMARY KEY,
  parent TEXT NOT NULL,
  registered_ms INTEGER NOT NULL,
  registered_by TEXT NOT NULL,
  reason TEXT NOT NULL,
  card TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS model_aliases (
  alias TEXT PRIMARY KEY,
  model_id TEXT NOT NULL REFERENCES models(id),
  updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alias_changes (
  id INTEGER PRIMARY KEY,
  alias TEXT NOT NULL,
  model_id TEXT NOT NULL,
  previous TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  by_whom TEXT NOT NULL,
  reason TEXT NOT NULL,
  rollback INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alias_changes_alias ON alias_changes(alias, id);
CREATE TABLE IF NOT EXISTS gate_decisions (
  id INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  alias TEXT NOT NULL,
  challenger TEXT NOT NULL,
  incumbent TEXT NOT NULL,
  promoted INTEGER NOT NULL,
  by_whom TEXT NOT NULL,
  evidence TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS shadow_tallies (
  model_id TEXT NOT NULL REFERENCES models(id),
  site TEXT NOT NULL,
  images INTEGER NOT NULL,
  agreed INTEGER NOT NULL,
  challenger_confident INTEGER NOT NULL,
  serving_confident INTEGER NOT NULL,
  both_confident INTEGER NOT NULL,
  both_confident_disagreed INTEGER NOT NULL,
  first_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL,
  PRIMARY KEY (model_id, site)
);
)sql";

const char* kTasksForVersion1Captures = R"sql(
INSERT INTO review_tasks (capture_id, kind, site, uncertainty, created_ms, answers_needed,
                          answers_done, done)
SELECT id, kept_because, site,
       CASE WHEN kept_because = 2 THEN (random() / 18446744073709551616.0 + 0.5)
            ELSE 1 - confidence END,
       received_ms, 1, reviewed_label IS NOT NULL, reviewed_label IS NOT NULL
FROM captures WHERE id NOT IN (SELECT capture_id FROM review_tasks);
)sql";

KeptBecause KeptBecauseFromInt(int64_t v) {
  return v == 1 ? KeptBecause::kQuality : v == 2 ? KeptBecause::kAudit : KeptBecause::kReview;
}

// A JSON column as T; `fallback` when the text does not parse as one (a hand-edited database
// must not crash the server).
template <typename T>
T JsonColumn(const Statement& s, int column, T fallback) {
  const auto j = nlohmann::json::parse(s.Text(column), nullptr, false);
  if (j.is_discarded()) return fallback;
  try {
    return j.get<T>();
  } catch (const nlohmann::json::exception&) {
    return fallback;
  }
}

Capture ReadCapture(const Statement& s) {
  Capture c;
  c.id = s.Int(0);
  c.time_ms = s.Int(1);
  c.received_ms = s.Int(2);
  c.site = s.Text(3);
  c.camera = s.Text(4);
  c.model_version = s.Text(5);
  c.label = int(s.Int(6));
  c.label_name = s.Text(7);
  c.confidence = s.Real(8);
  c.probabilities = JsonColumn<std::vector<float>>(s, 9, {});
  c.decision = s.Text(10);
  c.reasons = JsonColumn<std::vector<std::string>>(s, 11, {});
  c.kept_because = KeptBecauseFromInt(s.Int(12));
  c.inclusion_probability = s.Real(13);
  c.quality = JsonColumn<nlohmann::json>(s, 14, nlohmann::json::object());
  c.image_sha256 = s.Text(15);
  c.image_bytes = s.Int(16);
  c.image_format = s.Text(17);
  c.width = int(s.Int(18));
  c.height = int(s.Int(19));
  if (!s.IsNull(20)) c.reviewed_label = s.Text(20);
  c.reviewed_ms = s.Int(21);
  c.reviewer = s.Text(22);
  return c;
}

}  // namespace

SqliteStore::SqliteStore(fs::path dir, StoreOptions options)
    : dir_(std::move(dir)), options_(options) {}

SqliteStore::~SqliteStore() {
  if (checkpointer_.joinable()) {
    {
      std::lock_guard lock(checkpoint_mu_);
      stopping_ = true;
    }
    checkpoint_cv_.notify_all();
    checkpointer_.join();
  }
}

Status SqliteStore::Open() {
  std::error_code ec;
  fs::create_directories(dir_ / "images", ec);
  if (ec)
    return FailedPreconditionError("cannot create store folder " + dir_.string() + ": " +
                                   ec.message());
  SEYE_ASSIGN_OR_RETURN(writer_, Database::Open(dir_ / "captures.db", false));
  auto version = CheckSchema(*writer_);
  if (!version.ok()) return version.status().WithContext("opening store " + dir_.string());
  // Commits append to the WAL; copying it back into the database (a checkpoint, which fsyncs)
  // happens on a background thread instead of inside whichever commit crosses the WAL's size
  // limit, so no request waits for an fsync.
  SEYE_RETURN_IF_ERROR(writer_->Exec(
      "PRAGMA journal_mode=WAL; PRAGMA cache_size=-131072; "
      "PRAGMA wal_autocheckpoint=0; PRAGMA synchronous=" +
      std::string(options_.durability == Durability::kPowerLoss ? "FULL" : "NORMAL")));
  SEYE_RETURN_IF_ERROR(InTransaction(*writer_, [&]() -> Status {
    if (*version == 2) {
      SEYE_RETURN_IF_ERROR(writer_->Exec(
          "ALTER TABLE review_tasks ADD COLUMN weight REAL NOT NULL DEFAULT 1; "
          "ALTER TABLE review_tasks ADD COLUMN urgency " +
          std::string(kUrgency) +
          "; "
          "UPDATE review_tasks SET weight = COALESCE((SELECT weight FROM site_weights w WHERE "
          "w.site = review_tasks.site), 1); DROP INDEX IF EXISTS review_tasks_open"));
    }
    if (*version >= 2 && *version < 7) {
      SEYE_RETURN_IF_ERROR(writer_->Exec(
          "ALTER TABLE review_tasks ADD COLUMN escalated INTEGER NOT NULL DEFAULT 0"));
    }
    SEYE_RETURN_IF_ERROR(writer_->Exec(kSchema));
    // Captures of a version-1 store predate the review queue: each gets its task now (answered
    // ones are done already; audit tasks get a random key, as new ones do).
    if (*version == 1) SEYE_RETURN_IF_ERROR(writer_->Exec(kTasksForVersion1Captures));
    return writer_->Exec("PRAGMA user_version=" + std::to_string(kSchemaVersion));
  }));
  SEYE_ASSIGN_OR_RETURN(reader_, Database::Open(dir_ / "captures.db", false));
  SEYE_RETURN_IF_ERROR(reader_->Exec("PRAGMA cache_size=-16384"));
  SEYE_ASSIGN_OR_RETURN(insert_capture_,
                        writer_->Prepare("INSERT INTO captures (time_ms, received_ms, site, "
                                         "camera, model_version, label, label_name, "
                                         "confidence, probabilities, decision, reasons, "
                                         "kept_because, inclusion_probability, quality, "
                                         "image_sha256, image_bytes, image_format, width, height) "
                                         "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  SEYE_ASSIGN_OR_RETURN(
      add_image_ref_, writer_->Prepare("INSERT INTO images (sha256, bytes, refs) VALUES (?, ?, 1) "
                                       "ON CONFLICT(sha256) DO UPDATE SET refs = refs + 1"));
  SEYE_ASSIGN_OR_RETURN(
      insert_task_,
      writer_->Prepare("INSERT INTO review_tasks (capture_id, kind, site, uncertainty, created_ms, "
                       "answers_needed, weight) VALUES (?,?,?,?,?,?,?)"));
  SEYE_ASSIGN_OR_RETURN(Statement weights,
                        writer_->Prepare("SELECT site, weight FROM site_weights"));
  while (true) {
    SEYE_ASSIGN_OR_RETURN(const bool row, weights.Step());
    if (!row) break;
    site_weights_[weights.Text(0)] = weights.Real(1);
  }
  SEYE_ASSIGN_OR_RETURN(get_capture_, reader_->Prepare(std::string("SELECT ") + kCaptureColumns +
                                                       " FROM captures WHERE id = ?"));
  SEYE_ASSIGN_OR_RETURN(auto checkpoints, Database::Open(dir_ / "captures.db", false));
  checkpointer_ = std::thread([this, db = std::move(checkpoints)] { CheckpointLoop(*db); });
  return Status::Ok();
}

Status SqliteStore::Insert(std::span<NewCapture> captures) {
  for (auto& n : captures) {
    if (n.image.empty()) return InvalidArgumentError("a capture needs its image bytes");
    n.capture.image_sha256 = ToHex(Sha256Of(n.image));
    n.capture.image_bytes = int64_t(n.image.size());
  }
  std::lock_guard lock(write_mu_);
  // Image files go first: a row must never name a file that is not there. A crash after the
  // files but before the commit leaves unreferenced files: they cost disk space only (not swept
  // yet).
  for (const auto& n : captures) SEYE_RETURN_IF_ERROR(WriteImage(n.capture.image_sha256, n.image));
  return InTransaction(*writer_, [&]() -> Status {
    for (auto& n : captures) {
      const Capture& c = n.capture;
      insert_capture_.Bind(1, c.time_ms)
          .Bind(2, c.received_ms)
          .Bind(3, c.site)
          .Bind(4, c.camera)
          .Bind(5, c.model_version)
          .Bind(6, int64_t(c.label))
          .Bind(7, c.label_name)
          .Bind(8, c.confidence)
          .Bind(9, nlohmann::json(c.probabilities).dump())
          .Bind(10, c.decision)
          .Bind(11, nlohmann::json(c.reasons).dump())
          .Bind(12, int64_t(c.kept_because))
          .Bind(13, c.inclusion_probability)
          .Bind(14, c.quality.dump())
          .Bind(15, c.image_sha256)
          .Bind(16, c.image_bytes)
          .Bind(17, c.image_format)
          .Bind(18, int64_t(c.width))
          .Bind(19, int64_t(c.height));
      SEYE_RETURN_IF_ERROR(insert_capture_.Run());
      n.capture.id = sqlite3_last_insert_rowid(writer_->handle());
      add_image_ref_.Bind(1, c.image_sha256).Bind(2, c.image_bytes);
      SEYE_RETURN_IF_ERROR(add_image_ref_.Run());
      SEYE_RETURN_IF_ERROR(AddTask(n.capture));
    }
    return Status::Ok();
  });
}

StatusOr<Capture> SqliteStore::Get(int64_t id) const {
  std::lock_guard lock(read_mu_);
  get_capture_.Bind(1, id);
  auto row = get_capture_.Step();
  if (!row.ok()) {
    get_capture_.Reset();
    return row.status();
  }
  if (!*row) {
    get_capture_.Reset();
    return NotFoundError("no capture with id " + std::to_string(id));
  }
  Capture c = ReadCapture(get_capture_);
  get_capture_.Reset();
  return c;
}

StatusOr<std::vector<uint8_t>> SqliteStore::GetImage(int64_t id) const {
  SEYE_ASSIGN_OR_RETURN(const Capture c, Get(id));
  auto bytes = ReadFileBytes(ImagePath(c.image_sha256));
  if (!bytes.ok() && bytes.status().code() == StatusCode::kNotFound) {
    return DataLossError("the image of capture " + std::to_string(id) +
                         " is missing from the store");
  }
  return bytes;
}

StatusOr<std::vector<Capture>> SqliteStore::List(const CaptureQuery& q) const {
  std::string sql = std::string("SELECT ") + kCaptureColumns + " FROM captures WHERE id > ?1";
  if (q.site) sql += " AND site = ?2";
  if (q.camera) sql += " AND camera = ?3";
  if (q.decision) sql += " AND decision = ?4";
  if (q.since_ms) sql += " AND time_ms >= ?5";
  if (q.until_ms) sql += " AND time_ms < ?6";
  if (q.reviewed)
    sql += *q.reviewed ? " AND reviewed_label IS NOT NULL" : " AND reviewed_label IS NULL";
  sql += " ORDER BY id LIMIT ?7";
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(Statement s, reader_->Prepare(sql));
  s.Bind(1, q.after_id).Bind(7, int64_t(std::min(q.limit, kMaxListLimit)));
  if (q.site) s.Bind(2, *q.site);
  if (q.camera) s.Bind(3, *q.camera);
  if (q.decision) s.Bind(4, *q.decision);
  if (q.since_ms) s.Bind(5, *q.since_ms);
  if (q.until_ms) s.Bind(6, *q.until_ms);
  std::vector<Capture> out;
  while (true) {
    SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) break;
    out.push_back(ReadCapture(s));
  }
  return out;
}

Status SqliteStore::SetReviewedLabel(int64_t id, const std::string& label,
                                     const std::string& reviewer) {
  if (label.empty()) return InvalidArgumentError("a review label must not be empty");
  std::lock_guard lock(write_mu_);
  SEYE_ASSIGN_OR_RETURN(
      Statement s,
      writer_->Prepare(
          "UPDATE captures SET reviewed_label = ?, reviewed_ms = ?, reviewer = ? WHERE id = ?"));
  s.Bind(1, label).Bind(2, UnixMillisNow()).Bind(3, reviewer).Bind(4, id);
  SEYE_RETURN_IF_ERROR(s.Run());
  if (writer_->Changes() == 0) return NotFoundError("no capture with id " + std::to_string(id));
  return Status::Ok();
}

StatusOr<RetentionReport> SqliteStore::ApplyRetention(const RetentionPolicy& policy,
                                                      int64_t now_ms) {
  RetentionReport report;
  std::lock_guard lock(write_mu_);
  if (policy.max_age_ms) {
    const std::string old = "time_ms < " + std::to_string(now_ms - *policy.max_age_ms);
    SEYE_RETURN_IF_ERROR(
        RemoveWhere(old + " AND reviewed_label IS NULL", "id", std::nullopt, report));
  }
  if (policy.max_image_bytes) {
    SEYE_ASSIGN_OR_RETURN(const int64_t bytes, ImageBytesOnDisk());
    // kept_because: 0 review, 1 quality, 2 audit; audit captures are removed last.
    if (bytes > *policy.max_image_bytes) {
      SEYE_RETURN_IF_ERROR(RemoveWhere("reviewed_label IS NULL", "kept_because = 2, id",
                                       bytes - *policy.max_image_bytes, report));
    }
  }
  return report;
}

StatusOr<StoreStats> SqliteStore::Stats() const {
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(
      Statement s,
      reader_->Prepare("SELECT (SELECT COUNT(*) FROM captures), (SELECT COUNT(*) FROM images), "
                       "(SELECT COALESCE(SUM(bytes), 0) FROM images), "
                       "(SELECT COUNT(*) FROM captures WHERE reviewed_label IS NOT NULL)"));
  SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
  if (!row) return InternalError("store statistics returned no row");
  return StoreStats{s.Int(0), s.Int(1), s.Int(2), s.Int(3)};
}

StatusOr<int64_t> SqliteStore::CheckSchema(Database& db) {
  SEYE_ASSIGN_OR_RETURN(Statement s, db.Prepare("PRAGMA user_version"));
  SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
  const int64_t version = row ? s.Int(0) : 0;
  if (version > kSchemaVersion) {
    return FailedPreconditionError("the store's schema version " + std::to_string(version) +
                                   " is newer than this build understands (" +
                                   std::to_string(kSchemaVersion) + ")");
  }
  return version;
}

fs::path SqliteStore::ImagePath(const std::string& sha) const {
  return dir_ / "images" / sha.substr(0, 2) / sha;
}

Status SqliteStore::WriteImage(const std::string& sha, std::span<const uint8_t> bytes) {
  const fs::path path = ImagePath(sha);
  std::error_code ec;
  if (fs::exists(path, ec)) return Status::Ok();  // same bytes, stored once
  return WriteFileAtomic(path, bytes, options_.durability);
}

StatusOr<int64_t> SqliteStore::ImageBytesOnDisk() {
  SEYE_ASSIGN_OR_RETURN(Statement s,
                        writer_->Prepare("SELECT COALESCE(SUM(bytes), 0) FROM images"));
  SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
  return row ? s.Int(0) : 0;
}

// Deletes captures matching `where`, in `order`, and the images no capture references any
// more, until `bytes_to_free` image bytes are freed (all matching captures when nullopt).
// Rows go first, in one transaction per chunk; files after the commit, so a crash leaves at
// worst an unreferenced file, never a row without its image.
Status SqliteStore::RemoveWhere(const std::string& where, const std::string& order,
                                std::optional<int64_t> bytes_to_free, RetentionReport& report) {
  constexpr int kChunk = 512;
  const std::string select_sql = "SELECT id, image_sha256 FROM captures WHERE " + where +
                                 " ORDER BY " + order + " LIMIT " + std::to_string(kChunk);
  int64_t freed_bytes = 0;
  bool more = true;
  while (more && (!bytes_to_free || freed_bytes < *bytes_to_free)) {
    std::vector<std::string> freed;
    int64_t removed = 0, bytes = 0;
    SEYE_RETURN_IF_ERROR(InTransaction(*writer_, [&]() -> Status {
      SEYE_ASSIGN_OR_RETURN(Statement select, writer_->Prepare(select_sql));
      std::vector<std::pair<int64_t, std::string>> victims;
      while (true) {
        SEYE_ASSIGN_OR_RETURN(const bool row, select.Step());
        if (!row) break;
        victims.emplace_back(select.Int(0), select.Text(1));
      }
      more = victims.size() == size_t(kChunk);
      SEYE_ASSIGN_OR_RETURN(Statement del, writer_->Prepare("DELETE FROM captures WHERE id = ?"));
      // The capture's task and its answers (skips; a reviewed capture is never removed) go too.
      SEYE_ASSIGN_OR_RETURN(Statement drop_task,
                            writer_->Prepare("DELETE FROM review_tasks WHERE capture_id = ?"));
      SEYE_ASSIGN_OR_RETURN(Statement drop_answers,
                            writer_->Prepare("DELETE FROM review_answers WHERE capture_id = ?"));
      SEYE_ASSIGN_OR_RETURN(
          Statement unref,
          writer_->Prepare(
              "UPDATE images SET refs = refs - 1 WHERE sha256 = ? RETURNING refs, bytes"));
      SEYE_ASSIGN_OR_RETURN(Statement drop,
                            writer_->Prepare("DELETE FROM images WHERE sha256 = ?"));
      for (const auto& [id, sha] : victims) {
        if (bytes_to_free && freed_bytes + bytes >= *bytes_to_free) {
          more = false;
          break;
        }
        SEYE_RETURN_IF_ERROR(del.Bind(1, id).Run());
        SEYE_RETURN_IF_ERROR(drop_task.Bind(1, id).Run());
        SEYE_RETURN_IF_ERROR(drop_answers.Bind(1, id).Run());
        ++removed;
        unref.Bind(1, sha);
        SEYE_ASSIGN_OR_RETURN(const bool row, unref.Step());
        const int64_t refs = row ? unref.Int(0) : 0, size = row ? unref.Int(1) : 0;
        unref.Reset();
        if (refs > 0) continue;
        SEYE_RETURN_IF_ERROR(drop.Bind(1, sha).Run());
        freed.push_back(sha);
        bytes += size;
      }
      return Status::Ok();
    }));
    for (const auto& sha : freed) {
      std::error_code ec;
      fs::remove(ImagePath(sha), ec);
    }
    freed_bytes += bytes;
    report.captures_removed += removed;
    report.images_removed += int64_t(freed.size());
    report.bytes_freed += bytes;
  }
  return Status::Ok();
}

// Every half second, copies committed WAL pages into the database without blocking writers
// (PASSIVE); a last, complete checkpoint when the store closes.
void SqliteStore::CheckpointLoop(Database& db) {
  pthread_setname_np(pthread_self(), "seye-checkpoint");
  std::unique_lock lock(checkpoint_mu_);
  while (!stopping_) {
    checkpoint_cv_.wait_for(lock, std::chrono::milliseconds(500));
    (void)db.Exec(stopping_ ? "PRAGMA wal_checkpoint(TRUNCATE)" : "PRAGMA wal_checkpoint(PASSIVE)");
  }
}

}  // namespace steadyeye::internal

namespace steadyeye {

StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::filesystem::path& dir,
                                                 const StoreOptions& options) {
  auto store = std::make_unique<internal::SqliteStore>(dir, options);
  SEYE_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace steadyeye
