#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>

#include "steadyeye/core/file.h"
#include "store/store_test_util.h"
#include "test_util.h"

namespace steadyeye {
namespace {

constexpr int64_t kLease = 60'000;

// Stores one capture per entry (site, confidence, why kept); returns their ids.
std::vector<int64_t> Fill(Store& store,
                          const std::vector<std::tuple<std::string, double, KeptBecause>>& items) {
  std::vector<NewCapture> batch;
  int64_t t = 1000;
  for (const auto& [site, confidence, why] : items) {
    batch.push_back(MakeCapture(site, t, "img-" + std::to_string(t), why));
    batch.back().capture.confidence = confidence;
    t += 1000;
  }
  EXPECT_TRUE(store.Insert(batch).ok());
  std::vector<int64_t> ids;
  for (const auto& n : batch) ids.push_back(n.capture.id);
  return ids;
}

// A store whose tasks all need one answer.
std::unique_ptr<Store> OpenSingleReview(const std::filesystem::path& dir) {
  StoreOptions options;
  options.double_review_share = 0;
  auto store = OpenSqliteStore(dir, options);
  EXPECT_TRUE(store.ok());
  return store.ok() ? std::move(*store) : nullptr;
}

TEST(ReviewQueue, EveryStoredCaptureIsATaskHandedOutBySiteWeightThenUncertaintyThenAge) {
  testing::TempDir dir;
  auto store = Open(dir.path());
  ASSERT_NE(store, nullptr);
  const auto ids = Fill(*store, {{"a", 0.9, KeptBecause::kReview},
                                 {"a", 0.5, KeptBecause::kReview},
                                 {"a", 0.5, KeptBecause::kQuality},
                                 {"b", 0.95, KeptBecause::kReview}});
  auto stats = store->QueueStats("");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->open, 4);
  // Uncertainty first (0.5 twice: the older of the two first), then 0.9, then site b's 0.95.
  std::vector<int64_t> order;
  for (int i = 0; i < 4; ++i) {
    auto t = store->NextTask("r" + std::to_string(i), 10'000, kLease);
    ASSERT_TRUE(t.ok() && t->has_value());
    order.push_back((*t)->capture_id);
  }
  EXPECT_EQ(order, (std::vector<int64_t>{ids[1], ids[2], ids[0], ids[3]}));
  // All four are leased: nobody else gets one until a lease lapses.
  auto none = store->NextTask("r9", 10'000, kLease);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto lapsed = store->NextTask("r9", 10'000 + kLease, kLease);
  ASSERT_TRUE(lapsed.ok() && lapsed->has_value());

  // A weight for site b puts its task first for a new reviewer.
  testing::TempDir dir2;
  auto weighted = Open(dir2.path());
  const auto ids2 =
      Fill(*weighted, {{"a", 0.1, KeptBecause::kReview}, {"b", 0.99, KeptBecause::kReview}});
  ASSERT_TRUE(weighted->SetSiteWeight("b", 5).ok());
  EXPECT_EQ(weighted->SetSiteWeight("b", -1).code(), StatusCode::kInvalidArgument);
  auto first = weighted->NextTask("r", 0, kLease);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->capture_id, ids2[1]);
}

TEST(ReviewQueue, ALeaseBelongsToOneReviewerAndAReloadGetsTheSameTask) {
  testing::TempDir dir;
  auto store = OpenSingleReview(dir.path());
  Fill(*store, {{"a", 0.5, KeptBecause::kReview}, {"a", 0.6, KeptBecause::kReview}});
  auto mine = store->NextTask("ann", 0, kLease);
  auto again = store->NextTask("ann", 100, kLease);
  ASSERT_TRUE(mine.ok() && again.ok() && mine->has_value() && again->has_value());
  EXPECT_EQ((*mine)->id, (*again)->id);
  EXPECT_EQ((*mine)->leased_to, "ann");
  const int64_t task = (*mine)->id;
  // Bob cannot answer Ann's task while her lease holds; after it lapses he can.
  EXPECT_EQ(store->Answer(task, "bob", "Dress", 200).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store->Answer(task, "bob", "Dress", kLease + 200).ok());
  EXPECT_EQ(store->Answer(task, "ann", "Dress", kLease + 300).status().code(),
            StatusCode::kFailedPrecondition);  // already done
  EXPECT_EQ(store->Answer(999, "ann", "Dress", 0).status().code(), StatusCode::kNotFound);
}

TEST(ReviewQueue, AnswersLabelTheCaptureSkipsPassItOnAndUndoTakesTheLastAnswerBack) {
  testing::TempDir dir;
  auto store = OpenSingleReview(dir.path());
  const auto ids = Fill(*store, {{"a", 0.5, KeptBecause::kReview}});
  auto t = store->NextTask("ann", 0, kLease);
  ASSERT_TRUE(t.ok() && t->has_value());
  const int64_t task = (*t)->id;

  ASSERT_TRUE(store->Answer(task, "ann", kAnswerSkip, 10).ok());
  auto after_skip = store->GetTask(task);
  ASSERT_TRUE(after_skip.ok());
  EXPECT_FALSE(after_skip->done);
  EXPECT_EQ(after_skip->leased_to, "");
  auto none = store->NextTask("ann", 20, kLease);  // not offered again to whoever skipped it
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto bobs = store->NextTask("bob", 30, kLease);
  ASSERT_TRUE(bobs.ok() && bobs->has_value());
  ASSERT_TRUE(store->Answer(task, "bob", "Sneaker", 40).ok());
  auto labelled = store->Get(ids[0]);
  ASSERT_TRUE(labelled.ok());
  EXPECT_EQ(labelled->reviewed_label, "Sneaker");
  EXPECT_EQ(labelled->reviewer, "bob");
  EXPECT_TRUE(store->GetTask(task)->done);

  // Ann's last answer was the skip on this task; Bob's was the label. Only the last one of each
  // reviewer can be undone, and undoing Bob's reopens the task for him and clears the label.
  EXPECT_EQ(store->Undo(task + 1, "bob", 50, kLease).status().code(), StatusCode::kNotFound);
  auto undone = store->Undo(task, "bob", 50, kLease);
  ASSERT_TRUE(undone.ok()) << undone.status().ToString();
  EXPECT_FALSE(undone->done);
  EXPECT_EQ(undone->leased_to, "bob");
  EXPECT_FALSE(store->Get(ids[0])->reviewed_label.has_value());
  EXPECT_EQ(store->Undo(task, "bob", 60, kLease).status().code(),
            StatusCode::kFailedPrecondition);  // nothing left of Bob's to undo
  ASSERT_TRUE(store->Answer(task, "bob", kAnswerBadImage, 70).ok());
  EXPECT_EQ(store->Get(ids[0])->reviewed_label, kAnswerBadImage);
  auto answers = store->AnswersFor(ids[0]);
  ASSERT_TRUE(answers.ok());
  ASSERT_EQ(answers->size(), 2u);  // Ann's skip and Bob's standing answer
  EXPECT_EQ((*answers)[1].answer, kAnswerBadImage);
}

TEST(ReviewQueue, AShareOfTasksNeedsTwoReviewersAndTheirAgreementIsCounted) {
  testing::TempDir dir;
  StoreOptions options;
  options.double_review_share = 0.3;
  auto opened = OpenSqliteStore(dir.path(), options);
  ASSERT_TRUE(opened.ok());
  Store& store = **opened;
  std::vector<std::tuple<std::string, double, KeptBecause>> items(200,
                                                                  {"a", 0.5, KeptBecause::kReview});
  Fill(store, items);
  // Reviewers answer everything they are offered; Ann always says Dress, Bob says Dress for
  // even task ids and Coat for odd ones; Cy, asked only where the two differ, says Dress.
  int64_t now = 0;
  for (const std::string who : {"ann", "bob", "cy"}) {
    while (true) {
      auto t = store.NextTask(who, ++now, kLease);
      ASSERT_TRUE(t.ok());
      if (!t->has_value()) break;
      const std::string answer = who == "bob" && (*t)->id % 2 ? "Coat" : "Dress";
      ASSERT_TRUE(store.Answer((*t)->id, who, answer, ++now).ok());
    }
  }
  auto stats = store.QueueStats("bob");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->open, 0);
  EXPECT_EQ(stats->done, 200);
  // About 30% need two answers; Bob's answers are those second ones.
  EXPECT_GT(stats->double_reviewed, 40);
  EXPECT_LT(stats->double_reviewed, 80);
  const int64_t disagreed = stats->double_reviewed - stats->agreed;
  EXPECT_EQ(stats->answers, 200 + stats->double_reviewed + disagreed);
  EXPECT_EQ(stats->done_by_reviewer, stats->double_reviewed);
  EXPECT_GT(stats->agreed, stats->double_reviewed / 4);
  EXPECT_LT(stats->agreed, stats->double_reviewed * 3 / 4);
  auto cy = store.QueueStats("cy");
  ASSERT_TRUE(cy.ok());
  EXPECT_EQ(cy->done_by_reviewer, disagreed);  // the third answers broke the ties
}

