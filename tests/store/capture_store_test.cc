#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "steadyeye/core/file.h"
#include "steadyeye/store/store.h"
#include "store/store_test_util.h"
#include "test_util.h"

namespace steadyeye {
namespace {

TEST(CaptureStore, StoresRowsAndImagesOnceAndReadsThemBack) {
  testing::TempDir dir;
  auto store = Open(dir.path());
  ASSERT_NE(store, nullptr);
  std::vector<NewCapture> batch = {MakeCapture("plant-a", 1000, "image-one"),
                                   MakeCapture("plant-b", 2000, "image-two"),
                                   MakeCapture("plant-a", 3000, "image-one", KeptBecause::kAudit)};
  ASSERT_TRUE(store->Insert(batch).ok());
  EXPECT_LT(batch[0].capture.id, batch[1].capture.id);
  EXPECT_LT(batch[1].capture.id, batch[2].capture.id);
  EXPECT_EQ(batch[0].capture.image_sha256, batch[2].capture.image_sha256);

  const auto got = store->Get(batch[2].capture.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->site, "plant-a");
  EXPECT_EQ(got->time_ms, 3000);
  EXPECT_EQ(got->kept_because, KeptBecause::kAudit);
  EXPECT_DOUBLE_EQ(got->inclusion_probability, 0.02);
  EXPECT_EQ(got->reasons, batch[2].capture.reasons);
  EXPECT_EQ(got->probabilities, batch[2].capture.probabilities);
  EXPECT_EQ(got->quality["verdict"], "ok");
  EXPECT_EQ(got->image_bytes, 9);
  EXPECT_FALSE(got->reviewed_label.has_value());
  EXPECT_EQ(got->ToJson()["kept_because"], "audit");
  EXPECT_EQ(*store->GetImage(batch[1].capture.id), Bytes("image-two"));

  const auto stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->captures, 3);
  EXPECT_EQ(stats->images, 2);  // identical bytes stored once
  EXPECT_EQ(stats->image_bytes, 18);

