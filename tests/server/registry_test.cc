// The model registry through its real interfaces: `steadyeye models` and `steadyeye serve`
// without --model, which serves the store's champion.
#include <signal.h>

#include "server_fixture.h"

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
  static std::unique_ptr<ServerProcess> ServeStore(const std::string& store) {
    return std::make_unique<ServerProcess>("--store " + Path(store),
                                           *dir_ / (store + "-serve.log"));
  }
  static std::string ServedVersion(ServerProcess& server) {
    auto c = server.Client();
    auto r = Post(c, "site=plant-a", ReadText(images_[0]));
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