TEST(ReviewQueue, AnAnswerAgainstAConfidentModelAsksASecondReviewerBlindAndMostVotesLabel) {
  testing::TempDir dir;
  auto store = OpenSingleReview(dir.path());  // second opinions at the default 0.9
  // The model says Dress at 0.95 (twice) and at 0.5.
  const auto ids = Fill(*store, {{"a", 0.95, KeptBecause::kReview},
                                 {"a", 0.95, KeptBecause::kReview},
                                 {"a", 0.5, KeptBecause::kReview}});
  int64_t now = 0;
  // Answers `answer` to the next task `who` gets, which must be for `capture`.
  auto answer = [&](const std::string& who, int64_t capture, const std::string& label) {
    auto t = store->NextTask(who, ++now, kLease);
    ASSERT_TRUE(t.ok() && t->has_value()) << who;
    ASSERT_EQ((*t)->capture_id, capture) << who;
    ASSERT_TRUE(store->Answer((*t)->id, who, label, ++now).ok());
  };
  auto task_of = [&](int64_t capture) {
    auto answers = store->AnswersFor(capture);
    EXPECT_TRUE(answers.ok() && !answers->empty());
    return *store->GetTask((*answers)[0].task_id);
  };

  // Uncertain model contradicted: one answer settles it.
  answer("ann", ids[2], "Coat");
  EXPECT_TRUE(task_of(ids[2]).done);
  EXPECT_EQ(store->Get(ids[2])->reviewed_label, "Coat");

  // Confident model contradicted: the task stays open, blind, for someone else.
  answer("ann", ids[0], "Coat");
  ReviewTask first = task_of(ids[0]);
  EXPECT_FALSE(first.done);
  EXPECT_EQ(first.escalated, 1);
  EXPECT_TRUE(first.blind());
  EXPECT_EQ(store->Get(ids[0])->reviewed_label, "Coat");  // the label so far
  // Bob agrees with Ann: settled, the model was wrong.
  answer("bob", ids[0], "Coat");
  EXPECT_TRUE(task_of(ids[0]).done);
  EXPECT_EQ(store->Get(ids[0])->reviewed_label, "Coat");

  // Ann contradicts it on the other one; Bob sides with the model; Cy decides, with the model.
  answer("ann", ids[1], "Shirt");
  answer("bob", ids[1], "Dress");
  ReviewTask tied = task_of(ids[1]);
  EXPECT_FALSE(tied.done);
  EXPECT_EQ(tied.escalated, 2);
  EXPECT_EQ(store->Get(ids[1])->reviewed_label, "Shirt");  // a tie: the earliest answer
  answer("cy", ids[1], "Dress");
  EXPECT_TRUE(task_of(ids[1]).done);
  EXPECT_EQ(store->Get(ids[1])->reviewed_label, "Dress");
  EXPECT_EQ(store->Get(ids[1])->reviewer, "bob");  // the first to give the label that stands

  // Cy takes the deciding answer back: open again, needing a third, the tie's label back.
  auto undone = store->Undo(tied.id, "cy", ++now, kLease);
  ASSERT_TRUE(undone.ok()) << undone.status().ToString();
  EXPECT_FALSE(undone->done);
  EXPECT_EQ(undone->escalated, 2);
  EXPECT_EQ(store->Get(ids[1])->reviewed_label, "Shirt");

  // With second opinions off, the same contradiction settles at once.
  testing::TempDir dir2;
  StoreOptions never;
  never.double_review_share = 0;
  never.second_opinion_confidence = 2;
  auto opened = OpenSqliteStore(dir2.path(), never);
  ASSERT_TRUE(opened.ok());
  const auto one = Fill(**opened, {{"a", 0.99, KeptBecause::kReview}});
  auto t = (*opened)->NextTask("ann", 0, kLease);
  ASSERT_TRUE(t.ok() && t->has_value());
  ASSERT_TRUE((*opened)->Answer((*t)->id, "ann", "Coat", 1).ok());
  EXPECT_TRUE((*opened)->GetTask((*t)->id)->done);
}

