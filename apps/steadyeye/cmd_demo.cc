#include <filesystem>
#include <memory>
#include <thread>

#include "common.h"
#include "steadyeye/core/time.h"
#include "steadyeye/server/alerts.h"
#include "steadyeye/server/http_server.h"
#include "steadyeye/server/predictor.h"
#include "steadyeye/store/store.h"

namespace steadyeye::cli {

namespace {

namespace fs = std::filesystem;

struct DemoArgs {
  std::string model = "models/base.seye";
  std::string out = "demo";
  int threads = 0;
  bool retrain = false;
  bool skip_loop = false;
};

// One site's week, replayed: 3,000 test images stamped 200 s apart, reviewed by an oracle.
struct SiteRun {
  const char* site;
  uint64_t seed;
  const char* condition;  // from the middle of the week on; "" for none
};

StatusOr<ReplaySummary> ReplaySite(const SiteRun& run, int port) {
  std::vector<std::string> classes;
  SEYE_ASSIGN_OR_RETURN(const auto images, PrepareReplayImages("fashion-mnist:test", run.seed, 3000,
                                                               run.condition, 3, 1500, classes));
  ReplayOptions o;
  o.server = "http://127.0.0.1:" + std::to_string(port);
  o.site = run.site;
  o.camera = "line-1";
  o.oracle_reviewer = true;
  o.class_names = classes;
  o.seed = run.seed;
  SEYE_ASSIGN_OR_RETURN(o.ts_start_ms, ParseTimestamp("2026-11-20T06:00:00Z"));
  o.ts_step_ms = 200'000;
  return Replay(images, o);
}

// The production half: the model served over HTTP (in this process, loopback only, a fresh
// store), a week at two sites replayed through it with dust on plant-b's lens from mid-week, an
// oracle reviewer labelling what was handed to people, and the true production accuracy that
// the blind audit gives, as a report.
int RunLoop(const DemoArgs& args) {
  const fs::path store_dir = fs::path(args.out) / "store";
  std::error_code ec;
  fs::remove_all(store_dir, ec);
  ConfigureCompute(1);  // the serving default: one compute thread beside the request threads
  auto model = Classifier::Load(args.model);
  if (!model.ok()) return Fail(model.status());
  auto store = OpenSqliteStore(store_dir);
  if (!store.ok()) return Fail(store.status());
  ServerMetrics metrics((*model)->card().Version());
  PredictorOptions options;
  options.audit_rate = 0.1;  // a short demo needs a larger audit for a useful interval
  auto alerts = AlertDispatcher::Create(**store, metrics, WebhookOptions{});
  if (!alerts.ok()) return Fail(alerts.status());
  if (Status st = EnableDriftMonitoring(options, DriftOptions{}, **store, **alerts); !st.ok())
    return Fail(st);
  auto predictor = Predictor::Create(std::move(*model), **store, metrics, options);
  if (!predictor.ok()) return Fail(predictor.status());
  auto page = WebFile("pages/review.html");
  if (!page.ok()) return Fail(page.status());
  HttpOptions http;
  http.port = 0;
  http.web_dir = page->parent_path().parent_path();
  HttpServer server(**predictor, **store, metrics, http);
  if (Status st = server.Bind(); !st.ok()) return Fail(st);
  std::thread serving([&] { server.Run(); });
  int code = 0;
  for (const SiteRun& run : {SiteRun{"plant-a", 1, ""}, SiteRun{"plant-b", 2, "dust"}}) {
    std::printf("replaying a week at %s%s ...\n", run.site,
                *run.condition ? " (dust on the lens from mid-week)" : "");
    auto summary = ReplaySite(run, server.port());
    if (!summary.ok()) {
      code = Fail(summary.status());
      break;
    }
    const auto acc = summary->auto_accuracy();
    std::printf(
        "  %lld images: %lld decided automatically (true accuracy %.1f%%), %lld handed to review; "
        "the oracle reviewer answered %lld tasks\n",
        static_cast<long long>(summary->sent), static_cast<long long>(summary->auto_decisions),
        100 * acc.value_or(0), static_cast<long long>(summary->review_decisions),
        static_cast<long long>(summary->reviews_answered));
  }
  server.Stop();
  serving.join();
  if (code != 0) return code;
  std::printf("\n== true production accuracy, estimated from the blind audit\n");
  const std::string report = (fs::path(args.out) / "report").string();
  if (Status st = WriteProductionReport(store_dir.string(), report, std::nullopt, std::nullopt,
                                        std::nullopt);
      !st.ok()) {
    return Fail(st);
  }
  std::printf("\n== drift alerts (the monitor's, per site and camera)\n");
  auto raised = (*store)->ListAlerts({});
  if (!raised.ok()) return Fail(raised.status());
  if (raised->empty()) std::printf("none\n");
  for (const auto& a : *raised) {
    std::printf("%s / %s since %s (%s): %s\n  action: %s\n", a.value("site", "").c_str(),
                a.value("camera", "").c_str(), a.value("onset", "").c_str(),
                a.value("state", "").c_str(), a.value("cause", "").c_str(),
                a.value("action", "").c_str());
  }
  std::printf(
      "\nopen %s/index.html for the plots. To review by hand:\n"
      "  ./build/steadyeye serve --model %s --store %s   and open http://127.0.0.1:8080/review\n"
      "  (and http://127.0.0.1:8080/dashboard for the sites, cameras and alerts)\n",
      report.c_str(), args.model.c_str(), store_dir.c_str());
  return 0;
}

// The lab half: train (or reuse) the default model on Fashion-MNIST's train split and evaluate
// it on the untouched test split; then the production loop.
int RunDemo(const DemoArgs& args) {
  if (args.retrain || !std::filesystem::exists(args.model)) {
    std::printf("== training the default model on fashion-mnist (train split) -> %s\n",
                args.model.c_str());
    TrainArgs train;
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
  std::printf("\n== the production loop: serving, two sites, review, true accuracy\n");
  return RunLoop(args);
}

}  // namespace

void AddDemoCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DemoArgs>();
  auto* cmd = app.add_subcommand(
      "demo",
      "Train (or reuse) the default model, evaluate it, then run the production loop: serve, "
      "replay two sites, review, estimate the true accuracy");
  cmd->add_option("--model", args->model, "Model bundle to reuse or create")->capture_default_str();
  cmd->add_option("--out", args->out, "Folder of the loop's store and report")
      ->capture_default_str();
  cmd->add_flag("--skip-loop", args->skip_loop, "Stop after the evaluation");
  cmd->add_flag("--retrain", args->retrain, "Train even if the model exists");
  AddThreadsOption(*cmd, args->threads);
  cmd->callback([args, &exit_code] { exit_code = RunDemo(*args); });
}

}  // namespace steadyeye::cli
