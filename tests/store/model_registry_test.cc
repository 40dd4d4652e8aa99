#include "steadyeye/store/model_registry.h"

#include <gtest/gtest.h>

#include <fstream>

#include "steadyeye/core/file.h"
#include "steadyeye/store/store.h"
#include "store/store_test_util.h"
#include "test_util.h"

namespace steadyeye {
namespace {

// A stand-in bundle: the registry copies bytes and reads the card it is given; loading models
// is the model module's job (the CLI test registers real ones).
std::filesystem::path Bundle(const testing::TempDir& dir, const std::string& id) {
  const auto path = dir.path() / (id + "-src.seye");
  std::ofstream(path, std::ios::binary) << "bundle of " << id;
  return path;
}

nlohmann::json Card(const std::string& id, const std::string& parent = "") {
  return {{"id", id}, {"parent_id", parent}, {"metrics", {{"val_accuracy", 0.9}}}};
}

TEST(ModelRegistry, RegistersCopiesAndFindsModelsByPrefix) {
  testing::TempDir dir;
  auto store = Open(dir.path() / "store");
  auto a = store->RegisterModel(Bundle(dir, "aaaa1111"), "aaaa1111", Card("aaaa1111"), "cli:ana",
                                "lab", 1000);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->registered_by, "cli:ana");
  EXPECT_EQ(a->card["metrics"]["val_accuracy"], 0.9);
  // The bundle now lives in the store, whatever happens to the original.
  std::filesystem::remove(dir.path() / "aaaa1111-src.seye");
  auto bytes = ReadFileBytes(a->file, 1000);
  ASSERT_TRUE(bytes.ok()) << a->file;
  EXPECT_EQ(std::string(bytes->begin(), bytes->end()), "bundle of aaaa1111");

  ASSERT_TRUE(store
                  ->RegisterModel(Bundle(dir, "aaaa2222"), "aaaa2222", Card("aaaa2222", "aaaa1111"),
                                  "loop", "retrained", 2000)
                  .ok());
  // Registering again keeps the first record.
  auto again =
      store->RegisterModel(Bundle(dir, "aaaa2222"), "aaaa2222", Card("aaaa2222"), "x", "y", 3000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->registered_ms, 2000);
  EXPECT_EQ(again->parent, "aaaa1111");