TEST(ReviewQueue, AnswersNeededEscalatesOnceForAContradictionAndOnceForADisagreement) {
  using V = std::vector<std::string>;
  EXPECT_EQ(AnswersNeeded(1, V{}, "Dress", 0.99, 0.9), 1);
  EXPECT_EQ(AnswersNeeded(1, V{"Dress"}, "Dress", 0.99, 0.9), 1);
  EXPECT_EQ(AnswersNeeded(1, V{"Coat"}, "Dress", 0.89, 0.9), 1);
  EXPECT_EQ(AnswersNeeded(1, V{"Coat"}, "Dress", 0.9, 0.9), 2);
  EXPECT_EQ(AnswersNeeded(1, V{"Coat", "Coat"}, "Dress", 0.99, 0.9), 2);
  EXPECT_EQ(AnswersNeeded(1, V{"Coat", "Dress"}, "Dress", 0.99, 0.9), 3);
  EXPECT_EQ(AnswersNeeded(2, V{"Dress", "Dress"}, "Dress", 0.5, 0.9), 2);
  EXPECT_EQ(AnswersNeeded(2, V{"Coat", "Dress"}, "Dress", 0.5, 0.9), 3);
  EXPECT_EQ(AnswersNeeded(2, V{"Coat", "Dress", "Shirt"}, "Dress", 0.99, 0.9), 3);
}

