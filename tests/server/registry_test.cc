// The model registry through its real interfaces: `steadyeye models` and `steadyeye serve`
// without --model, which serves the store's champion.
#include <signal.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "server_fixture.h"
#include "steadyeye/core/file.h"

namespace steadyeye {
namespace {

using json = nlohmann::json;
using testing::Binary;
using testing::RunCommand;

class Registry : public Server {
 protected:
  static testing::CommandResult Models(const std::string& args) {
    return RunCommand(Binary() + " models " + args);
  }
  static std::string VersionOf(const std::string& bundle) {
    return json::parse(RunCommand(Binary() + " model-card " + Path(bundle)).out)["version"];
  }
  static std::unique_ptr<ServerProcess> ServeStore(const std::string& store,
                                                   const std::string& extra = "") {
    return std::make_unique<ServerProcess>("--store " + Path(store) + " " + extra,
                                           *dir_ / (store + "-serve.log"));
  }
  // The fixture's two versions of one model: tiny.seye as champion, calibrated.seye beside it.
  static void RegisterBoth(const std::string& store) {
    EXPECT_EQ(Models("register --store " + store + " " + Path("tiny.seye") + " --alias champion")
                  .exit_code,
              0);
    EXPECT_EQ(Models("register --store " + store + " " + Path("calibrated.seye")).exit_code, 0);
  }
  // What `steadyeye predict` gives for each fixture image under `bundle`: the confidence.
  static std::vector<double> Expected(const std::string& bundle) {
    std::string files;
    for (const auto& image : images_) files += " " + image;
    const auto r = RunCommand(Binary() + " predict --json --model " + Path(bundle) + files);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<double> out;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
      out.push_back(json::parse(line)["probability"].get<double>());
    EXPECT_EQ(out.size(), images_.size());
    return out;
  }
  // Waits (up to 5 s) until /readyz names a model for `site`; returns /readyz.
  static json AwaitSiteModel(ServerProcess& server, const std::string& site) {
    auto c = server.Client();
    json health;
    for (int wait = 0; wait < 100; ++wait) {
      health = json::parse(c.Get("/readyz")->body);
      if (health["site_models"].contains(site)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return health;
  }
  static std::string ServedVersion(ServerProcess& server, const std::string& site = "plant-a") {
    auto c = server.Client();
    auto r = Post(c, "site=" + site, ReadText(images_[0]));
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    return r && r->status == 200 ? json::parse(r->body)["model_version"].get<std::string>() : "";
  }
};

TEST_F(Registry, ModelsAreRegisteredPromotedServedAndRolledBack) {
  const std::string store = Path("store-registry");
  const std::string tiny = VersionOf("tiny.seye"), calibrated = VersionOf("calibrated.seye");
  // Calibrating makes a new version of the same weights.
  ASSERT_NE(tiny, calibrated);
  EXPECT_EQ(tiny.substr(0, 16), calibrated.substr(0, 16));

  auto r = Models("register --store " + store + " " + Path("tiny.seye") + " --alias champion");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), tiny);
  r = Models("register --store " + store + " " + Path("calibrated.seye") + " --reason 'alpha 0.2'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto listed = json::parse(Models("list --json --store " + store).out);
  ASSERT_EQ(listed.size(), 2u) << listed;
  EXPECT_EQ(listed[0]["id"], tiny);
  EXPECT_EQ(listed[0]["aliases"], "champion");
  EXPECT_EQ(listed[1]["reason"], "alpha 0.2");

  {
    auto server = ServeStore("store-registry");
    ASSERT_TRUE(server->started()) << server->Log();
    EXPECT_EQ(ServedVersion(*server), tiny);
  }
  // Promotion by a unique prefix of the version.
  r = Models("promote --store " + store + " " + calibrated.substr(0, 20) + " --reason better");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "champion: " + tiny + " -> " + calibrated + "\n");
  {
    auto server = ServeStore("store-registry");
    ASSERT_TRUE(server->started()) << server->Log();
    EXPECT_EQ(ServedVersion(*server), calibrated);
  }
  r = Models("rollback --store " + store);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "champion: " + calibrated + " -> " + tiny + "\n");
  {
    auto server = ServeStore("store-registry");
    ASSERT_TRUE(server->started()) << server->Log();
    EXPECT_EQ(ServedVersion(*server), tiny);
  }

