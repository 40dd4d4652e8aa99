// Production capture: the images a deployment keeps, with why they were kept and everything
// known about them when they were decided, so that reviewers can label them, estimates of
// production accuracy can be unbiased, and tomorrow's model can train on them.
//
// The store is an interface so that a PostgreSQL hub can follow (fleet mode) without touching
// the server. The embedded implementation (OpenSqliteStore, store/store.h) keeps metadata in
// SQLite in WAL mode and image bytes content-addressed on disk (identical bytes stored once).
// Every capture stored also becomes a review task (review/review_queue.h) in the same commit.
//
// Durability: when Insert() returns OK, the rows and their images survive kill -9 of the process
// (SQLite WAL with synchronous=NORMAL; image files written before the rows that name them, so a
// row never points at a missing file). With StoreOptions::durability = kPowerLoss they also
// survive a power cut, at the price of an fsync per commit and per image.
//
// Thread-safety: every method may be called from any thread; writes are serialised inside.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "steadyeye/core/file.h"
#include "steadyeye/core/status.h"

namespace steadyeye {

// Why a capture was kept. Review and quality captures are kept with probability 1; audit
// captures are a random sample of automatic decisions, kept with the audit rate.
enum class KeptBecause { kReview, kQuality, kAudit };
const char* KeptBecauseName(KeptBecause k);

struct Capture {
  int64_t id = 0;           // assigned by the store, increasing
  int64_t time_ms = 0;      // when the image was taken (client's ts, else received_ms)
  int64_t received_ms = 0;  // when the server received it
  std::string site;
  std::string camera;
  std::string model_version;
  int label = -1;  // the model's top-1 class index
  std::string label_name;
  double confidence = 0;  // calibrated
  std::vector<float> probabilities;
  std::string decision;  // "auto" or "review"
  std::vector<std::string> reasons;
  KeptBecause kept_because = KeptBecause::kReview;
  double inclusion_probability = 1;                   // chance that an image like this one was kept
  nlohmann::json quality = nlohmann::json::object();  // metrics and verdict
  std::string image_sha256;                           // hex; the content address
  int64_t image_bytes = 0;
  std::string image_format;  // "png" or "jpeg"
  int width = 0;
  int height = 0;
  // A person's label (review), when there is one.
  std::optional<std::string> reviewed_label;
  int64_t reviewed_ms = 0;
  std::string reviewer;

  nlohmann::json ToJson() const;
};

// A capture to store, with its encoded image.
struct NewCapture {
  Capture capture;  // id, image_sha256 and image_bytes are filled in by the store
  std::vector<uint8_t> image;
};

struct CaptureQuery {
  std::optional<std::string> site;
  std::optional<std::string> camera;
  std::optional<std::string> decision;
  std::optional<int64_t> since_ms;  // time_ms >= since
  std::optional<int64_t> until_ms;  // time_ms < until
  std::optional<bool> reviewed;     // only with (true) or without (false) a review label
  int64_t after_id = 0;             // paging: ids greater than this, in increasing order
  size_t limit = 100;
};

struct RetentionPolicy {
  std::optional<int64_t> max_age_ms;       // captures taken earlier than now - max_age are removed
  std::optional<int64_t> max_image_bytes;  // image bytes on disk kept under this
};

struct RetentionReport {
  int64_t captures_removed = 0;
  int64_t images_removed = 0;
  int64_t bytes_freed = 0;
};

struct StoreStats {
  int64_t captures = 0;
  int64_t images = 0;       // distinct image files
  int64_t image_bytes = 0;  // on disk
  int64_t reviewed = 0;
};

class CaptureStore {
 public:
  virtual ~CaptureStore() = default;

  // Stores the captures and their images in one transaction and fills in their ids (in order),
  // hashes and sizes. All or nothing: on error nothing of this call is stored.
  virtual Status Insert(std::span<NewCapture> captures) = 0;

  // NotFound for an unknown id.
  virtual StatusOr<Capture> Get(int64_t id) const = 0;
  virtual StatusOr<std::vector<uint8_t>> GetImage(int64_t id) const = 0;
  // Matching captures in increasing id order after `after_id`, at most `limit` (<= 1000).
  virtual StatusOr<std::vector<Capture>> List(const CaptureQuery& query) const = 0;

  // Records a person's label for a capture. NotFound for an unknown id; InvalidArgument for an
  // empty label.
  virtual Status SetReviewedLabel(int64_t id, const std::string& label,
                                  const std::string& reviewer) = 0;

  // Removes captures older than the age limit, then, while the images exceed the size limit,
  // the oldest captures whose images are not needed by the audit first (review and quality
  // captures), audit captures last. Reviewed captures are kept: they are training data.
  virtual StatusOr<RetentionReport> ApplyRetention(const RetentionPolicy& policy,
                                                   int64_t now_ms) = 0;

  virtual StatusOr<StoreStats> Stats() const = 0;
};

struct StoreOptions {
  Durability durability = Durability::kProcessCrash;
  // Share of review tasks given to two reviewers, to measure agreement. Which tasks is decided
  // by a hash of the capture id and `seed`, so it is reproducible.
  double double_review_share = 0.05;
  // A reviewer's answer against a model at least this confident asks for a second opinion
  // (review/review_queue.h); above 1: never.
  double second_opinion_confidence = 0.9;
  uint64_t seed = 1;
};

}  // namespace steadyeye