  EXPECT_EQ(store->Get(999).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->GetImage(999).status().code(), StatusCode::kNotFound);
  std::vector<NewCapture> empty_image = {MakeCapture("plant-a", 1, "")};
  EXPECT_EQ(store->Insert(empty_image).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Stats()->captures, 3);  // nothing of a refused batch is stored
}

TEST(CaptureStore, ListsWithFiltersAndPages) {
  testing::TempDir dir;
  auto store = Open(dir.path());
  ASSERT_NE(store, nullptr);
  std::vector<NewCapture> batch;
  for (int i = 0; i < 25; ++i) {
    batch.push_back(MakeCapture(i % 2 ? "odd" : "even", 1000 * i, "img" + std::to_string(i),
                                i % 5 == 0 ? KeptBecause::kAudit : KeptBecause::kReview));
  }
  ASSERT_TRUE(store->Insert(batch).ok());
  CaptureQuery q;
  q.site = "even";
  q.limit = 5;
  std::vector<int64_t> seen;
  while (true) {
    const auto page = store->List(q);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    for (const auto& c : *page) {
      EXPECT_EQ(c.site, "even");
      seen.push_back(c.id);
    }
    q.after_id = page->back().id;
  }
  EXPECT_EQ(seen.size(), 13u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  CaptureQuery window;
  window.since_ms = 10000;
  window.until_ms = 20000;
  window.decision = "auto";
  const auto w = store->List(window);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->size(), 2u);  // i = 10 and 15
  EXPECT_EQ((*w)[0].time_ms, 10000);
}

TEST(CaptureStore, ReviewLabelsAndRetentionKeepWhatMatters) {
  testing::TempDir dir;
  auto store = Open(dir.path());
  ASSERT_NE(store, nullptr);
  std::vector<NewCapture> batch;
  for (int i = 0; i < 10; ++i) {
    batch.push_back(MakeCapture("s", 1000 * i, std::string(100, char('a' + i)),
                                i < 3 ? KeptBecause::kAudit : KeptBecause::kReview));
  }
  ASSERT_TRUE(store->Insert(batch).ok());
  ASSERT_TRUE(store->SetReviewedLabel(batch[4].capture.id, "Sneaker", "ana").ok());
  EXPECT_EQ(store->SetReviewedLabel(12345, "Sneaker", "ana").code(), StatusCode::kNotFound);
  EXPECT_EQ(store->SetReviewedLabel(batch[4].capture.id, "", "ana").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(*store->Get(batch[4].capture.id)->reviewed_label, "Sneaker");

  // Age: captures before t = 2000 go (ids 0, 1), unless reviewed.
  RetentionPolicy age;
  age.max_age_ms = 8000;
  auto r = store->ApplyRetention(age, 10000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->captures_removed, 2);
  EXPECT_EQ(r->bytes_freed, 200);
  EXPECT_EQ(store->Get(batch[0].capture.id).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(
      std::filesystem::exists(dir.path() / "images" / batch[0].capture.image_sha256.substr(0, 2) /
                              batch[0].capture.image_sha256));

  // Size: 8 images of 100 bytes left; keep 300 bytes. The oldest non-audit, unreviewed go
  // first (3, 5, 6, 7, 8), then audit (2); the reviewed one (4) stays.
  RetentionPolicy size;
  size.max_image_bytes = 300;
  r = store->ApplyRetention(size, 10000);
  ASSERT_TRUE(r.ok());
  EXPECT_LE(store->Stats()->image_bytes, 300);
  std::set<int64_t> left;
  const auto all = store->List({});
  ASSERT_TRUE(all.ok());
  for (const auto& c : *all) left.insert(c.id);
  EXPECT_TRUE(left.count(batch[4].capture.id));  // reviewed
  EXPECT_TRUE(left.count(batch[2].capture.id));  // audit: removed last
  EXPECT_TRUE(left.count(batch[9].capture.id));  // newest review capture
  EXPECT_FALSE(left.count(batch[3].capture.id));
  EXPECT_EQ(left.size(), 3u);
}

TEST(CaptureStore, RefusesNewerSchemasAndDamagedFiles) {
  testing::TempDir dir;
  { ASSERT_NE(Open(dir.path()), nullptr); }
  {
    auto store = Open(dir / "newer");
    ASSERT_NE(store, nullptr);
  }
  // A later build's store: bump the schema version behind the store's back.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "newer" / "captures.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  const auto newer = OpenSqliteStore(dir / "newer");
  EXPECT_EQ(newer.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(newer.status().message().find("newer"), std::string::npos) << newer.status().message();

  std::filesystem::create_directories(dir / "damaged");
  ASSERT_TRUE(WriteFileAtomic(dir / "damaged" / "captures.db", std::string(8192, 'x')).ok());
  const auto damaged = OpenSqliteStore(dir / "damaged");
  EXPECT_EQ(damaged.status().code(), StatusCode::kDataLoss) << damaged.status().ToString();
}

// A child process inserts captures one batch at a time and reports each acknowledged id on a
// pipe; the parent kills it with SIGKILL mid-stream. Every acknowledged capture must be there,
// with its image, when the store is opened again.
TEST(CaptureStore, AcknowledgedCapturesSurviveKill9) {
  testing::TempDir dir;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    auto store = OpenSqliteStore(dir.path());
    if (!store.ok()) _exit(3);
    for (int i = 0;; ++i) {
      std::vector<NewCapture> batch = {MakeCapture("k", i, "image " + std::to_string(i))};
      if (!(*store)->Insert(batch).ok()) _exit(4);
      const int64_t id = batch[0].capture.id;
      if (write(fds[1], &id, sizeof(id)) != sizeof(id)) _exit(5);
    }
  }
  close(fds[1]);
  std::vector<int64_t> acked;
  int64_t id = 0;
  while (acked.size() < 300 && read(fds[0], &id, sizeof(id)) == sizeof(id)) acked.push_back(id);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  while (read(fds[0], &id, sizeof(id)) == sizeof(id)) acked.push_back(id);  // sent before death
  close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_GE(acked.size(), 300u);
  auto store = Open(dir.path());
  ASSERT_NE(store, nullptr);
  for (const int64_t a : acked) {
    const auto c = store->Get(a);
    ASSERT_TRUE(c.ok()) << "acknowledged capture " << a << " lost: " << c.status().ToString();
    const auto image = store->GetImage(a);
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    EXPECT_EQ(std::string(image->begin(), image->end()), "image " + std::to_string(c->time_ms));
  }
}

}  // namespace
}  // namespace steadyeye
