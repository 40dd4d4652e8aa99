#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "common.h"
#include "steadyeye/core/time.h"
#include "steadyeye/server/alerts.h"
#include "steadyeye/server/http_server.h"
#include "steadyeye/server/predictor.h"
#include "steadyeye/server/registry_follower.h"
#include "steadyeye/store/store.h"

namespace steadyeye::cli {

namespace {

struct ServeArgs {
  std::string model;
  std::string store;
  std::string host = "127.0.0.1";
  int port = 8080;
  // One compute thread for the model: requests (decoding, the quality gate, HTTP) keep the other
  // cores busy, and an OpenMP team whose threads get descheduled stalls at every barrier. On 2
  // cores this doubled end-to-end throughput's share of model-only and halved p99 latency
  // (docs/BENCHMARKS.md, serve_bench --threads 1 vs 2).
  int threads = 1;
  // Model calls side by side, each on `threads` compute threads: a second worker runs the next
  // batch while the first is busy, without OpenMP barriers between them. Worth it for batch
  // traffic (POST /v1/predict/batch); single-image traffic gains little and its p99 rises.
  size_t model_workers = 1;
  int http_threads = 32;
  size_t max_batch = 32;
  int64_t max_delay_us = PredictorOptions{}.batching.max_delay_us;
  size_t max_queue = 1024;
  double audit_rate = 0.02;
  double shadow_share = 1.0;
  double double_review_share = StoreOptions{}.double_review_share;
  double second_opinion_confidence = StoreOptions{}.second_opinion_confidence;
  uint64_t seed = 1;
  std::string baselines;
  size_t max_body_mb = 32;
  double retain_days = 0;
  double retain_mb = 0;
  bool no_drift = false;
  DriftOptions drift;
  std::string drift_action = "suspend";
  double registry_poll_s = 1;
  WebhookOptions webhook;
};

// Applies the retention limits now and then every minute until `stop`.
void RetentionLoop(CaptureStore& store, const RetentionPolicy& policy, std::atomic<bool>& stop) {
  pthread_setname_np(pthread_self(), "seye-retention");
  while (!stop) {
    auto report = store.ApplyRetention(policy, UnixMillisNow());
    if (!report.ok()) {
      std::fprintf(stderr, "steadyeye: retention: %s\n", report.status().message().c_str());
    } else if (report->captures_removed > 0) {
      std::fprintf(stderr, "retention removed %lld captures (%.1f MB)\n",
                   static_cast<long long>(report->captures_removed),
                   double(report->bytes_freed) / 1e6);
    }
    for (int i = 0; i < 600 && !stop; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// The model to serve: `path`, registered in the store (and made its champion when it has
// none), or else the store's champion.
StatusOr<std::unique_ptr<Classifier>> LoadServedModel(const std::string& path, Store& store) {
  if (path.empty()) {
    SEYE_ASSIGN_OR_RETURN(const auto aliases, store.Aliases());
    const auto champion = aliases.find(kChampionAlias);
    if (champion == aliases.end()) {
      return FailedPreconditionError(
          "no --model, and the store has no champion: give --model, or register one with "
          "`steadyeye models register --store ... --alias champion MODEL`");
    }
    SEYE_ASSIGN_OR_RETURN(const ModelRecord record, store.GetModel(champion->second));
    return Classifier::Load(record.file);
  }
  SEYE_ASSIGN_OR_RETURN(auto model, Classifier::Load(path));
  const int64_t now = UnixMillisNow();
  SEYE_ASSIGN_OR_RETURN(const ModelRecord record,
                        store.RegisterModel(path, model->card().Version(), model->card().ToJson(),
                                            "serve", "served with --model", now));
  SEYE_ASSIGN_OR_RETURN(const auto aliases, store.Aliases());
  if (!aliases.count(kChampionAlias)) {
    SEYE_RETURN_IF_ERROR(
        store.SetAlias(kChampionAlias, record.id, "serve", "the first model served", now).status());
  }
  return model;
}

int RunServe(const ServeArgs& args) {
  // SIGTERM and SIGINT are taken by one watcher thread (below); every thread created from here
  // on inherits the blocked mask, so no request thread is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ConfigureCompute(args.threads);
  StoreOptions store_options;
  store_options.double_review_share = args.double_review_share;
  store_options.second_opinion_confidence = args.second_opinion_confidence;
  store_options.seed = args.seed;
  auto store = OpenSqliteStore(args.store, store_options);
  if (!store.ok()) return Fail(store.status());
  auto model = LoadServedModel(args.model, **store);
  if (!model.ok()) return Fail(model.status());
  const std::string version = (*model)->card().Version();
  const auto& calibration = (*model)->card().calibration;
  ServerMetrics metrics(version);
  PredictorOptions options;
  options.batching = {.max_batch = args.max_batch,
                      .max_delay_us = args.max_delay_us,
                      .max_queue = args.max_queue,
                      .workers = args.model_workers};
  options.audit_rate = args.audit_rate;
  options.shadow_share = args.shadow_share;
  options.seed = args.seed;
  options.limits.max_bytes = uint64_t(args.max_body_mb) << 20;
  auto alerts = AlertDispatcher::Create(**store, metrics, args.webhook);
  if (!alerts.ok()) return Fail(alerts.status().WithContext("--webhook"));
  if (!args.no_drift) {
    DriftOptions drift = args.drift;
    auto action = ParseDriftAction(args.drift_action);
    if (!action.ok()) return Fail(action.status().WithContext("--drift-action"));
    drift.action = *action;
    if (Status st = EnableDriftMonitoring(options, drift, **store, **alerts); !st.ok())
      return Fail(st);
  }
  auto predictor = Predictor::Create(std::move(*model), **store, metrics, options);
  if (!predictor.ok()) return Fail(predictor.status());

  // Baselines: those set through the API before (kept in the store), then --baselines.
  HttpOptions http;
  http.host = args.host;
  http.port = args.port;
  http.http_threads = args.http_threads;
  http.max_body_bytes = args.max_body_mb << 20;
  http.baselines_dir = std::filesystem::path(args.store) / "baselines";
  auto review_page = WebFile("pages/review.html");
  if (!review_page.ok()) return Fail(review_page.status());
  http.web_dir = review_page->parent_path().parent_path();
  std::error_code ec;
  std::filesystem::create_directories(http.baselines_dir, ec);
  size_t sites = 0;
  for (const std::string& dir : {http.baselines_dir.string(), args.baselines}) {
    if (dir.empty()) continue;
    auto n = (*predictor)->LoadSiteBaselines(dir);
    if (!n.ok()) return Fail(n.status());
    sites += *n;
  }

  // Without --model the server follows the registry: promotions, site assignments and
  // rollbacks reach it within a poll, and so do the site baselines the loop re-takes.
  std::unique_ptr<RegistryFollower> follower;
  if (args.model.empty()) {
    follower = std::make_unique<RegistryFollower>(
        **store, **predictor,
        [](const std::string& line) { std::fprintf(stderr, "steadyeye: %s\n", line.c_str()); });
    follower->FollowBaselines(http.baselines_dir);
    if (auto synced = follower->SyncOnce(); !synced.ok()) return Fail(synced.status());
    follower->Start(std::chrono::milliseconds(int64_t(args.registry_poll_s * 1000)));
  }

  HttpServer server(**predictor, **store, metrics, http);
  if (Status st = server.Bind(); !st.ok()) return Fail(st);
  std::atomic<bool> done{false};
  std::thread retention;
  if (args.retain_days > 0 || args.retain_mb > 0) {
    retention = std::thread(RetentionLoop, std::ref(**store),
                            RetentionFromLimits(args.retain_days, args.retain_mb), std::ref(done));
  }
  std::thread watcher([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (!done)
      std::fprintf(stderr, "steadyeye: signal %d: finishing in-flight requests, then stopping\n",
                   sig);
    server.Stop();
  });
  const std::string mode =
      calibration && calibration->threshold.certified
          ? fmt::format("automatic decisions at confidence >= {:.3f}, error <= {} certified",
                        calibration->threshold.threshold, calibration->threshold.alpha)
          : "no certified threshold: every decision goes to review";
  if (server.open_mode()) {
    std::fprintf(stderr,
                 "steadyeye: WARNING: the store has no tokens: every client on this machine may "
                 "call every route without one. Create one to close it:\n"
                 "  steadyeye token create --store %s --role admin --name NAME\n",
                 args.store.c_str());
  } else if (auto n = (*store)->ActiveTokenCount(); n.ok() && *n == 0) {
    std::fprintf(stderr,
                 "steadyeye: the store has no tokens and %s is not a loopback address: every "
                 "route but /healthz refuses until one exists (steadyeye token create --store "
                 "%s ...)\n",
                 args.host.c_str(), args.store.c_str());
  }
  std::printf("serving model %s on http://%s:%d (store %s; %zu site baselines; %s)\n",
              version.c_str(), args.host.c_str(), server.port(), args.store.c_str(), sites,
              mode.c_str());
  std::fflush(stdout);
  server.Run();
  done = true;
  pthread_kill(watcher.native_handle(), SIGTERM);  // wakes the watcher if Run ended otherwise
  watcher.join();
  if (retention.joinable()) retention.join();
  std::printf("stopped\n");
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand(
      "serve", "Serve calibrated, risk-controlled decisions over HTTP, keeping captures");
  cmd->add_option("--model", args->model,
                  "Model bundle (.seye): serve it alone (registered in the store, and its "
                  "champion if it has none). Without it the server follows the registry: the "
                  "champion, and each site's own model (steadyeye models)");
  cmd->add_option("--store", args->store,
                  "Capture store folder (SQLite + images; created if missing)")
      ->required();
  cmd->add_option("--host", args->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", args->port, "Port (0: any free port, printed at start)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--threads", args->threads, "Compute threads of the model (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--model-workers", args->model_workers,
                  "Model calls run side by side (each on --threads compute threads)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--http-threads", args->http_threads, "Connections served at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--max-batch", args->max_batch, "Most images per model call")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option(
         "--max-delay-us", args->max_delay_us,
         "Longest wait for a batch to fill, in microseconds (0: run as soon as the model is free; "
         "requests arriving meanwhile form the next batch)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10'000'000));
  cmd->add_option("--max-queue", args->max_queue,
                  "Images waiting for the model before requests get 429")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  cmd->add_option("--audit-rate", args->audit_rate,
                  "Share of automatic decisions kept for the blind audit")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--shadow-share", args->shadow_share,
                  "Share of images a challenger in the shadow also classifies (each costs a "
                  "second model call)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--double-review-share", args->double_review_share,
                  "Share of review tasks given to two reviewers, to measure their agreement")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--second-opinion-confidence", args->second_opinion_confidence,
                  "An answer against a model at least this confident asks a second reviewer "
                  "(blind), and a third when they differ; above 1: never")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 2.0));
  cmd->add_option("--seed", args->seed,
                  "Seed of the audit sampling and of the choice of double-reviewed tasks")
      ->capture_default_str();
  cmd->add_option("--baselines", args->baselines, "Folder of <site>.json quality baselines");
  cmd->add_option("--retain-days", args->retain_days,
                  "Retention: remove captures older than this (checked every minute)");
  cmd->add_option(
      "--retain-mb", args->retain_mb,
      "Retention: keep stored images under this many megabytes, oldest review/quality captures "
      "first, audit captures last; reviewed captures are kept");
  cmd->add_option("--max-body-mb", args->max_body_mb, "Largest request body accepted (MiB)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--no-drift", args->no_drift, "Do not monitor the streams for drift");
  cmd->add_option("--drift-reference", args->drift.reference_frames,
                  "Each (site, camera) stream's first frames, which drift is measured against")
      ->capture_default_str()
      ->check(CLI::Range(200, 10'000'000));
  cmd->add_option("--drift-false-alarm-frames", args->drift.frames_per_false_alarm,
                  "Frames per false alarm on a stream that does not change (sets the CUSUM "
                  "thresholds)")
      ->capture_default_str()
      ->check(CLI::Range(1000.0, 1e12));
  cmd->add_option("--drift-resolve", args->drift.resolve_frames,
                  "Frames without a new alarm after which an alert resolves")
      ->capture_default_str()
      ->check(CLI::Range(20, 10'000'000));
  cmd->add_option("--registry-poll", args->registry_poll_s,
                  "Without --model: seconds between looks at the registry's aliases")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  cmd->add_option("--drift-action", args->drift_action,
                  "While a stream's alert is open: suspend its automatic decisions (send them "
                  "to review); tighten them to the model's threshold certified under production "
                  "conditions where the alert names a fault of the image (suspend otherwise); "
                  "or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"suspend", "tighten", "none"}));
  cmd->add_option("--webhook", args->webhook.url,
                  "POST every alert change as JSON to this http:// URL (retried with backoff)");
  cmd->callback([args, &exit_code] { exit_code = RunServe(*args); });
}

}  // namespace steadyeye::cli
