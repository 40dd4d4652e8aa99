// End to end: the server, two sites replayed with `steadyeye replay` (a condition switched on at
// one of them), the oracle reviewer answering, and the estimated accuracy of automatic decisions
// checked against the true accuracy that only the replay knows.
#include <gtest/gtest.h>

#include "server/server_fixture.h"

namespace steadyeye {
namespace {

using nlohmann::json;
using testing::Binary;
using testing::RunCommand;

class EndToEnd : public Server {};

json WholeRange(const json& stats, const std::string& site) {
  for (const auto& e : stats["estimates"])
    if (e["site"] == site && e["day"].is_null()) return e;
  return json();
}

TEST_F(EndToEnd, TheAuditEstimateCoversTheTrueAccuracyAtEverySite) {
  const std::string store = "store-e2e";
  const std::string client = CreateToken(store, "client", "line"),
                    reviewer = CreateToken(store, "reviewer", "oracle"),
                    op = CreateToken(store, "operator", "olga");
  // A quarter of the automatic decisions audited, so each site's estimate rests on ~100 images.
  auto server = Start(store, "--audit-rate 0.25");
  ASSERT_TRUE(server->started());
  const std::string url = "http://127.0.0.1:" + std::to_string(server->port());
  const std::string common = Binary() + " replay --server " + url + " --token " + client +
                             " --reviewer-token " + reviewer +
                             " --images fashion-mnist:test --limit 1000 --oracle-reviewer --json"
                             // One request at a time: the server's audit draws then follow the
                             // replay's seeded order, so the audit sample (and this test's
                             // outcome) is the same on every run.
                             " --concurrency 1";
  // Different seeds: different images at the two sites; glare at plant-b from the 300th image.
  const auto a = RunCommand(common + " --site plant-a --seed 1");
  const auto b = RunCommand(common +
                            " --site plant-b --seed 2 --condition glare --severity 4 "
                            "--from 300");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const json truth_a = json::parse(a.out), truth_b = json::parse(b.out);
  for (const json& t : {truth_a, truth_b}) {
    EXPECT_EQ(t["sent"], 1000);
    EXPECT_EQ(t["answered"], 1000);
    EXPECT_GT(t["decisions"]["auto"].get<int>(), 100) << t;
    EXPECT_GT(t["oracle"]["answered"].get<int>(), 300) << t;
    EXPECT_EQ(t["oracle"]["skipped"], 0) << t;
  }

  auto c = server->Client();
  auto r = c.Get("/v1/stats/accuracy", Bearer(op));
  ASSERT_EQ(r->status, 200) << r->body;
  const json stats = json::parse(r->body);
  for (const auto& [site, truth] : {std::pair{"plant-a", truth_a}, std::pair{"plant-b", truth_b}}) {
    const json e = WholeRange(stats, site);
    ASSERT_TRUE(e.is_object()) << site << ": " << stats;
    const double actual = truth["auto_accuracy_true"];
    const double low = e["auto"]["interval95"][0], high = e["auto"]["interval95"][1];
    EXPECT_LE(low, actual) << site << ": " << e;
    EXPECT_GE(high, actual) << site << ": " << e;
    // Every audit capture was answered by the oracle, and the audit's weights count the
    // automatic decisions (within sampling error of a 25% sample).
    EXPECT_EQ(e["auto"]["audit_answered"], e["auto"]["audit_kept"]) << e;
    const double decided = truth["decisions"]["auto"];
    EXPECT_NEAR(e["auto"]["decisions_estimated"].get<double>(), decided, 0.3 * decided) << e;
    EXPECT_EQ(e["review"]["decisions"], truth["decisions"]["review"]) << e;
    std::printf("%s: true accuracy of automatic decisions %.4f, estimated %.4f [%.4f, %.4f]\n",
                site, actual, e["auto"]["accuracy"].get<double>(), low, high);
  }
  // The glare at plant-b costs accuracy, and the estimate sees it.
  EXPECT_LT(truth_b["auto_accuracy_true"].get<double>(),
            truth_a["auto_accuracy_true"].get<double>());
  EXPECT_LT(WholeRange(stats, "plant-b")["auto"]["accuracy"].get<double>(),
            WholeRange(stats, "plant-a")["auto"]["accuracy"].get<double>());

  // The same figures as a report, with the JSON behind it.
  const auto report = RunCommand(Binary() + " report production --store " + Path(store) +
                                 " --out " + Path("production-report"));
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("site plant-b: automatic decisions"), std::string::npos) << report.out;
  const auto written = ReadFileBytes(Path("production-report") + "/production.json");
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(json::parse(written->begin(), written->end())["estimates"].size(), 4u);
}

TEST_F(EndToEnd, ReplayRefusesABadServerAndReportsRefusedRequests) {
  const auto bad = RunCommand(Binary() +
                              " replay --server nonsense --images fashion-mnist:test "
                              "--limit 5 --site a");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("cannot reach"), std::string::npos) << bad.err;
  // A closed server (tokens exist) and no token: every image fails with the server's reason.
  const std::string store = "store-e2e-closed";
  CreateToken(store, "admin", "root");
  auto server = Start(store);
  ASSERT_TRUE(server->started());
  const auto refused =
      RunCommand(Binary() + " replay --server http://127.0.0.1:" + std::to_string(server->port()) +
                 " --images fashion-mnist:test --limit 5 --site a");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("HTTP 401"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace steadyeye