TEST(ReviewQueue, AuditTasksAreBlindAndNotOrderedByTheModelsConfidence) {
  testing::TempDir dir;
  auto store = Open(dir.path());
  std::vector<std::tuple<std::string, double, KeptBecause>> items;
  for (int i = 0; i < 50; ++i) items.push_back({"a", 0.999 - 0.001 * i, KeptBecause::kAudit});
  const auto ids = Fill(*store, items);
  std::vector<int64_t> order;
  for (int i = 0; i < 50; ++i) {
    auto t = store->NextTask("r" + std::to_string(i), 0, kLease);
    ASSERT_TRUE(t.ok() && t->has_value());
    EXPECT_TRUE((*t)->blind());
    order.push_back((*t)->capture_id);
  }
  // By uncertainty the order would be ids reversed; by age, ids in order. A random key is
  // neither.
  std::vector<int64_t> reversed(ids.rbegin(), ids.rend());
  EXPECT_NE(order, ids);
  EXPECT_NE(order, reversed);
  EXPECT_EQ(std::set<int64_t>(order.begin(), order.end()).size(), 50u);
}

TEST(ReviewQueue, AVersion1StoreGetsATaskForEveryCaptureOnOpen) {
  testing::TempDir dir;
  {
    auto store = Open(dir.path());
    const auto ids =
        Fill(*store, {{"a", 0.5, KeptBecause::kReview}, {"a", 0.9, KeptBecause::kAudit}});
    ASSERT_TRUE(store->SetReviewedLabel(ids[0], "Coat", "ann").ok());
  }
  // Back to what version 1 had: no review tables.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() / "captures.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "DROP TABLE review_tasks; DROP TABLE review_answers; PRAGMA user_version=1",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  auto store = Open(dir.path());
  ASSERT_NE(store, nullptr);
  auto stats = store->QueueStats("");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->open, 1);  // the audit capture
  EXPECT_EQ(stats->done, 1);  // the one reviewed before
  EXPECT_EQ(stats->open_audit, 1);
}