  ASSERT_EQ(Models("assign --store " + store + " " + calibrated + " --site plant-b").exit_code, 0);
  const auto shown = json::parse(Models("show --store " + store + " " + calibrated).out);
  EXPECT_EQ(shown["aliases"], "site:plant-b");
  EXPECT_EQ(shown["card"]["calibration"]["threshold"]["alpha"], 0.2)
      << shown["card"]["calibration"];
  const auto history = json::parse(Models("history --store " + store).out);
  ASSERT_EQ(history.size(), 4u) << history;
  EXPECT_EQ(history[0]["alias"], "site:plant-b");
  EXPECT_EQ(history[1]["reason"], "rollback");
  EXPECT_EQ(history[2]["reason"], "better");

  // Clear errors, and nothing changes.
  r = Models("promote --store " + store + " zzzzzzzz");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no registered model zzzzzzzz"), std::string::npos) << r.err;
  r = Models("promote --store " + store + " " + tiny + " --alias best");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("champion, challenger, site:<site>"), std::string::npos) << r.err;
  r = Models("register --store " + store + " " + Path("images/none.seye"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(json::parse(Models("list --json --store " + store).out).size(), 2u);
}

struct Answer {
  size_t image = 0;
  int status = 0;
  std::string version;
  double confidence = 0;
};

TEST_F(Registry, ARunningServerSwitchesUnderLoadWithoutAFailedOrMixedRequest) {
  const std::string store = Path("store-switch");
  const std::string tiny = VersionOf("tiny.seye"), calibrated = VersionOf("calibrated.seye");
  RegisterBoth(store);
  // Same weights, other calibration: a request that mixed them (one model's logits, the
  // other's temperature) would get a confidence neither version gives.
  const std::map<std::string, std::vector<double>> expected = {
      {tiny, Expected("tiny.seye")}, {calibrated, Expected("calibrated.seye")}};
  auto server = ServeStore("store-switch", "--registry-poll 0.1");
  ASSERT_TRUE(server->started()) << server->Log();

  std::mutex mu;
  std::vector<Answer> answers;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (size_t t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      auto c = server->Client();
      for (size_t i = t; !stop; i += 4) {
        const size_t image = i % images_.size();
        auto r = Post(c, "site=plant-a", ReadText(images_[image]));
        Answer a{image, r ? r->status : 0, "", 0};
        if (r && r->status == 200) {
          const auto j = json::parse(r->body);
          a.version = j["model_version"];
          a.confidence = j["confidence"];
        }
        std::lock_guard lock(mu);
        answers.push_back(a);
      }
    });
  }
  // Waits until `version` has answered `n` requests since the call.
  auto served = [&](const std::string& version, size_t n) {
    size_t from = 0;
    {
      std::lock_guard lock(mu);
      from = answers.size();
    }
    for (int wait = 0; wait < 300; ++wait) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::lock_guard lock(mu);
      size_t seen = 0;
      for (size_t i = from; i < answers.size(); ++i) seen += answers[i].version == version;
      if (seen >= n) return true;
    }
    return false;
  };
  EXPECT_TRUE(served(tiny, 100));
  ASSERT_EQ(Models("promote --store " + store + " " + calibrated).exit_code, 0);
  EXPECT_TRUE(served(calibrated, 200)) << "the promotion did not reach the server";
  ASSERT_EQ(Models("rollback --store " + store).exit_code, 0);
  EXPECT_TRUE(served(tiny, 200)) << "the rollback did not reach the server";
  stop = true;
  for (auto& t : clients) t.join();

  std::map<std::string, size_t> by_version;
  for (const Answer& a : answers) {
    ASSERT_EQ(a.status, 200) << "a request failed during the switches";
    ASSERT_TRUE(expected.count(a.version)) << a.version;
    ++by_version[a.version];
    EXPECT_NEAR(a.confidence, expected.at(a.version)[a.image], 1e-5)
        << "image " << a.image << " under " << a.version;
  }
  EXPECT_GE(by_version[calibrated], 200u);
  EXPECT_EQ(answers.back().version, tiny);
  EXPECT_NE(server->Log().find("serving " + calibrated + " (champion)"), std::string::npos)
      << server->Log();
}

