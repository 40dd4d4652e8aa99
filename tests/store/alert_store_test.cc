#include <gtest/gtest.h>

#include "steadyeye/store/store.h"
#include "store/store_test_util.h"
#include "test_util.h"

namespace steadyeye {
namespace {

nlohmann::json Alert(int64_t id, const std::string& site, const std::string& state) {
  return {{"id", id},
          {"site", site},
          {"camera", "cam-1"},
          {"state", state},
          {"onset", "2026-11-29T02:10:00Z"},
          {"cause", "sharpness fell"}};
}

TEST(AlertStore, KeepsTheLatestStateOfEachAlertAcrossReopening) {
  testing::TempDir dir;
  {
    auto store = Open(dir.path());
    EXPECT_EQ(*store->MaxAlertId(), 0);
    ASSERT_TRUE(store->SaveAlert(Alert(1, "plant-a", "open")).ok());
    ASSERT_TRUE(store->SaveAlert(Alert(2, "plant-b", "open")).ok());
    ASSERT_TRUE(store->SaveAlert(Alert(1, "plant-a", "resolved")).ok());  // replaces the row
  }
  auto store = Open(dir.path());
  EXPECT_EQ(*store->MaxAlertId(), 2);
  auto all = store->ListAlerts({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0]["id"], 2);  // newest first
  EXPECT_EQ((*all)[1]["state"], "resolved");
  EXPECT_EQ((*all)[1]["cause"], "sharpness fell");
  auto count = [&](std::optional<std::string> site, std::optional<std::string> state,
                   size_t limit = 500) {
    AlertQuery q;
    q.site = std::move(site);
    q.state = std::move(state);
    q.limit = limit;
    return store->ListAlerts(q)->size();
  };
  EXPECT_EQ(count("plant-a", std::nullopt), 1u);
  EXPECT_EQ(count(std::nullopt, "open"), 1u);
  EXPECT_EQ(count("plant-a", "open"), 0u);
  EXPECT_EQ(count(std::nullopt, std::nullopt, 1), 1u);
}

TEST(AlertStore, RefusesAlertsWithoutTheIndexedFields) {
  testing::TempDir dir;
  auto store = Open(dir.path());
  nlohmann::json no_site = Alert(1, "plant-a", "open");
  no_site.erase("site");
  Status st = store->SaveAlert(no_site);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("'site'"), std::string::npos) << st.ToString();
  nlohmann::json bad_time = Alert(1, "plant-a", "open");
  bad_time["onset"] = "yesterday";
  EXPECT_EQ(store->SaveAlert(bad_time).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->SaveAlert(nlohmann::json::array()).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store->ListAlerts({})->empty());
}

}  // namespace
}  // namespace steadyeye