TEST(ReviewQueue, AVersion2StoreGetsItsTasksSiteWeightsOnOpen) {
  testing::TempDir dir;
  {
    auto store = Open(dir.path());
    Fill(*store, {{"a", 0.1, KeptBecause::kReview}, {"b", 0.99, KeptBecause::kReview}});
    ASSERT_TRUE(store->SetSiteWeight("b", 5).ok());
  }
  // Back to version 2: tasks without their weight column.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() / "captures.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP INDEX review_tasks_next; CREATE TABLE old AS SELECT id, capture_id, "
                         "kind, site, uncertainty, created_ms, answers_needed, answers_done, "
                         "leased_to, lease_until_ms, done FROM review_tasks; DROP TABLE "
                         "review_tasks; ALTER TABLE old RENAME TO review_tasks; PRAGMA "
                         "user_version=2",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = Open(dir.path());
  ASSERT_NE(store, nullptr);
  auto first = store->NextTask("r", 0, kLease);
  ASSERT_TRUE(first.ok() && first->has_value()) << first.status().ToString();
  EXPECT_EQ((*first)->site, "b");  // its weight came back from site_weights
}

TEST(ReviewQueue, AVersion6StoreGetsItsTasksEscalationColumnOnOpen) {
  testing::TempDir dir;
  {
    auto store = OpenSingleReview(dir.path());
    Fill(*store, {{"a", 0.95, KeptBecause::kReview}});
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() / "captures.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "ALTER TABLE review_tasks DROP COLUMN escalated; PRAGMA user_version=6",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  auto store = OpenSingleReview(dir.path());
  ASSERT_NE(store, nullptr);
  auto t = store->NextTask("ann", 0, kLease);
  ASSERT_TRUE(t.ok() && t->has_value()) << t.status().ToString();
  ASSERT_TRUE(store->Answer((*t)->id, "ann", "Coat", 1).ok());
  EXPECT_EQ(store->GetTask((*t)->id)->escalated, 1);
}

TEST(ReviewQueue, AnswersAreValidatedAgainstTheModelsClasses) {
  const std::vector<std::string> classes = {"Coat", "Dress"};
  EXPECT_TRUE(ValidateAnswer("Coat", classes).ok());
  EXPECT_TRUE(ValidateAnswer(kAnswerNewItem, classes).ok());
  const Status bad = ValidateAnswer("Hat", classes);
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("'Dress'"), std::string::npos);
}

TEST(TokenStore, TokensAreShownOnceStoredHashedAndCheckedWithTheirRole) {
  testing::TempDir dir;
  auto store = Open(dir.path());
  auto count = store->ActiveTokenCount();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0);
  auto t = store->CreateToken("line-3-camera", Role::kClient, 123);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->token.rfind("seye_", 0), 0u);
  EXPECT_EQ(store->CreateToken("line-3-camera", Role::kAdmin, 1).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(store->CreateToken("bad name", Role::kAdmin, 1).status().code(),
            StatusCode::kInvalidArgument);
  auto who = store->Authenticate(t->token);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->name, "line-3-camera");
  EXPECT_EQ(who->role, Role::kClient);

  // One flipped character of the secret, a made-up id, garbage: all the same answer.
  std::string wrong = t->token;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  for (const std::string& bad : {wrong, std::string("seye_999_") + std::string(64, 'a'),
                                 std::string("Bearer x"), std::string()}) {
    EXPECT_EQ(store->Authenticate(bad).status().code(), StatusCode::kUnauthenticated) << bad;
  }
  // The secret itself is nowhere in the database or its write-ahead log.
  const std::string secret = t->token.substr(t->token.rfind('_') + 1);
  for (const char* file : {"captures.db", "captures.db-wal"}) {
    auto bytes = ReadFileBytes(dir.path() / file);
    ASSERT_TRUE(bytes.ok()) << file;
    EXPECT_EQ(std::string(bytes->begin(), bytes->end()).find(secret), std::string::npos);
  }

  ASSERT_TRUE(store->RevokeToken(t->info.id).ok());
  EXPECT_EQ(store->Authenticate(t->token).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(store->RevokeToken(999).code(), StatusCode::kNotFound);
  EXPECT_EQ(*store->ActiveTokenCount(), 0);
  EXPECT_EQ(ParseRole("operator").value(), Role::kOperator);
  EXPECT_EQ(ParseRole("root").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace steadyeye