// A challenger alias puts a model in the shadow of a running server: it classifies the same
// images as the model serving them, its answers are only counted (the responses stay the
// serving model's, to the digit), and the counts reach the registry within a poll.
TEST_F(Registry, AChallengerIsScoredInTheShadowOfLiveTrafficWithoutChangingAnAnswer) {
  const std::string store = Path("store-shadow");
  const std::string tiny = VersionOf("tiny.seye"), calibrated = VersionOf("calibrated.seye");
  RegisterBoth(store);
  const auto expected = Expected("tiny.seye");
  auto server = ServeStore("store-shadow", "--registry-poll 0.1");
  ASSERT_TRUE(server->started()) << server->Log();
  ASSERT_EQ(Models("promote --store " + store + " " + calibrated + " --alias challenger:plant-b")
                .exit_code,
            0);
  auto c = std::make_unique<httplib::Client>(server->Client());
  auto shadows = [&] { return json::parse(c->Get("/readyz")->body)["shadows"]; };
  for (int wait = 0; wait < 100 && !shadows().contains("plant-b"); ++wait)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(shadows(), json({{"plant-b", calibrated}}));

  auto post = [&](const std::string& site, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      auto r = Post(*c, "site=" + site, ReadText(images_[i]));
      ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
      const auto j = json::parse(r->body);
      EXPECT_EQ(j["model_version"], tiny);
      EXPECT_NEAR(j["confidence"].get<double>(), expected[i], 1e-5) << "image " << i;
    }
  };
  post("plant-b", 24);
  post("plant-a", 10);  // no challenger there
  auto scored = [&](const std::string& site) {
    json shown;
    for (int wait = 0; wait < 100; ++wait) {
      shown = json::parse(Models("show --store " + store + " " + calibrated).out)["shadow"];
      if (shown.contains(site)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return shown;
  };
  json shown = scored("plant-b");
  ASSERT_TRUE(shown.contains("plant-b")) << shown;
  EXPECT_FALSE(shown.contains("plant-a")) << shown;
  EXPECT_EQ(shown["plant-b"]["images"], 24);
  // The same weights under another calibration: the same label every time.
  EXPECT_EQ(shown["plant-b"]["agreed"], 24);
  EXPECT_EQ(shown["plant-b"]["agreement"], 1.0);

  // The global challenger is scored at every site without one of its own.
  ASSERT_EQ(Models("promote --store " + store + " " + calibrated + " --alias challenger").exit_code,
            0);
  for (int wait = 0; wait < 100 && !shadows().contains("*"); ++wait)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(shadows(), json({{"*", calibrated}, {"plant-b", calibrated}}));
  post("plant-a", 10);
  shown = scored("plant-a");
  EXPECT_EQ(shown["plant-a"]["images"], 10) << shown;
  EXPECT_NE(server->Log().find("shadow at plant-b: " + calibrated), std::string::npos)
      << server->Log();

  // A busy server may score a random share of its images: about half of 60 here (the seed is
  // fixed; under 10 or over 50 has a chance below 1e-8).
  server.reset();
  server = ServeStore("store-shadow", "--registry-poll 0.1 --shadow-share 0.5");
  ASSERT_TRUE(server->started()) << server->Log();
  c = std::make_unique<httplib::Client>(server->Client());
  post("plant-b", 60);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // several registry polls
  const json sampled = scored("plant-b");
  const int added = sampled["plant-b"]["images"].get<int>() - 24;
  EXPECT_GE(added, 10) << sampled;
  EXPECT_LE(added, 50) << sampled;
  const auto bad = RunCommand(Binary() + " serve --store " + store + " --shadow-share 1.5");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--shadow-share"), std::string::npos) << bad.err;
}

TEST_F(Registry, ASiteGetsItsOwnModelWhileRunning) {
  const std::string store = Path("store-sites");
  const std::string tiny = VersionOf("tiny.seye"), calibrated = VersionOf("calibrated.seye");
  RegisterBoth(store);
  auto server = ServeStore("store-sites", "--registry-poll 0.1");
  ASSERT_TRUE(server->started()) << server->Log();
  ASSERT_EQ(Models("assign --store " + store + " " + calibrated + " --site plant-b").exit_code, 0);
  const json health = AwaitSiteModel(*server, "plant-b");
  EXPECT_EQ(health["site_models"]["plant-b"], calibrated) << health;
  EXPECT_EQ(health["model_version"], tiny);
  EXPECT_EQ(ServedVersion(*server, "plant-b"), calibrated);
  EXPECT_EQ(ServedVersion(*server, "plant-a"), tiny);
}

// The loop at one site, through the CLI and a running server that follows the registry: dust
// settles on plant-d's lens, reviewers label what the model sends them, `adapt` makes a
// challenger from the site's captures without labels, and `models gate` judges it on the site's
// held-out reviewed images, clean images and the shift suite; only what passes is served.
TEST_F(Registry, AnAdaptedSiteModelIsServedOnlyOnceTheGatePassesIt) {
  const std::string store = Path("store-gate");
  const std::string base = VersionOf("m.seye");
  ASSERT_EQ(
      Models("register --store " + store + " " + Path("m.seye") + " --alias champion").exit_code,
      0);
  auto server = ServeStore("store-gate", "--registry-poll 0.1");
  ASSERT_TRUE(server->started()) << server->Log();
  const auto replay =
      RunCommand(Binary() + " replay --server http://127.0.0.1:" + std::to_string(server->port()) +
                 " --images fashion-mnist:test --site plant-d --limit 1200 "
                 "--seed 5 --condition dust --severity 3 --oracle-reviewer");
  ASSERT_EQ(replay.exit_code, 0) << replay.err;

  // Nothing to adapt from at a site that sent nothing; no challenger to judge yet.
  auto r = RunCommand(Binary() + " adapt --store " + store + " --site nowhere");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("site nowhere has no captured image"), std::string::npos) << r.err;
  r = Models("gate --store " + store + " --site plant-d");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("site plant-d has no challenger"), std::string::npos) << r.err;

  // At normal priority, as the tests' other background commands: a parallel test could otherwise
  // hold both cores and starve it (the default, idle, is checked by the loop test below).
  r = RunCommand(Binary() + " adapt --priority normal --store " + store + " --site plant-d");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto listed = json::parse(Models("list --json --store " + store).out);
  ASSERT_EQ(listed.size(), 2u) << listed;
  const std::string adapted = listed[1]["id"];
  EXPECT_EQ(listed[1]["aliases"], "challenger:plant-d");
  EXPECT_EQ(listed[1]["parent"], base) << listed[1];

  // Much better at the dusty site, much worse on clean images: refused, logged, not served.
  r = Models("gate --json --clean-images 1000 --shift-images 100 --store " + store +
             " --site plant-d");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json refused = json::parse(r.out);
  EXPECT_FALSE(refused["promoted"].get<bool>()) << refused;
  const json& site = refused["evidence"]["comparisons"][0];
  EXPECT_TRUE(site["target"].get<bool>());
  EXPECT_GE(site["n"].get<int>(), 200) << site;
  EXPECT_GT(site["lower_bound"].get<double>(), 0.1) << site;
  const json& clean = refused["evidence"]["comparisons"][1];
  EXPECT_FALSE(clean["non_inferior"].get<bool>()) << clean;
  EXPECT_NE(refused["evidence"]["refusals"][0].get<std::string>().find("clean"), std::string::npos)
      << refused;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(ServedVersion(*server, "plant-d"), base);

  // With a wider margin on lab images it would pass, but no live image has been scored by it
  // in the shadow yet, and the gate was asked for 50: refused for that alone.
  r = Models("gate --json --clean-images 1000 --shift-images 100 --store " + store +
             " --site plant-d --lab-margin 0.5 --min-shadow 50");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json unscored = json::parse(r.out);
  EXPECT_FALSE(unscored["promoted"].get<bool>()) << unscored;
  EXPECT_EQ(unscored["evidence"]["refusals"],
            json({"shadow: scored on 0 live images at site plant-d, needs 50 before it acts"}));
  EXPECT_EQ(unscored["evidence"]["shadow"]["images"], 0);

  // A site's own model may be allowed to lose on lab images: then it passes and is served there.
  r = Models("gate --json --clean-images 1000 --shift-images 100 --store " + store +
             " --site plant-d --lab-margin 0.5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json passed = json::parse(r.out);
  EXPECT_TRUE(passed["promoted"].get<bool>()) << passed;
  EXPECT_EQ(passed["challenger"], adapted);
  EXPECT_EQ(AwaitSiteModel(*server, "plant-d")["site_models"]["plant-d"], adapted);
  EXPECT_EQ(ServedVersion(*server, "plant-d"), adapted);
  EXPECT_EQ(ServedVersion(*server, "plant-a"), base);
  const auto history = json::parse(Models("history --store " + store + " --site plant-d").out);
  EXPECT_EQ(history[0]["reason"], "gate decision " + std::to_string(passed["id"].get<int>()));
  const auto decisions = json::parse(Models("decisions --store " + store + " --site plant-d").out);
  ASSERT_EQ(decisions.size(), 3u) << decisions;
  EXPECT_FALSE(decisions[2]["promoted"].get<bool>());
  EXPECT_EQ(decisions[2]["evidence"]["margin"], 0.01);
}