  EXPECT_EQ(store->GetModel("aaaa2")->id, "aaaa2222");
  EXPECT_EQ(store->GetModel("aaaa").status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(store->GetModel("aaaa").status().message().find("ambiguous"), std::string::npos);
  EXPECT_EQ(store->GetModel("bbbb").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->GetModel("aa").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->ListModels()->size(), 2u);
  EXPECT_EQ(store->RegisterModel(Bundle(dir, "x"), "../x", Card("x"), "", "", 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      store->RegisterModel(dir.path() / "missing.seye", "cccc3333", Card("cccc3333"), "", "", 0)
          .status()
          .code(),
      StatusCode::kNotFound);
}

TEST(ModelRegistry, AliasesMoveRollBackStepByStepAndSurviveReopening) {
  testing::TempDir dir;
  {
    auto store = Open(dir.path() / "store");
    for (const char* id : {"m0000001", "m0000002", "m0000003"})
      ASSERT_TRUE(store->RegisterModel(Bundle(dir, id), id, Card(id), "cli", "", 0).ok());
    EXPECT_EQ(store->SetAlias("champion", "nope0000", "cli", "", 1).status().code(),
              StatusCode::kNotFound);
    EXPECT_EQ(store->SetAlias("best", "m0000001", "cli", "", 1).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(store->SetAlias("site:../x", "m0000001", "cli", "", 1).status().code(),
              StatusCode::kInvalidArgument);
    ASSERT_TRUE(store->SetAlias("champion", "m0000001", "cli", "first", 1).ok());
    ASSERT_TRUE(store->SetAlias("champion", "m0000002", "gate", "promoted", 2).ok());
    auto moved = store->SetAlias("champion", "m0000003", "gate", "promoted", 3);
    ASSERT_TRUE(moved.ok());
    EXPECT_EQ(moved->previous, "m0000002");
    ASSERT_TRUE(store->SetAlias(SiteAlias("plant-b"), "m0000001", "cli", "own model", 4).ok());
  }
  auto store = Open(dir.path() / "store");
  auto aliases = *store->Aliases();
  EXPECT_EQ(aliases["champion"], "m0000003");
  EXPECT_EQ(ModelForSite(aliases, "plant-b"), "m0000001");
  EXPECT_EQ(ModelForSite(aliases, "plant-a"), "m0000003");

  // Two rollbacks go two models back.
  auto back = store->RollbackAlias("champion", "cli", 5);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->model_id, "m0000002");
  EXPECT_EQ(store->RollbackAlias("champion", "cli", 6)->model_id, "m0000001");
  auto none = store->RollbackAlias("champion", "cli", 7);
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition) << none.status().ToString();
  EXPECT_EQ(store->Aliases()->at("champion"), "m0000001");

  // A site's override can be removed (rolling back a new alias removes it too); the champion
  // cannot.
  EXPECT_EQ(store->RemoveAlias("champion", "cli", "", 8).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(store->RollbackAlias(SiteAlias("plant-b"), "cli", 9).ok());
  EXPECT_EQ(ModelForSite(*store->Aliases(), "plant-b"), "m0000001");  // the champion now
  EXPECT_FALSE(store->Aliases()->count(SiteAlias("plant-b")));
  EXPECT_EQ(store->RemoveAlias(SiteAlias("plant-b"), "cli", "", 10).status().code(),
            StatusCode::kNotFound);

  auto history = store->AliasHistory("champion", 100);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 5u);
  EXPECT_EQ((*history)[0].reason, "rollback");
  EXPECT_EQ((*history)[4].reason, "first");
  EXPECT_EQ(store->AliasHistory("", 100)->size(), 7u);
}

// Shadow scores add up per challenger and site across calls and reopening; a write naming an
// unregistered model adds nothing at all.
TEST(ModelRegistry, ShadowTalliesAddUpPerModelAndSiteAndSurviveReopening) {
  testing::TempDir dir;
  ShadowTally one;
  one.images = 10;
  one.agreed = 8;
  one.challenger_confident = 7;
  one.serving_confident = 6;
  one.both_confident = 5;
  one.both_confident_disagreed = 1;
  one.first_ms = 100;
  one.last_ms = 200;
  ShadowTally later = one;
  later.first_ms = 300;
  later.last_ms = 400;
  {
    auto store = Open(dir.path() / "store");
    ASSERT_TRUE(
        store->RegisterModel(Bundle(dir, "c0000001"), "c0000001", Card("c0000001"), "cli", "", 0)
            .ok());
    EXPECT_TRUE(store->ShadowTallies("c0000001")->empty());
    ASSERT_TRUE(store->AddShadowTallies({{"c0000001", {{"plant-a", one}, {"plant-b", one}}}}).ok());
    const Status unknown = store->AddShadowTallies(
        {{"c0000001", {{"plant-a", later}}}, {"nope0000", {{"plant-a", later}}}});
    EXPECT_EQ(unknown.code(), StatusCode::kNotFound) << unknown.ToString();
    EXPECT_NE(unknown.message().find("nope0000"), std::string::npos) << unknown.ToString();
    ASSERT_TRUE(store->AddShadowTallies({{"c0000001", {{"plant-a", later}}}}).ok());
  }
  auto store = Open(dir.path() / "store");
  const auto tallies = store->ShadowTallies("c0000001");
  ASSERT_TRUE(tallies.ok()) << tallies.status().ToString();
  ASSERT_EQ(tallies->size(), 2u);
  const ShadowTally& a = tallies->at("plant-a");
  EXPECT_EQ(a.images, 20);  // the failed write added nothing
  EXPECT_EQ(a.agreed, 16);
  EXPECT_EQ(a.both_confident_disagreed, 2);
  EXPECT_EQ(a.first_ms, 100);
  EXPECT_EQ(a.last_ms, 400);
  EXPECT_EQ(tallies->at("plant-b").images, 10);
  const auto j = a.ToJson();
  EXPECT_DOUBLE_EQ(j["agreement"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(j["challenger_coverage"].get<double>(), 0.7);
}

}  // namespace
}  // namespace steadyeye
