// Drift monitoring through the real interfaces: `steadyeye replay` switches a condition on at a
// known image, the server raises an alert that says what moved and what to do, suspends the
// stream's automatic decisions, counts it in /metrics, posts it to a webhook (retrying a failed
// post), keeps it in the store across a restart, and resolves it once the images are clean.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "server/server_fixture.h"

namespace steadyeye {
namespace {

using nlohmann::json;
using testing::Binary;
using testing::RunCommand;

class Drift : public Server {};

// Receives webhook posts; refuses the first one with 500 so that the sender must retry.
class WebhookReceiver {
 public:
  WebhookReceiver() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      if (++calls_ == 1) {
        res.status = 500;
        return;
      }
      bodies_.push_back(json::parse(req.body));
      res.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~WebhookReceiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  // Waits up to `seconds` for `n` accepted posts.
  std::vector<json> WaitFor(size_t n, int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      {
        std::lock_guard lock(mu_);
        if (bodies_.size() >= n) return bodies_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::lock_guard lock(mu_);
    return bodies_;
  }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  int calls_ = 0;
  std::vector<json> bodies_;
};

TEST_F(Drift, ADarkenedCameraIsFoundNamedSuspendedPostedKeptAndResolved) {
  const std::string store = "store-drift";
  WebhookReceiver hook;
  const std::string flags = "--drift-reference 300 --drift-resolve 400 --webhook " + hook.url();
  auto server = Start(store, flags);
  ASSERT_TRUE(server->started());
  const std::string replay = Binary() +
                             " replay --server http://127.0.0.1:" + std::to_string(server->port()) +
                             " --images fashion-mnist:test --site plant-d --concurrency 1 --json";
  // 400 clean images, then the lamp fails: underexposure from the 400th image on.
  const auto dark = RunCommand(replay +
                               " --limit 700 --seed 3 --condition underexposure --severity 4 "
                               "--from 400");
  ASSERT_EQ(dark.exit_code, 0) << dark.err;
  const json outcome = json::parse(dark.out)["drift"];
  EXPECT_EQ(outcome["false_alarms"], 0) << outcome;
  ASSERT_TRUE(outcome.contains("detected_after")) << outcome;
  EXPECT_GE(outcome["detected_after"].get<int>(), 0);
  EXPECT_LE(outcome["detected_after"].get<int>(), 100) << outcome;
  EXPECT_EQ(outcome["reason"], "too_dark") << outcome;

  auto c = server->Client();
  auto r = c.Get("/v1/alerts?site=plant-d");
  ASSERT_EQ(r->status, 200) << r->body;
  json alerts = json::parse(r->body);
  ASSERT_TRUE(alerts.is_array());
  ASSERT_EQ(alerts.size(), 1u) << alerts;
  const json alert = alerts[0];
  for (const char* field : {"site", "camera", "onset", "metrics", "cause", "action", "state"})
    EXPECT_TRUE(alert.contains(field)) << field;
  EXPECT_EQ(alert["camera"], "default");
  EXPECT_EQ(alert["state"], "open");
  EXPECT_TRUE(alert["tightened"].get<bool>());
  EXPECT_NE(alert["cause"].get<std::string>().find("peak fell"), std::string::npos) << alert;
  EXPECT_NE(alert["action"].get<std::string>().find("lamp"), std::string::npos) << alert;
  EXPECT_LT(alert["accuracy_impact"].get<double>(), 0) << alert;

  // While the alert is open, the stream's decisions go to review, saying why.
  const auto p = json::parse(Post(c, "site=plant-d", ReadText(images_[0]))->body);
  EXPECT_EQ(p["decision"], "review");
  EXPECT_NE(std::find(p["reasons"].begin(), p["reasons"].end(), "drift:too_dark"),
            p["reasons"].end())
      << p;
  // Another site is not touched.
  const auto other = json::parse(Post(c, "site=plant-e", ReadText(images_[0]))->body);
  for (const auto& reason : other["reasons"])
    EXPECT_EQ(reason.get<std::string>().rfind("drift:", 0), std::string::npos) << other;

  const std::string metrics = c.Get("/metrics")->body;
  EXPECT_NE(metrics.find("steadyeye_drift_alerts_open{site=\"plant-d\",camera=\"default\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.find("steadyeye_drift_alerts_total{site=\"plant-d\",camera=\"default\","
                         "reason=\"too_dark\"} 1"),
            std::string::npos);
  const json state = json::parse(c.Get("/v1/drift")->body);
  bool seen = false;
  for (const auto& s : state["streams"]) {
    if (s["site"] != "plant-d") continue;
    seen = true;
    EXPECT_TRUE(s["reference_ready"].get<bool>());
    EXPECT_EQ(s["open_alert"], alert["id"]);
    EXPECT_TRUE(s["quantities"].contains("peak"));
    // The served model's embeddings reach the monitor.
    EXPECT_TRUE(s["quantities"].contains("embedding")) << s["quantities"];
  }
  EXPECT_TRUE(seen) << state;

  // The webhook got the opened alert on a second attempt (the first was refused).
  const auto posts = hook.WaitFor(1, 10);
  ASSERT_GE(posts.size(), 1u);
  EXPECT_EQ(posts[0]["event"], "opened");
  EXPECT_EQ(posts[0]["alert"]["id"], alert["id"]);
  EXPECT_GE(hook.calls(), 2);

  // Bad queries get a clear error.
  EXPECT_EQ(c.Get("/v1/alerts?state=bogus")->status, 400);
  EXPECT_EQ(c.Get("/v1/alerts?limit=0")->status, 400);

  // The lamp is fixed: clean images resolve the alert, and decisions are automatic again.
  const auto clean = RunCommand(replay + " --limit 600 --seed 4");
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  alerts = json::parse(c.Get("/v1/alerts?site=plant-d&state=resolved")->body);
  ASSERT_EQ(alerts.size(), 1u) << c.Get("/v1/alerts")->body;
  EXPECT_FALSE(alerts[0]["resolved"].is_null());
  const auto after = json::parse(Post(c, "site=plant-d", ReadText(images_[0]))->body);
  for (const auto& reason : after["reasons"])
    EXPECT_EQ(reason.get<std::string>().rfind("drift:", 0), std::string::npos) << after;
  EXPECT_NE(c.Get("/metrics")
                ->body.find("steadyeye_drift_alerts_open{site=\"plant-d\",camera=\"default\"} 0"),
            std::string::npos);

  // Alerts are in the store: they outlive a kill -9, and new ones continue their ids.
  server->Signal(SIGKILL);
  server = Start(store, flags);
  ASSERT_TRUE(server->started());
  auto c2 = server->Client();
  alerts = json::parse(c2.Get("/v1/alerts")->body);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["state"], "resolved");
}

TEST_F(Drift, TighteningKeepsAutomaticDecisionsAboveTheThresholdCertifiedUnderConditions) {
  // The fixture's model, trained without production conditions, cannot be certified under
  // glare or overexposure, so under `tighten` its drifts would still suspend. A model trained
  // with them (the default) is: `train` calibrates it with a shift certificate.
  const std::string robust = Path("robust.seye");
  const auto trained = RunCommand(Binary() + " train --data fashion-mnist --out " + robust +
                                  " --epochs 4 --limit 12000 --batch-size 64 --lr 0.1 --widths "
                                  "8,16,32 --depths 1,1,1 --threads 1 --seed 4 --alpha 0.2");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto card = RunCommand(Binary() + " model-card " + robust);
  ASSERT_EQ(card.exit_code, 0) << card.err;
  const json calibration = json::parse(card.out)["calibration"];
  ASSERT_TRUE(calibration.contains("shift")) << calibration;
  ASSERT_TRUE(calibration["shift"]["certified"].get<bool>()) << calibration["shift"];
  const double lab = calibration["threshold"]["threshold"].get<double>();
  const double shifted = calibration["shift"]["threshold"].get<double>();
  ASSERT_GT(shifted, lab);  // else this test would not tell tightening from nothing

  auto server = std::make_unique<ServerProcess>("--model " + robust + " --store " +
                                                    Path("store-drift-tighten") +
                                                    " --drift-reference 300 --drift-action tighten",
                                                *dir_ / "store-drift-tighten.log");
  ASSERT_TRUE(server->started()) << server->Log();
  const auto dark = RunCommand(
      Binary() + " replay --server http://127.0.0.1:" + std::to_string(server->port()) +
      " --images fashion-mnist:test --site plant-t --concurrency 1 --json --limit 700 --seed 3 "
      "--condition underexposure --severity 4 --from 400");
  ASSERT_EQ(dark.exit_code, 0) << dark.err;
  auto c = server->Client();
  const json alerts = json::parse(c.Get("/v1/alerts?site=plant-t")->body);
  ASSERT_EQ(alerts.size(), 1u) << alerts;
  EXPECT_EQ(alerts[0]["reason"], "too_dark");
  EXPECT_EQ(alerts[0]["decisions"], "tightened") << alerts[0];
  EXPECT_TRUE(alerts[0]["tightened"].get<bool>());
  EXPECT_EQ(json::parse(c.Get("/v1/drift")->body)["options"]["action"], "tighten");

  // While the alert is open: automatic at or above the shift threshold, and only there.
  int automatic = 0, tightened = 0;
  for (const auto& image : images_) {
    const auto p = json::parse(Post(c, "site=plant-t", ReadText(image))->body);
    const double confidence = p["confidence"].get<double>();
    const auto& reasons = p["reasons"];
    const bool drift = std::find(reasons.begin(), reasons.end(), "drift:too_dark") != reasons.end();
    if (p["decision"] == "auto") {
      ++automatic;
      EXPECT_GE(confidence, shifted) << p;
    }
    if (confidence >= shifted) {
      EXPECT_FALSE(drift) << p;  // if in review, for another reason (the quality gate)
    } else if (confidence >= lab) {
      // Automatic before the drift; tightened away now.
      EXPECT_EQ(p["decision"], "review") << p;
      EXPECT_TRUE(drift) << p;
      ++tightened;
    }
  }
  EXPECT_GT(automatic, 0);
  EXPECT_GT(tightened, 0);
}

TEST_F(Drift, AuditAnswersThatSayTheModelIsWrongOpenAnAlert) {
  // Half of the automatic decisions go to the audit. The oracle reviewer first answers truly,
  // which gives the stream its audit reference; then 60% of its answers disagree with the
  // model on clean images: only the audit can tell.
  auto server = Start("store-drift-audit", "--audit-rate 0.5 --drift-reference 300");
  ASSERT_TRUE(server->started());
  const std::string replay = Binary() +
                             " replay --server http://127.0.0.1:" + std::to_string(server->port()) +
                             " --images fashion-mnist:test --site plant-a --oracle-reviewer "
                             "--json";
  // About 40% of the small test model's decisions are automatic: 700 images give some 140
  // audits, more than the 100 of the audit reference.
  const auto truthful = RunCommand(replay + " --limit 700 --seed 1 --error-rate 0");
  ASSERT_EQ(truthful.exit_code, 0) << truthful.err;
  EXPECT_EQ(json::parse(truthful.out)["alerts"].size(), 0u) << truthful.out;
  auto c = server->Client();
  const json state = json::parse(c.Get("/v1/drift")->body);
  ASSERT_EQ(state["streams"].size(), 1u) << state;
  ASSERT_TRUE(state["streams"][0]["quantities"].contains("audit_error"))
      << json::parse(truthful.out)["kept"];

  const auto wrong = RunCommand(replay + " --limit 400 --seed 2 --error-rate 0.6");
  ASSERT_EQ(wrong.exit_code, 0) << wrong.err;
  const json alerts = json::parse(c.Get("/v1/alerts?site=plant-a")->body);
  ASSERT_EQ(alerts.size(), 1u) << alerts;
  EXPECT_EQ(alerts[0]["trigger"], "audit_error") << alerts[0];
  EXPECT_EQ(alerts[0]["reason"], "items_changed") << alerts[0];
}

TEST_F(Drift, AStationaryStreamRaisesNoAlertAndMonitoringCanBeOff) {
  // The default reference (1000 frames); a short one estimates the reference less well.
  auto server = Start("store-drift-quiet");
  ASSERT_TRUE(server->started());
  const auto r =
      RunCommand(Binary() + " replay --server http://127.0.0.1:" + std::to_string(server->port()) +
                 " --images fashion-mnist:test --site plant-q --limit 5000 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["drift"]["false_alarms"], 0) << r.out;
  EXPECT_EQ(json::parse(r.out)["alerts"].size(), 0u);

  auto off = Start("store-drift-off", "--no-drift");
  ASSERT_TRUE(off->started());
  auto c = off->Client();
  const auto state = c.Get("/v1/drift");
  EXPECT_EQ(state->status, 409) << state->body;
  EXPECT_NE(state->body.find("--no-drift"), std::string::npos);
  EXPECT_EQ(c.Get("/v1/alerts")->body, "[]");
}

}  // namespace
}  // namespace steadyeye