// Retraining, triggered by the loop worker: once a site has enough new reviewed images,
// `steadyeye loop` fine-tunes the site's model on its reviewed captures (outside the gate's
// holdout) with a replay of lab images, and gates it. Unlike the adapted model above, it need
// not trade clean accuracy for the site's: it passes the gate at its default margin. (The
// reviewed replays send one request at a time, so captures are numbered in the stream's order
// and every run trains and judges on the same images; with several in flight, plant-d's drift
// monitor once saw its dust stream in an order that raised an alert.)
TEST_F(Registry, TheLoopRetrainsASiteWithNewReviewedImagesAndTheGatePassesIt) {
  const std::string store = Path("store-retrain");
  const std::string base = VersionOf("m.seye");
  auto server = Start("store-retrain", "--drift-reference 300");
  ASSERT_TRUE(server->started());
  const std::string replay = Binary() +
                             " replay --server http://127.0.0.1:" + std::to_string(server->port()) +
                             " --images fashion-mnist:test --oracle-reviewer --condition dust "
                             "--severity 3 --seed 6 --concurrency 1 ";
  ASSERT_EQ(RunCommand(replay + "--site plant-e --limit 40").exit_code, 0);
  ASSERT_EQ(RunCommand(replay + "--site plant-d --limit 1200").exit_code, 0);
  // plant-f's lamp fails after 400 images: a drift alert.
  const auto dark =
      RunCommand(Binary() + " replay --server http://127.0.0.1:" + std::to_string(server->port()) +
                 " --images fashion-mnist:test --site plant-f --limit 700 --seed 3 "
                 "--condition underexposure --severity 4 --from 400 --json");
  ASSERT_EQ(dark.exit_code, 0) << dark.err;
  ASSERT_TRUE(json::parse(dark.out)["drift"].contains("detected_after")) << dark.out;
  auto r = RunCommand(Binary() + " retrain --store " + store + " --site plant-e");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("site plant-e has"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("50 are needed"), std::string::npos) << r.err;

  // plant-e's 30-odd reviewed images trigger nothing; plant-d's 900 make a challenger, which
  // the server scores in the shadow. The gate waits until it has 100 live images.
  const std::string loop = Binary() + " loop --once --store " + store +
                           " --retrain-every 100 --shift-images 100 --no-alert-trigger";
  r = RunCommand(loop);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("at idle CPU priority (SCHED_IDLE"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("plant-d (reviewed:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("scored in the shadow until it has 100 live images"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("plant-e"), std::string::npos) << r.out;
  EXPECT_EQ(json::parse(Models("decisions --store " + store).out).size(), 0u);
  // Served again as a deployment runs, following the registry (serve without --model).
  server.reset();
  server = ServeStore("store-retrain", "--drift-reference 300 --registry-poll 0.1");
  ASSERT_TRUE(server->started()) << server->Log();
  auto c = server->Client();
  // Generous waits: the test shares 2 cores with another test under `ctest -j 2`.
  for (int wait = 0; wait < 400; ++wait) {
    if (json::parse(c.Get("/readyz")->body)["shadows"].contains("plant-d")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Unreviewed live images (no reviewer here): the shadow's evidence, not the retraining's.
  ASSERT_EQ(
      RunCommand(Binary() + " replay --server http://127.0.0.1:" + std::to_string(server->port()) +
                 " --images fashion-mnist:test --condition dust --severity 3 --seed 8 "
                 "--site plant-d --limit 120")
          .exit_code,
      0);
  const std::string challenger = json::parse(Models("list --json --store " + store).out)[1]["id"];
  for (int wait = 0; wait < 300; ++wait) {  // the server saves its counts at every registry poll
    const auto shown = json::parse(Models("show --store " + store + " " + challenger).out);
    if (shown["shadow"].value("plant-d", json::object()).value("images", 0) >= 100) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  r = RunCommand(loop);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("plant-d (shadow): challenger"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("promoted"), std::string::npos) << r.out;
  const auto listed = json::parse(Models("list --json --store " + store).out);
  ASSERT_EQ(listed.size(), 2u) << listed;
  const std::string retrained = listed[1]["id"];
  EXPECT_EQ(listed[1]["parent"], base);
  EXPECT_EQ(listed[1]["registered_by"].get<std::string>().rfind("loop:reviewed:", 0), 0u)
      << listed[1];
  EXPECT_EQ(listed[1]["aliases"], "challenger:plant-d,site:plant-d");
  const auto card = json::parse(Models("show --store " + store + " " + retrained).out)["card"];
  EXPECT_EQ(card["training_data"]["fine_tuned_from"], base);
  EXPECT_NE(card["training_data"]["source"].get<std::string>().find("site plant-d"),
            std::string::npos)
      << card["training_data"];
  EXPECT_TRUE(card.contains("calibration")) << card;
  const auto decisions = json::parse(Models("decisions --store " + store).out);
  ASSERT_EQ(decisions.size(), 1u) << decisions;
  EXPECT_TRUE(decisions[0]["promoted"].get<bool>()) << decisions[0];
  for (const auto& comparison : decisions[0]["evidence"]["comparisons"])
    EXPECT_TRUE(comparison["non_inferior"].get<bool>()) << comparison;
  const auto& shadow = decisions[0]["evidence"]["shadow"];
  EXPECT_GE(shadow["images"].get<int>(), 100) << shadow;
  EXPECT_LE(shadow["agreed"].get<int>(), shadow["images"].get<int>()) << shadow;
  EXPECT_EQ(decisions[0]["evidence"]["min_shadow_images"], 100);

  // The alert trigger: too few reviewed images to retrain on (as set here), so plant-f gets a
  // label-free adaptation, judged at once (no shadow asked for). plant-d has no alert.
  const std::string on_alert = Binary() + " loop --once --priority normal --store " + store +
                               " --retrain-every 0 --min-reviewed 100000 --shift-images 100 "
                               "--min-shadow 0";
  r = RunCommand(on_alert);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("plant-f (drift-alert:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("from store captures of site plant-f"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("gate decision 2"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("plant-d"), std::string::npos) << r.out;

  // Nothing new since: the next rounds trigger nothing. plant-f's alert is still open, so each
  // round tries to certify its threshold on the site's images since the onset that the adapted
  // model has not seen: none yet.
  for (const std::string& round : {loop, on_alert}) {
    r = RunCommand(round);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("no trigger at any of 3 sites"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("plant-f: no site certificate yet: "), std::string::npos) << r.out;
  }
}

// A camera bumped for good: frames are flagged for displacement against the model's baseline
// until the loop promotes a model for the site's alert. It then re-takes the site's quality
// baseline from the images since the alert's onset, and the server, following the store, judges
// the next frames against it without a restart. A baseline file that does not load is logged
// and changes nothing. (The gate is not what this test is about, so its run is made the same
// every time: with several requests in flight, captures were numbered in another order each run,
// the gate's holdout and the retraining's images differed, and the small fixture model's gain at
// the site ranged from -1.1 to +4.4 points, so the gate's "better where it was meant to be"
// sometimes refused it. One request at a time numbers them in the stream's order. Its margin of
// 10 points keeps non-inferiority elsewhere from deciding either.)
TEST_F(Registry, AfterPromotingForAnAlertTheLoopRetakesTheSiteBaselineAndTheServerFollows) {
  const std::string store = Path("store-rebaseline");
  ASSERT_EQ(
      Models("register --store " + store + " " + Path("m.seye") + " --alias champion").exit_code,
      0);
  auto server = ServeStore("store-rebaseline", "--drift-reference 300 --registry-poll 0.1");
  ASSERT_TRUE(server->started()) << server->Log();
  const std::string replay = Binary() +
                             " replay --server http://127.0.0.1:" + std::to_string(server->port()) +
                             " --images fashion-mnist:test --site plant-g --oracle-reviewer "
                             "--condition displacement --severity 4 --concurrency 1 --json ";
  auto r = RunCommand(replay + "--limit 1100 --from 300 --seed 4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json bumped = json::parse(r.out);
  ASSERT_TRUE(bumped["drift"].contains("detected_after")) << r.out;
  // The 800 displaced frames are flagged, the 300 before them hardly ever.
  EXPECT_GT(bumped["kept"]["quality"].get<int>(), 600) << bumped["kept"];
  auto c = server->Client();
  EXPECT_EQ(c.Get("/v1/sites/plant-g/baseline")->status, 404);

  r = RunCommand(Binary() + " loop --once --priority normal --store " + store +
                 " --retrain-every 0 --shift-images 100 --min-shadow 0 --margin 0.1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("plant-g (drift-alert:"), std::string::npos) << r.out;
  ASSERT_NE(r.out.find("promoted"), std::string::npos) << r.out;
  const auto retaken = r.out.find("plant-g: quality baseline re-taken from ");
  ASSERT_NE(retaken, std::string::npos) << r.out;
  const int reference = std::stoi(r.out.substr(retaken + 40));
  EXPECT_GE(reference, 100) << r.out;
  // Then it tries to certify the promoted model's threshold on the site's reviewed images since
  // the alert's onset that it was not trained on (the gate's held-out ones), and says how it
  // went; how many such images there are depends on how far the oracle reviewer got.
  const bool certified = r.out.find("plant-g: site certificate: threshold ") != std::string::npos;
  const bool tried = r.out.find("plant-g: no site certificate yet: ") != std::string::npos;
  EXPECT_TRUE(certified || tried) << r.out;
  json served = json::object();
  for (int wait = 0; wait < 100; ++wait) {
    const auto got = c.Get("/v1/sites/plant-g/baseline");
    if (got->status == 200 && (served = json::parse(got->body)).value("n", 0) == reference) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(served.value("n", 0), reference) << server->Log();
  EXPECT_NE(server->Log().find("site plant-g: quality baseline reloaded"), std::string::npos);

  // The bumped camera's next frames are the site's normal now.
  r = RunCommand(replay + "--limit 200 --seed 9");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json after = json::parse(r.out);
  EXPECT_LT(after["kept"]["quality"].get<int>(), 20) << after["kept"];

  // A broken file is reported by the server and leaves the baseline it serves as it was.
  ASSERT_TRUE(WriteFileAtomic(std::filesystem::path(store) / "baselines" / "plant-g.json",
                              std::string("{\"n\": "))
                  .ok());
  for (int wait = 0; wait < 100; ++wait) {
    if (server->Log().find("plant-g: quality baseline not reloaded") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(server->Log().find("plant-g: quality baseline not reloaded"), std::string::npos)
      << server->Log();
  EXPECT_EQ(json::parse(c.Get("/v1/sites/plant-g/baseline")->body).value("n", 0), reference);
}

TEST_F(Registry, ServeRegistersItsModelAndNeedsOneOrAChampion) {
  auto empty = ServeStore("store-no-champion");
  EXPECT_FALSE(empty->started());
  EXPECT_NE(empty->Log().find("no champion"), std::string::npos) << empty->Log();

  auto server = Start("store-served");
  ASSERT_TRUE(server->started());
  const auto listed = json::parse(Models("list --json --store " + Path("store-served")).out);
  ASSERT_EQ(listed.size(), 1u) << listed;
  EXPECT_EQ(listed[0]["id"], VersionOf("m.seye"));
  EXPECT_EQ(listed[0]["aliases"], "champion");
  EXPECT_EQ(listed[0]["registered_by"], "serve");
}

}  // namespace
}  // namespace steadyeye
