// steadyeye demo: the deployment story, measured. Trains (or reuses) the lab model on the train
// split without the production pool, evaluates it on the untouched test split, then plays the
// scenario (scenarios/four-sites.yaml by default) through a static policy and the full loop side
// by side, and writes summary.json and report.html.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "common.h"
#include "steadyeye/core/progress.h"
#include "steadyeye/model/classifier.h"
#include "steadyeye/quality/quality.h"
#include "steadyeye/sim/simulate.h"

namespace steadyeye::cli {

namespace {

namespace fs = std::filesystem;

struct DemoArgs {
  std::string model = "models/lab.seye";
  std::string out = "demo";
  std::string scenario;  // default: scenarios/four-sites.yaml beside the binary's sources
  bool quick = false;
  int images_per_site_day = 0;  // 0: the scenario's (--quick: 30)
  int threads = 0;
  bool retrain = false;
  bool skip_loop = false;
  bool verbose = false;
};

constexpr int kQuickImagesPerSiteDay = 30;

StatusOr<Scenario> ReadScenario(const DemoArgs& args) {
  const fs::path file = args.scenario.empty() ? fs::path(SEYE_SCENARIO_DIR) / "four-sites.yaml"
                                              : fs::path(args.scenario);
  SEYE_ASSIGN_OR_RETURN(Scenario scenario, LoadScenario(file));
  const int images = args.images_per_site_day > 0 ? args.images_per_site_day
                     : args.quick                 ? kQuickImagesPerSiteDay
                                                  : 0;
  return images > 0 ? scenario.Scaled(images) : scenario;
}

void PrintSummary(const nlohmann::json& summary) {
  std::printf("\n== %d days, %zu images (%s); lab model's clean test accuracy %.2f%%\n",
              summary.value("days", 0), summary["stream"].value("images", size_t(0)),
              summary["stream"]["drawn_from"].dump().c_str(),
              100 * summary.value("lab_clean_accuracy", 0.0));
  std::printf("%-7s %-4s %14s %11s %11s %13s %15s %10s\n", "policy", "site", "max auto error",
              "auto error", "review pre", "review normal", "review last 10", "final acc");
  for (const auto& [policy, p] : summary["policies"].items()) {
    for (const auto& [site, f] : p["sites"].items()) {
      std::printf("%-7s %-4s %13.2f%% %10.2f%% %10.1f%% %12.1f%% %14.1f%% %9.2f%%\n",
                  policy.c_str(), site.c_str(), 100 * f.value("max_auto_error", 0.0),
                  100 * f.value("auto_error", 0.0), 100 * f.value("pre_shift_review_rate", 0.0),
                  100 * f.value("normal_review_rate", 0.0),
                  100 * f.value("last10_review_rate", 0.0), 100 * f.value("final_accuracy", 0.0));
    }
  }
  std::printf("\n== time from each shift's onset to a promoted model (loop)\n");
  for (const auto& [site, rows] : summary["policies"]["loop"]["time_to_promotion_hours"].items()) {
    for (const auto& row : rows) {
      if (row["hours"].is_null()) {
        std::printf("%s  %-13s day %4.1f: none promoted\n", site.c_str(),
                    row.value("shift", "").c_str(), row.value("onset_day", 0.0));
      } else {
        std::printf("%s  %-13s day %4.1f: %.0f h (%s)\n", site.c_str(),
                    row.value("shift", "").c_str(), row.value("onset_day", 0.0),
                    row.value("hours", 0.0), row.value("kind", "").c_str());
      }
    }
  }
  std::printf("\n== targets\n%s\n", summary["targets"].dump(1).c_str());
}

int RunSimulationStep(const DemoArgs& args, Scenario scenario) {
  SimulationOptions o;
  o.scenario = std::move(scenario);
  o.lab_model = args.model;
  o.out = args.out;
  o.train_threads = args.threads > 0 ? args.threads : 1;
  auto lab = ResolveDataRef("fashion-mnist-lab", DataPurpose::kTraining);
  auto clean = ResolveDataRef("fashion-mnist-lab:calib", DataPurpose::kCalibration);
  auto test = ParseDataRef("fashion-mnist:test");
  auto pool = ParseDataRef("fashion-mnist:pool");
  for (const auto* ref : {&lab, &clean, &test, &pool})
    if (!ref->ok()) return Fail(ref->status());
  o.lab_data = *lab;
  o.clean_data = *clean;
  o.stream_data = {*test, *pool};
  o.clean_test = o.stream_data[0];
  const int64_t rounds = int64_t(o.scenario.days * 24 / o.scenario.loop.round_hours);
  Progress progress("simulating " + std::to_string(o.scenario.days) + " days", rounds, "round",
                    stdout);
  o.on_progress = [&](size_t done, size_t) { progress.Update(int64_t(done)); };
  o.log = [&](const std::string& line) {
    if (args.verbose) std::printf("%s\n", line.c_str());
  };
  std::printf("%d sites x %d days x %d images a day; a round every %.0f simulated hours\n",
              int(o.scenario.sites.size()), o.scenario.days, o.scenario.images_per_site_day,
              o.scenario.loop.round_hours);
  auto summary = RunSimulation(o);
  progress.Finish();
  if (!summary.ok()) return Fail(summary.status());
  if (Status st = WriteHtmlReport(args.out, "demo", *summary, "report.html", "summary.json");
      !st.ok())
    return Fail(st);
  PrintSummary(*summary);
  std::printf("\nwrote %s/summary.json and %s/report.html (open it for the plots)\n",
              args.out.c_str(), args.out.c_str());
  return 0;
}

// Why an existing lab model cannot be reused, or "" when it can. Its quality baseline, learned
// when it was trained, is stale once a metric's definition changes; the demo would then gate
// every site with limits that no longer mean what they say. Other load errors are left to the
// evaluation step, which reports them.
std::string WhyNotReusable(const std::string& path) {
  auto model = Classifier::Load(path);
  if (!model.ok() || (*model)->card().quality_baseline.is_null()) return "";
  auto baseline = QualityBaseline::FromJson((*model)->card().quality_baseline);
  if (baseline.status().code() != StatusCode::kFailedPrecondition) return "";
  return baseline.status().message();
}

int RunDemo(const DemoArgs& args) {
  // Headings go to stdout and each step's progress to stderr; line buffering keeps them in order
  // in a log that both are redirected to.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  // The scenario first: a typo in it should not cost a training run.
  auto scenario = ReadScenario(args);
  if (!scenario.ok()) return Fail(scenario.status());
  bool must_train = args.retrain || !fs::exists(args.model);
  if (!must_train) {
    if (const std::string why = WhyNotReusable(args.model); !why.empty()) {
      std::printf("== not reusing %s: %s\n", args.model.c_str(), why.c_str());
      must_train = true;
    }
  }
  if (must_train) {
    std::printf(
        "== training the lab model on fashion-mnist-lab (the train split without the "
        "production pool) -> %s\n",
        args.model.c_str());
    TrainArgs train;
    train.data = "fashion-mnist-lab";
    train.out = args.model;
    train.options.threads = args.threads;
    if (const int code = RunTrain(train); code != 0) return code;
  } else {
    std::printf("== reusing %s (pass --retrain to train again)\n", args.model.c_str());
  }
  std::printf("\n== evaluating on fashion-mnist:test (never used for training or tuning)\n");
  EvalArgs eval;
  eval.model = args.model;
  eval.threads = args.threads;
  if (const int code = RunEval(eval); code != 0 || args.skip_loop) return code;
  std::printf("\n== the deployment story: static policy and the loop, side by side\n");
  return RunSimulationStep(args, std::move(*scenario));
}

}  // namespace

void AddDemoCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DemoArgs>();
  auto* cmd = app.add_subcommand(
      "demo",
      "Train (or reuse) the lab model, evaluate it, then play a multi-site scenario through a "
      "static policy and the full loop side by side: summary.json and report.html");
  cmd->add_option("--model", args->model,
                  "Lab model to reuse or create (trained on "
                  "fashion-mnist-lab)")
      ->capture_default_str();
  cmd->add_option("--out", args->out, "Folder of the stores, summary.json and report.html")
      ->capture_default_str();
  cmd->add_option("--scenario", args->scenario,
                  "Scenario file (YAML; default scenarios/four-sites.yaml)");
  cmd->add_flag("--quick", args->quick,
                "30 images per site-day instead of the scenario's (a few minutes)");
  cmd->add_option("--images-per-day", args->images_per_site_day,
                  "Images per site-day (overrides the scenario and --quick)")
      ->check(CLI::Range(1, 100000));
  cmd->add_flag("--skip-loop", args->skip_loop, "Stop after the evaluation");
  cmd->add_flag("--retrain", args->retrain, "Train the lab model even if it exists");
  cmd->add_flag("--verbose", args->verbose, "Print every action of the loop");
  AddThreadsOption(*cmd, args->threads);
  cmd->callback([args, &exit_code] { exit_code = RunDemo(*args); });
}

}  // namespace steadyeye::cli
