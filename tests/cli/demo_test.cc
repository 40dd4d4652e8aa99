// `steadyeye demo --quick` end to end through the CLI: a small lab model trained on the train
// split without the production pool, the four-site scenario at 30 images per site-day, both
// policies, summary.json and report.html.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "steadyeye/calib/calibration.h"
#include "steadyeye/core/file.h"
#include "test_util.h"

namespace steadyeye {
namespace {

using testing::Binary;
using testing::RunCommand;

TEST(Demo, QuickRunPlaysBothPoliciesOverEverySiteDayAndWritesItsReport) {
  testing::TempDir dir;
  const std::string model = (dir / "lab.seye").string();
  const auto train = RunCommand(Binary() + " train --data fashion-mnist-lab --out " + model +
                                " --epochs 3 --limit 3000 --batch-size 64 --lr 0.1 --widths 8,16,32"
                                " --depths 1,1,1 --threads 1 --seed 4 --standard");
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const std::string out = (dir / "demo").string();
  const auto r = RunCommand(Binary() + " demo --quick --model " + model + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("reusing"), std::string::npos);
  EXPECT_NE(r.out.find("time from each shift's onset"), std::string::npos) << r.out;

  const auto text = testing::ReadFileText(out + "/summary.json");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  const auto summary = nlohmann::json::parse(*text);
  // 4 sites x 30 days x 30 images, each shown once, from the test split and the pool.
  EXPECT_EQ(summary["stream"]["images"], 3600);
  size_t drawn = 0;
  for (const auto& [data, n] : summary["stream"]["drawn_from"].items()) {
    EXPECT_TRUE(data == "fashion-mnist:test" || data == "fashion-mnist:pool") << data;
    drawn += static_cast<size_t>(n);
  }
  EXPECT_EQ(drawn, 3600u);
  const double lab = summary["lab_clean_accuracy"];
  EXPECT_GT(lab, 0.5);
  EXPECT_LT(lab, 1.0);
  for (const char* policy : {"static", "loop"}) {
    const auto& sites = summary["policies"][policy]["sites"];
    ASSERT_EQ(sites.size(), 4u) << policy;
    for (const char* site : {"A", "B", "C", "D"}) {
      const auto& days = sites[site]["days"];
      ASSERT_EQ(days.size(), 30u) << policy << " " << site;
      int64_t images = 0;
      for (const auto& d : days) {
        for (const char* key :
             {"day", "auto_error", "coverage", "review_rate", "final_accuracy", "model_version"})
          EXPECT_TRUE(d.contains(key)) << policy << " " << site << " lacks " << key;
        images += static_cast<int64_t>(d["images"]);
        const double final_accuracy = d["final_accuracy"];
        EXPECT_GE(final_accuracy, 0.0);
        EXPECT_LE(final_accuracy, 1.0);
      }
      EXPECT_EQ(images, 900) << policy << " " << site;
    }
    EXPECT_TRUE(summary["targets"].contains(policy));
  }
  // The lab model was certified at the default alpha when trained; the shipped scenario accepts
  // less, so both policies serve it certified once more at the scenario's alpha.
  EXPECT_LT(summary["alpha"].get<double>(), kDefaultAlpha);
  EXPECT_NE(summary["served_lab_model"], summary["lab_model"]);
  const std::string lab_version =
      summary["policies"]["static"]["sites"]["A"]["days"][0]["model_version"];
  const auto shown =
      RunCommand(Binary() + " models show --store " + out + "/static/store " + lab_version);
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  const auto threshold = nlohmann::json::parse(shown.out)["card"]["calibration"]["threshold"];
  EXPECT_EQ(threshold["alpha"].get<double>(), summary["alpha"].get<double>()) << threshold;
  // The static policy never changes its model; the loop acted on the sites' shifts.
  std::set<std::string> static_versions;
  for (const auto& [site, f] : summary["policies"]["static"]["sites"].items())
    for (const auto& d : f["days"])
      static_versions.insert(static_cast<std::string>(d["model_version"]));
  EXPECT_EQ(static_versions.size(), 1u);
  const auto& actions = summary["policies"]["loop"]["actions"];
  ASSERT_FALSE(actions.empty()) << summary["policies"]["loop"].dump();
  for (const auto& a : actions) {
    EXPECT_TRUE(a.contains("trigger"));
    // Judged (promoted or not), dropped for too little evidence, re-calibrated at the site, or
    // failed.
    EXPECT_TRUE(a.contains("promoted") || a.contains("expired") || a.contains("recalibration") ||
                a.contains("error"))
        << a.dump();
    // A challenger is judged only once the serving path has scored it in the shadow on a
    // quarter day's live images of its site (8 at 30 a day).
    if (a.contains("promoted")) {
      EXPECT_GE(a["shadow"]["images"].get<int>(), 8) << a.dump();
    }
  }
  // The simulated reviewers (2% wrong) were asked for second opinions where they contradicted a
  // confident model, and the labels they left there are wrong far less often than one answer.
  for (const std::string policy : {"static", "loop"}) {
    const auto& reviewers = summary["policies"][policy]["reviewers"];
    EXPECT_GT(reviewers["second_opinions"].get<int>(), 0) << reviewers;
    EXPECT_GE(reviewers["answers"].get<int>(),
              reviewers["tasks_answered"].get<int>() + reviewers["second_opinions"].get<int>())
        << reviewers;
    EXPECT_LT(reviewers["confident_label_error"].get<double>(),
              reviewers["first_answer_error"].get<double>())
        << reviewers;
  }
  // The shifted sites raised drift alerts in the loop's store; the static policy monitors none.
  EXPECT_FALSE(summary["policies"]["loop"]["alerts"].empty());
  EXPECT_TRUE(summary["policies"]["static"]["alerts"].empty());
  EXPECT_EQ(summary["policies"]["loop"]["time_to_promotion_hours"].size(), 4u);

  const auto html = testing::ReadFileText(out + "/report.html");
  ASSERT_TRUE(html.ok());
  EXPECT_EQ(html->find("__STEADYEYE_REPORT_DATA__"), std::string::npos);
  EXPECT_NE(html->find("\"lab_clean_accuracy\""), std::string::npos);
}

TEST(Demo, RefusesALabModelThatSawTheProductionPoolAndABadScenario) {
  testing::TempDir dir;
  const std::string model = (dir / "full.seye").string();
  const auto train = RunCommand(Binary() + " train --data fashion-mnist --out " + model +
                                " --epochs 1 --limit 600 --widths 4 --depths 1 --fp32 --standard"
                                " --threads 1");
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const auto r =
      RunCommand(Binary() + " demo --quick --model " + model + " --out " + (dir / "demo").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("holds the production pool"), std::string::npos) << r.err;

  // The scenario is read before anything else runs, and its fault is named.
  ASSERT_TRUE(WriteFileAtomic(dir / "s.yaml",
                              "days: 30\nsites:\n  - name: A\n    events:\n"
                              "      - {condition: rain}\n")
                  .ok());
  const auto bad = RunCommand(Binary() + " demo --quick --model " + model + " --scenario " +
                              (dir / "s.yaml").string());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("unknown condition 'rain'"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.out.find("evaluating"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace steadyeye
