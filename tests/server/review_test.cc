// The review queue through the real server: leases, blind audit tasks, answers that label the
// capture, undo, and the statistics.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "server/server_fixture.h"

namespace steadyeye {
namespace {

using nlohmann::json;
using testing::Binary;
using testing::RunCommand;

class Review : public Server {};

TEST_F(Review, ReviewersGetLeasedTasksAndTheirAnswersLabelTheCaptures) {
  const std::string store = "store-review";
  const std::string ann = CreateToken(store, "reviewer", "ann"),
                    bob = CreateToken(store, "reviewer", "bob"),
                    op = CreateToken(store, "operator", "olga"),
                    cam = CreateToken(store, "client", "cam");
  // Every image kept: automatic decisions as (blind) audit tasks, the rest as review tasks.
  auto server = Start(store, "--audit-rate 1");
  ASSERT_TRUE(server->started());
  auto c = server->Client();
  std::set<std::string> kinds;
  for (size_t i = 0; i < 20; ++i) {
    auto r = c.Post("/v1/predict?site=plant-a&camera=c2", Bearer(cam), ReadText(images_[i]),
                    "image/png");
    ASSERT_EQ(r->status, 200) << r->body;
    kinds.insert(json::parse(r->body)["kept_because"].get<std::string>());
  }
  ASSERT_TRUE(kinds.count("audit") && kinds.count("review")) << "the fixture model decides both";

  // A reload gets the same task; a prefetch (besides=) gets another one.
  auto first = json::parse(c.Get("/v1/review/next", Bearer(ann))->body);
  ASSERT_TRUE(first["task"].is_object()) << first;
  const int64_t task = first["task"]["id"];
  EXPECT_EQ(json::parse(c.Get("/v1/review/next", Bearer(ann))->body)["task"]["id"], task);
  auto prefetched = json::parse(
      c.Get(("/v1/review/next?besides=" + std::to_string(task)).c_str(), Bearer(ann))->body);
  EXPECT_NE(prefetched["task"]["id"], task);
  EXPECT_EQ(first["classes"].size(), 10u);
  EXPECT_EQ(first["open"], 20);
  EXPECT_EQ(first["task"]["site"], "plant-a");
  EXPECT_EQ(first["task"]["camera"], "c2");
  EXPECT_TRUE(first["task"]["quality"]["flags"].is_array());

  // The image is the capture's, byte for byte.
  auto image = c.Get(first["task"]["image"].get<std::string>().c_str(), Bearer(ann));
  ASSERT_EQ(image->status, 200);
  EXPECT_EQ(image->get_header_value("Content-Type"), "image/png");

  const std::string path = "/v1/review/" + std::to_string(task);
  auto wrong =
      c.Post((path + "/answer").c_str(), Bearer(ann), R"({"answer": "Hat"})", "application/json");
  EXPECT_EQ(wrong->status, 400);
  EXPECT_NE(wrong->body.find("Ankle_boot"), std::string::npos) << wrong->body;  // the choices
  EXPECT_EQ(
      c.Post((path + "/answer").c_str(), Bearer(bob), R"({"answer": "Bag"})", "application/json")
          ->status,
      409);  // Ann holds the lease
  auto answered =
      c.Post((path + "/answer").c_str(), Bearer(ann), R"({"answer": "Bag"})", "application/json");
  ASSERT_EQ(answered->status, 200) << answered->body;
  const int64_t capture = json::parse(answered->body)["capture_id"];
  EXPECT_EQ(json::parse(answered->body)["done_by_you"], 1);
  const std::string capture_path = "/v1/captures/" + std::to_string(capture);
  auto labelled = json::parse(c.Get(capture_path.c_str(), Bearer(op))->body);
  EXPECT_EQ(labelled["review"]["label"], "Bag");
  EXPECT_EQ(labelled["review"]["reviewer"], "ann");

  // Undo: the task comes back to Ann and the label goes.
  auto undone = c.Post((path + "/undo").c_str(), Bearer(ann), "", "application/json");
  ASSERT_EQ(undone->status, 200) << undone->body;
  EXPECT_EQ(json::parse(undone->body)["task"]["id"], task);
  EXPECT_TRUE(json::parse(c.Get(capture_path.c_str(), Bearer(op))->body)["review"].is_null());
  EXPECT_EQ(c.Post((path + "/undo").c_str(), Bearer(ann), "", "application/json")->status, 409);

  // Ann and Bob work through the queue. Audit tasks never show what the model said.
  size_t blind = 0, shown = 0;
  for (const std::string& who : {ann, bob}) {
    while (true) {
      auto next = json::parse(c.Get("/v1/review/next", Bearer(who))->body);
      if (next["task"].is_null()) break;
      const auto& t = next["task"];
      if (t["blind"].get<bool>()) {
        ++blind;
        EXPECT_TRUE(t["kind"] == "audit" || t["second_opinion"].get<bool>()) << t;
        EXPECT_FALSE(t.contains("suggestions")) << t;
        EXPECT_FALSE(t.contains("reasons")) << t;
      } else {
        ++shown;
        EXPECT_EQ(t["suggestions"].size(), 3u) << t;
      }
      const std::string a = "/v1/review/" + std::to_string(t["id"].get<int64_t>()) + "/answer";
      ASSERT_EQ(c.Post(a.c_str(), Bearer(who), R"({"answer": "Coat"})", "application/json")->status,
                200);
    }
  }
  EXPECT_GT(blind, 0u);
  EXPECT_GT(shown, 0u);
  auto stats = json::parse(c.Get("/v1/review/stats", Bearer(op))->body);
  EXPECT_EQ(stats["open"], 0);
  EXPECT_EQ(stats["done"], 20);
  // Ann says Coat to everything, Bob too: where Ann contradicted a confident model, Bob's
  // second opinion agreed with her, one extra answer per such task.
  EXPECT_GT(stats["second_opinions"].get<int>(), 0);
  EXPECT_EQ(stats["answers"],
            20 + stats["double_reviewed"].get<int>() + stats["second_opinions"].get<int>());

  // The reviewed captures export as a training folder.
  const auto exported = RunCommand(Binary() + " captures export --reviewed --store " + Path(store) +
                                   " --out " + Path("review-export"));
  EXPECT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_NE(exported.out.find("Coat 20"), std::string::npos) << exported.out;
}

}  // namespace
}  // namespace steadyeye
