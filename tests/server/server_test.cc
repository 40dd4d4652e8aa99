// The server through its real interface: `steadyeye serve` as a process, spoken to over HTTP.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "server/server_fixture.h"
#include "steadyeye/core/file.h"
#include "steadyeye/store/store.h"
#include "test_util.h"

namespace steadyeye {
namespace {

using nlohmann::json;
using testing::Binary;
using testing::RunCommand;
using testing::ServerProcess;

TEST_F(Server, PredictsDecidesAndKeepsWhatMustBeKept) {
  auto server = Start("store-predict", "--audit-rate 1");
  ASSERT_TRUE(server->started());
  auto c = server->Client();
  std::set<std::string> decisions;
  const std::string model_id =
      json::parse(RunCommand(Binary() + " model-card " + Path("m.seye")).out)["version"];
  for (size_t i = 0; i < 30; ++i) {
    auto r = Post(c, "site=plant-a&camera=line-1&ts=2026-11-29T06:00:00Z", ReadText(images_[i]));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const auto j = json::parse(r->body);
    decisions.insert(j["decision"].get<std::string>());
    EXPECT_EQ(j["top"].size(), 3u);
    EXPECT_GE(j["confidence"].get<double>(), j["top"][1]["probability"].get<double>());
    EXPECT_EQ(j["model_version"], model_id);
    EXPECT_EQ(j["quality_baseline"], "model");  // the training baseline: this site has none
    EXPECT_EQ(j["time"], "2026-11-29T06:00:00Z");
    EXPECT_TRUE(j["latency_ms"].is_number());
    // Audit rate 1: every image is kept, automatic ones as audit captures.
    ASSERT_TRUE(j["capture_id"].is_number()) << j;
    const std::string kept = j["kept_because"];
    EXPECT_EQ(kept, j["decision"] == "auto"
                        ? "audit"
                        : (j["quality"]["verdict"] == "flag" ? "quality" : "review"));
    if (j["decision"] == "review") {
      EXPECT_FALSE(j["reasons"].empty());
    }
  }
  EXPECT_EQ(decisions, (std::set<std::string>{"auto", "review"}));

  // A dark frame goes to review with its cause, and is kept with its image byte for byte.
  const std::string dark = ReadText(Path("dark.png"));
  auto r = Post(c, "site=plant-a&camera=line-1", dark);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const auto j = json::parse(r->body);
  EXPECT_EQ(j["decision"], "review");
  EXPECT_EQ(j["kept_because"], "quality");
  EXPECT_NE(std::find(j["reasons"].begin(), j["reasons"].end(), "quality:too_dark"),
            j["reasons"].end())
      << j;
  const int64_t id = j["capture_id"];
  auto got = c.Get(("/v1/captures/" + std::to_string(id)).c_str());
  ASSERT_TRUE(got);
  ASSERT_EQ(got->status, 200);
  const auto capture = json::parse(got->body);
  EXPECT_EQ(capture["site"], "plant-a");
  EXPECT_EQ(capture["camera"], "line-1");
  EXPECT_EQ(capture["inclusion_probability"], 1.0);
  EXPECT_EQ(capture["probabilities"].size(), 10u);
  EXPECT_EQ(capture["quality"]["verdict"], "flag");
  auto image = c.Get(("/v1/captures/" + std::to_string(id) + "/image").c_str());
  ASSERT_TRUE(image);
  EXPECT_EQ(image->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(image->body, dark);

  // Listing, filtered and paged.
  auto list = c.Get("/v1/captures?site=plant-a&decision=review&limit=5");
  ASSERT_TRUE(list);
  const auto page = json::parse(list->body);
  EXPECT_LE(page["captures"].size(), 5u);
  for (const auto& item : page["captures"]) EXPECT_EQ(item["decision"], "review");
  EXPECT_EQ(json::parse(c.Get("/v1/captures?site=elsewhere")->body)["captures"].size(), 0u);

  // Metrics count what happened.
  const std::string metrics = c.Get("/metrics")->body;
  EXPECT_NE(metrics.find("steadyeye_predictions_total{site=\"plant-a\",decision=\"review\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("steadyeye_batch_size_count"), std::string::npos);
  EXPECT_NE(metrics.find("steadyeye_model_info{version=\"" + model_id + "\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.find("steadyeye_captures_total{kept_because=\"quality\"} 1"), std::string::npos)
      << metrics;
  EXPECT_EQ(server->Signal(SIGTERM), 0);
}

TEST_F(Server, BadInputGetsAClearErrorAndStoresNothing) {
  auto server = Start("store-bad", "--audit-rate 1 --max-body-mb 1");
  ASSERT_TRUE(server->started());
  auto c = server->Client();
  auto error_of = [](const httplib::Result& r) { return json::parse(r->body)["error"]; };
  const std::string png = ReadText(images_[0]);
  auto r = Post(c, "site=s", "not an image at all");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(error_of(r)["message"].get<std::string>().find("not a PNG or JPEG"), std::string::npos);
  r = Post(c, "site=s", png.substr(0, png.size() / 2));  // truncated
  EXPECT_EQ(r->status, 400) << r->body;
  r = Post(c, "site=s", "");
  EXPECT_EQ(r->status, 400);
  r = Post(c, "camera=c", png);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(error_of(r)["message"].get<std::string>().find("'site' is required"),
            std::string::npos);
  r = Post(c, "site=../../etc", png);
  EXPECT_EQ(r->status, 400);
  r = Post(c, "site=s&ts=yesterday", png);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(error_of(r)["message"].get<std::string>().find("ISO 8601"), std::string::npos);
  std::string huge = png;  // header claims 100000 x 100000
  for (int i : {16, 20}) huge.replace(size_t(i), 4, std::string("\x00\x01\x86\xA0", 4));
  r = Post(c, "site=s", huge);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(error_of(r)["message"].get<std::string>().find("100000x100000"), std::string::npos);
  r = Post(c, "site=s", std::string(2u << 20, 'x'));  // over --max-body-mb
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(c.Get("/v1/captures/424242")->status, 404);
  EXPECT_EQ(error_of(c.Get("/v1/captures/424242"))["code"], "NOT_FOUND");
  EXPECT_EQ(c.Get("/v1/captures?limit=0")->status, 400);
  EXPECT_EQ(c.Get("/v1/captures?since=soon")->status, 400);
  EXPECT_EQ(c.Get("/v1/nothing-here")->status, 404);
  EXPECT_EQ(c.Put("/v1/sites/s/baseline", "{\"format\"", "application/json")->status, 400);
  EXPECT_EQ(c.Put("/v1/sites/s/baseline", "{\"format\": 1}", "application/json")->status, 400);
  EXPECT_EQ(c.Get("/v1/sites/s/baseline")->status, 404);
  // Nothing of the refused requests was stored; the server still works.
  EXPECT_EQ(json::parse(c.Get("/v1/captures")->body)["captures"].size(), 0u);
  EXPECT_EQ(Post(c, "site=s", png)->status, 200);
  EXPECT_EQ(json::parse(c.Get("/v1/captures")->body)["captures"].size(), 1u);
}

TEST_F(Server, BatchRequestsAnswerEveryPartInOrder) {
  auto server = Start("store-batch");
  ASSERT_TRUE(server->started());
  auto c = server->Client();
  httplib::MultipartFormDataItems parts;
  for (int i = 0; i < 6; ++i) {
    const std::string body = i == 3 ? std::string("garbage") : ReadText(images_[size_t(i)]);
    parts.push_back(
        {"image" + std::to_string(i), body, "img" + std::to_string(i) + ".png", "image/png"});
  }
  auto r = c.Post("/v1/predict/batch?site=plant-b", parts);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto results = json::parse(r->body)["results"];
  ASSERT_EQ(results.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(results[size_t(i)]["part"], "img" + std::to_string(i) + ".png");
    EXPECT_EQ(results[size_t(i)].contains("error"), i == 3) << results[size_t(i)];
    if (i != 3) {
      EXPECT_TRUE(results[size_t(i)]["label"].is_string());
    }
  }
  EXPECT_EQ(c.Post("/v1/predict/batch?site=plant-b", "x", "text/plain")->status, 400);
}

// Every route of the OpenAPI document answers (not 404/405), with its path parameters filled in.
TEST_F(Server, OpenApiDocumentMatchesTheRoutes) {
  auto server = Start("store-openapi", "--audit-rate 1");
  ASSERT_TRUE(server->started());
  auto c = server->Client();
  const auto predicted = json::parse(Post(c, "site=plant-a", ReadText(images_[1]))->body);
  const std::string id = std::to_string(predicted["capture_id"].get<int64_t>());
  const auto doc = json::parse(c.Get("/openapi.json")->body);
  EXPECT_EQ(doc["openapi"], "3.0.3");
  size_t checked = 0;
  // Writes first (the PUT creates the baseline the GET then reads), then reads.
  std::vector<std::pair<std::string, std::string>> calls;
  for (const auto& [path, methods] : doc["paths"].items()) {
    for (const auto& [method, op] : methods.items()) calls.emplace_back(method, path);
  }
  std::stable_sort(calls.begin(), calls.end(), [](const auto& a, const auto& b) {
    return a.first == "put" && b.first != "put";
  });
  const std::string task =
      std::to_string(json::parse(c.Get("/v1/review/next")->body)["task"]["id"].get<int64_t>());
  for (const auto& [method, path] : calls) {
    std::string concrete = path;
    for (const auto& [name, value] : {std::pair<std::string, std::string>{"{id}", id},
                                      {"{site}", "plant-a"},
                                      {"{task}", task},
                                      {"{file}", "review.js"}}) {
      if (auto at = concrete.find(name); at != std::string::npos)
        concrete.replace(at, name.size(), value);
    }
    {
      auto call = [&]() {
        if (method == "post")
          return c.Post((concrete + "?site=plant-a").c_str(), ReadText(images_[2]), "image/png");
        if (method == "put") {
          // The model card's own baseline is a valid site baseline (and has no "weight").
          const auto card = json::parse(RunCommand(Binary() + " model-card " + Path("m.seye")).out);
          return c.Put(concrete.c_str(), card["quality_baseline"].dump(), "application/json");
        }
        if (method == "delete") return c.Delete(concrete.c_str());
        return c.Get(concrete.c_str());
      };
      const auto r = call();
      ASSERT_TRUE(r) << method << " " << concrete;
      // A route that is not there answers 404 "no route"; a handler's 404 names what is missing.
      EXPECT_EQ(r->body.find("no route"), std::string::npos) << method << " " << concrete;
      EXPECT_NE(r->status, 405) << method << " " << concrete;
      EXPECT_LT(r->status, 500) << method << " " << concrete << ": " << r->body;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 31u);
}

TEST_F(Server, SiteBaselinesArePersistedAndUsed) {
  auto server = Start("store-baseline");
  ASSERT_TRUE(server->started());
  auto c = server->Client();
  ASSERT_EQ(
      RunCommand(Binary() + " quality baseline --images fashion-mnist:train --limit 500 --out " +
                 Path("site-b.json"))
          .exit_code,
      0);
  auto put = c.Put("/v1/sites/plant-b/baseline", ReadText(Path("site-b.json")), "application/json");
  ASSERT_EQ(put->status, 200) << put->body;
  EXPECT_EQ(json::parse(put->body)["reference_images"], 500);
  EXPECT_EQ(json::parse(Post(c, "site=plant-b", ReadText(images_[0]))->body)["quality_baseline"],
            "site");
  EXPECT_EQ(json::parse(Post(c, "site=plant-c", ReadText(images_[0]))->body)["quality_baseline"],
            "model");
  EXPECT_EQ(server->Signal(SIGTERM), 0);
  auto again = Start("store-baseline");
  ASSERT_TRUE(again->started());
  EXPECT_NE(again->Log().find("1 site baselines"), std::string::npos) << again->Log();
  auto c2 = again->Client();
  EXPECT_EQ(json::parse(Post(c2, "site=plant-b", ReadText(images_[0]))->body)["quality_baseline"],
            "site");
}

TEST_F(Server, FullQueueAnswers429WithRetryAfter) {
  auto server = Start("store-429",
                      "--max-queue 1 --max-batch 1 --max-delay-us 0 --http-threads 64 --threads 1");
  ASSERT_TRUE(server->started());
  const std::string png = ReadText(images_[0]);
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::atomic<bool> retry_after{true};
  std::vector<std::thread> clients;
  for (int t = 0; t < 48; ++t) {
    clients.emplace_back([&] {
      auto c = server->Client();
      for (int i = 0; i < 10; ++i) {
        auto r = Post(c, "site=s", png);
        if (r && r->status == 200) {
          ++ok;
        } else if (r && r->status == 429) {
          ++refused;
          if (r->get_header_value("Retry-After") != "1") retry_after = false;
        } else {
          ++other;
          std::fprintf(stderr, "unexpected: %s\n",
                       r ? (std::to_string(r->status) + " " + r->body).c_str()
                         : httplib::to_string(r.error()).c_str());
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(refused.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_TRUE(retry_after.load());
  EXPECT_NE(server->Client().Get("/metrics")->body.find("code=\"429\""), std::string::npos);
}

// SIGTERM while requests wait in a slow batch (0.5 s max delay): they all finish with 200.
TEST_F(Server, SigtermFinishesInFlightRequests) {
  auto server = Start("store-term", "--max-batch 64 --max-delay-us 500000");
  ASSERT_TRUE(server->started());
  const std::string png = ReadText(images_[0]);
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      auto c = server->Client();
      auto r = Post(c, "site=s", png);
      (r && r->status == 200 ? ok : failed)++;
      if (!r || r->status != 200) {
        std::fprintf(stderr, "failed: %s\n",
                     r ? (std::to_string(r->status) + " " + r->body).c_str()
                       : httplib::to_string(r.error()).c_str());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // all 8 are waiting for the batch
  const int status = server->Signal(SIGTERM);
  for (auto& t : clients) t.join();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << server->Log();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_NE(server->Log().find("finishing in-flight requests"), std::string::npos);
}

// Clients record every capture id the server acknowledged; the server is killed with SIGKILL
// mid-stream. Every acknowledged capture is in the store afterwards, image and all.
TEST_F(Server, AcknowledgedCapturesSurviveKill9) {
  auto server = Start("store-kill", "--audit-rate 1");
  ASSERT_TRUE(server->started());
  std::mutex mu;
  std::vector<std::pair<int64_t, std::string>> acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      auto c = server->Client();
      for (size_t i = size_t(t); !stop; i = (i + 4) % images_.size()) {
        const std::string body = ReadText(images_[i]);
        auto r = Post(c, "site=k", body);
        if (!r || r->status != 200) return;  // the server is gone
        std::lock_guard lock(mu);
        acked.emplace_back(json::parse(r->body)["capture_id"].get<int64_t>(), body);
      }
    });
  }
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::lock_guard lock(mu);
    if (acked.size() >= 200) break;
  }
  server->Signal(SIGKILL);
  stop = true;
  for (auto& t : clients) t.join();
  auto store = OpenSqliteStore(Path("store-kill"));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (const auto& [id, body] : acked) {
    const auto image = (*store)->GetImage(id);
    ASSERT_TRUE(image.ok()) << "acknowledged capture " << id
                            << " lost: " << image.status().ToString();
    EXPECT_EQ(std::string(image->begin(), image->end()), body);
  }
}

TEST_F(Server, ReviewedCapturesExportAsATrainingFolder) {
  auto server = Start("store-export", "--audit-rate 1");
  ASSERT_TRUE(server->started());
  auto c = server->Client();
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(json::parse(Post(c, "site=e", ReadText(images_[size_t(i)]))->body)["capture_id"]);
  server->Signal(SIGTERM);
  const std::string store = Path("store-export");
  ASSERT_EQ(RunCommand(Binary() + " captures label --store " + store + " --id " +
                       std::to_string(ids[0]) + " --label Sneaker")
                .exit_code,
            0);
  ASSERT_EQ(RunCommand(Binary() + " captures label --store " + store + " --id " +
                       std::to_string(ids[2]) + " --label Bag")
                .exit_code,
            0);
  const auto unknown =
      RunCommand(Binary() + " captures label --store " + store + " --id 999 --label Bag");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no capture with id 999"), std::string::npos);
  const auto refused =
      RunCommand(Binary() + " captures export --store " + store + " --out " + Path("export"));
  EXPECT_EQ(refused.exit_code, 1);
  const auto r = RunCommand(Binary() + " captures export --store " + store + " --reviewed --out " +
                            Path("export"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("exported 2 reviewed captures"), std::string::npos) << r.out;
  EXPECT_EQ(ReadText(Path("export") + "/Sneaker/" + std::to_string(ids[0]) + ".png"),
            ReadText(images_[0]));
  EXPECT_TRUE(std::filesystem::exists(Path("export") + "/Bag/" + std::to_string(ids[2]) + ".png"));
  // The export is an image folder steadyeye reads as training data.
  const auto e = RunCommand(Binary() + " eval --model " + Path("m.seye") + " --data " +
                            Path("export") + " --json");
  EXPECT_EQ(e.exit_code, 0) << e.err;

  // Retention: a tiny size limit removes every capture but the two reviewed ones.
  EXPECT_EQ(RunCommand(Binary() + " captures prune --store " + store).exit_code, 1);
  const auto pruned =
      RunCommand(Binary() + " captures prune --store " + store + " --max-mb 0.000001");
  ASSERT_EQ(pruned.exit_code, 0) << pruned.err;
  EXPECT_NE(pruned.out.find("removed 1 captures"), std::string::npos) << pruned.out;
  auto again = Start("store-export");
  ASSERT_TRUE(again->started());
  const auto left = json::parse(again->Client().Get("/v1/captures")->body)["captures"];
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0]["review"]["label"], "Sneaker");
}

}  // namespace
}  // namespace steadyeye
