// End-to-end serving throughput and latency against model-only throughput, in one run.
//
//   build/bench/serve_bench MODEL.seye [--seconds S] [--clients C] [--max-batch B] [--max-delay-us
//   D]
//                          [--threads T] [--only png|jpeg] [--drift-overhead 1]
//                          [--shadow-overhead 1 [--shadow-share F]]
//                          [--during COMMAND [--lead SECONDS]]
//
// For Fashion-MNIST-sized PNGs (the test split) and 640x480 JPEGs (the same items scaled up):
//  1. model only: Classifier::Logits on ready-normalised batches of B images, images/s;
//  2. HTTP, closed loop: C keep-alive clients post images as fast as answers come back, through
//     the whole path (decode, quality gate, micro-batched inference, decision, capture in the
//     SQLite store), images/s and the ratio to 1;
//  3. HTTP, open loop at 50% of that rate: requests sent on a fixed schedule, latency measured
//     from the scheduled send time (so a stalled server cannot hide its queue), p50 and p99.
// The clients run in the same process, on the same cores as the server.
// With --drift-overhead 1: only the closed-loop PNG throughput, drift monitoring off against on.
// With --shadow-overhead 1: the same, without against with a challenger scored in the shadow
// (on every image, or on a share F of them).
// With --during COMMAND: only open-loop PNG latency, idle against while COMMAND runs.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "steadyeye/data/source.h"
#include "steadyeye/image/codec.h"
#include "steadyeye/image/input_spec.h"
#include "steadyeye/quality/quality.h"
#include "steadyeye/server/http_server.h"
#include "steadyeye/server/predictor.h"
#include "steadyeye/store/store.h"

namespace {

using namespace steadyeye;
using Clock = std::chrono::steady_clock;

int g_server_threads = 1;    // compute threads of each of the server's model workers (--threads)
size_t g_model_workers = 1;  // model workers of the server (--workers)
int g_batch_clients = 2;     // clients of the batch endpoint (--batch-clients)

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double ModelOnly(const Classifier& model, const std::vector<Image>& images, size_t batch,
                 double seconds) {
  const InputSpec& spec = model.card().input;
  const size_t per = spec.values_per_image();
  std::vector<float> inputs(batch * per);
  for (size_t i = 0; i < batch; ++i) {
    Normalize(ConformImage(images[i % images.size()], spec).pixels, spec,
              std::span<float>(inputs.data() + i * per, per));
  }
  for (int i = 0; i < 5; ++i) (void)model.Logits(inputs, batch);
  size_t done = 0;
  const auto start = Clock::now();
  while (Seconds(start, Clock::now()) < seconds) {
    (void)model.Logits(inputs, batch);
    done += batch;
  }
  return double(done) / Seconds(start, Clock::now());
}

struct LoadResult {
  double images_per_second = 0;
  size_t ok = 0, errors = 0;
  std::vector<double> latencies_ms;
};

// `rate` 0: closed loop. Otherwise each of `clients` sends on a fixed schedule at rate/clients.
// `per_request` 1: one image per POST /v1/predict; more: that many parts per POST
// /v1/predict/batch. Counts images answered.
LoadResult Load(int port, const std::vector<std::string>& bodies, int clients, double seconds,
                double rate, size_t per_request = 1) {
  LoadResult result;
  std::mutex mu;
  std::atomic<size_t> ok{0}, errors{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);
      c.set_read_timeout(30, 0);
      std::vector<double> mine;
      const double interval = rate > 0 ? clients / rate : 0;
      for (size_t i = size_t(t);; i += size_t(clients)) {
        const auto scheduled =
            start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                        interval * double(i / size_t(clients)) + interval * t / clients));
        if (Seconds(start, rate > 0 ? scheduled : Clock::now()) >= seconds) break;
        if (rate > 0) std::this_thread::sleep_until(scheduled);
        const auto sent = rate > 0 ? scheduled : Clock::now();
        httplib::MultipartFormDataItems parts;
        if (per_request > 1) {
          for (size_t j = 0; j < per_request; ++j) {
            // Zero-padded field names: the server answers in field-name order.
            char field[32];
            std::snprintf(field, sizeof(field), "i%04zu", j);
            parts.push_back({field, bodies[(i * per_request + j) % bodies.size()], "",
                             "application/octet-stream"});
          }
        }
        auto r = per_request == 1 ? c.Post("/v1/predict?site=bench&camera=c1",
                                           bodies[i % bodies.size()], "application/octet-stream")
                                  : c.Post("/v1/predict/batch?site=bench&camera=c1", parts);
        if (r && r->status == 200) {
          ok += per_request;
          mine.push_back(1000 * Seconds(sent, Clock::now()));
        } else {
          ++errors;
        }
      }
      std::lock_guard lock(mu);
      result.latencies_ms.insert(result.latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  result.ok = ok;
  result.errors = errors;
  result.images_per_second = double(ok) / Seconds(start, Clock::now());
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  return result;
}

double Percentile(const std::vector<double>& sorted, double q) {
  return sorted.empty() ? 0
                        : sorted[std::min(sorted.size() - 1, size_t(q * double(sorted.size())))];
}

// The server under test, in this process, on a fresh store: the bench site's quality baseline
// is learned from its own images, as a deployment would learn it.
class BenchServer {
 public:
  BenchServer(std::unique_ptr<Classifier> model, const std::string& store_name,
              const PredictorOptions& options, const std::vector<Image>& images, int clients)
      : dir_(std::filesystem::temp_directory_path() / store_name), metrics_(model->card().id) {
    std::filesystem::remove_all(dir_);
    auto store = OpenSqliteStore(dir_);
    if (!store.ok()) std::exit(1);
    store_ = std::move(*store);
    auto predictor = Predictor::Create(std::move(model), *store_, metrics_, options);
    if (!predictor.ok()) std::exit(1);
    predictor_ = std::move(*predictor);
    auto baseline = BuildBaseline(images);
    if (!baseline.ok() || !predictor_->SetSiteBaseline("bench", std::move(*baseline)).ok())
      std::exit(1);
    HttpOptions http;
    http.port = 0;
    http.http_threads = clients + 8;
    server_ = std::make_unique<HttpServer>(*predictor_, *store_, metrics_, http);
    if (!server_->Bind().ok()) std::exit(1);
    serving_ = std::thread([this] { server_->Run(); });
  }
  ~BenchServer() {
    Stop();
    std::filesystem::remove_all(dir_);
  }
  void Stop() {
    if (!serving_.joinable()) return;
    server_->Stop();
    serving_.join();
  }
  int port() const { return server_->port(); }
  Store& store() { return *store_; }
  Predictor& predictor() { return *predictor_; }

 private:
  std::filesystem::path dir_;
  ServerMetrics metrics_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Predictor> predictor_;
  std::unique_ptr<HttpServer> server_;
  std::thread serving_;
};

void Run(const std::string& name, const std::filesystem::path& model_path,
         const std::vector<Image>& images, const std::vector<std::string>& bodies, size_t max_batch,
         int64_t max_delay_us, int clients, double seconds) {
  auto model = Classifier::Load(model_path);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
    std::exit(1);
  }
  // Model only on every core, as the comparison asks; then the server's setting.
  ConfigureCompute(0);
  const double model_only = ModelOnly(**model, images, max_batch, seconds);
  ConfigureCompute(g_server_threads);
  PredictorOptions options;
  options.batching.max_batch = max_batch;
  options.batching.max_delay_us = max_delay_us;
  options.batching.workers = g_model_workers;
  BenchServer server(std::move(*model), "serve-bench-" + name, options, images, clients);
  const LoadResult warm = Load(server.port(), bodies, clients, 1.0, 0);
  const LoadResult closed = Load(server.port(), bodies, clients, seconds, 0);
  const LoadResult open =
      Load(server.port(), bodies, clients, seconds, 0.5 * closed.images_per_second);
  // The same path with the batch endpoint: one request carries a model batch of images, so the
  // per-request HTTP cost is shared by max_batch images. Two clients: one request decodes while
  // the other's batch is in the model.
  const LoadResult batched = Load(server.port(), bodies, g_batch_clients, seconds, 0, max_batch);
  server.Stop();
  const auto stats = server.store().Stats();
  std::printf(
      "%-14s model-only %8.0f img/s (batch %zu) | HTTP %7.0f img/s = %5.1f%% of model-only (%zu "
      "clients, %zu errors) | at %.0f img/s (50%%): p50 %.2f ms, p99 %.2f ms (%zu requests) | "
      "batch endpoint, %zu images per request: %7.0f img/s = %5.1f%% of model-only (%zu errors) | "
      "%lld of %zu kept\n",
      name.c_str(), model_only, max_batch, closed.images_per_second,
      100 * closed.images_per_second / model_only, size_t(clients), closed.errors + open.errors,
      0.5 * closed.images_per_second, Percentile(open.latencies_ms, 0.5),
      Percentile(open.latencies_ms, 0.99), open.latencies_ms.size(), max_batch,
      batched.images_per_second, 100 * batched.images_per_second / model_only, batched.errors,
      stats.ok() ? static_cast<long long>(stats->captures) : -1LL,
      warm.ok + closed.ok + open.ok + batched.ok);
}

// What a feature costs: closed-loop HTTP throughput of the same server without and with it,
// alternated (off, on, off, on) so that drift in the machine's speed falls on both. A feature is
// switched on through the predictor's options before the server starts, or through the
// predictor after.
struct Feature {
  std::string name;
  std::function<void(PredictorOptions&)> options;
  std::function<void(const std::filesystem::path&, Predictor&)> predictor;
};

void Overhead(const Feature& feature, const std::filesystem::path& model_path,
              const std::vector<Image>& images, const std::vector<std::string>& bodies, int clients,
              double seconds) {
  double sum[2] = {0, 0};
  for (int round = 0; round < 4; ++round) {
    const bool on = round % 2 == 1;
    auto model = Classifier::Load(model_path);
    if (!model.ok()) std::exit(1);
    ConfigureCompute(g_server_threads);
    PredictorOptions options;
    options.batching.workers = g_model_workers;
    if (on && feature.options) feature.options(options);
    BenchServer server(std::move(*model), "serve-bench-overhead", options, images, clients);
    if (on && feature.predictor) feature.predictor(model_path, server.predictor());
    // Warm-up, past the drift monitor's reference (1,000 frames), so that what is measured runs
    // the feature in its steady state.
    Load(server.port(), bodies, clients, 2.0, 0);
    const LoadResult r = Load(server.port(), bodies, clients, seconds, 0);
    sum[on ? 1 : 0] += r.images_per_second;
    std::printf("  %s %-3s %7.0f img/s (%zu errors)\n", feature.name.c_str(), on ? "on" : "off",
                r.images_per_second, r.errors);
  }
  std::printf("28x28 PNG, %d clients: %s on / off = %.1f%%\n", clients, feature.name.c_str(),
              100 * sum[1] / sum[0]);
}

const Feature kDriftMonitoring{"monitoring", [](PredictorOptions& o) { o.drift = DriftOptions{}; },
                               nullptr};

// A second copy of the served model as the challenger everywhere: one more model call per image
// scored.
void ShadowEverywhere(const std::filesystem::path& model_path, Predictor& predictor) {
  auto shadow = Classifier::Load(model_path);
  if (!shadow.ok()) std::exit(1);
  ModelAssignment assignment;
  assignment.default_model = predictor.model();
  assignment.shadows[""] = std::move(*shadow);
  if (!predictor.SwitchModels(std::move(assignment)).ok()) std::exit(1);
}

double g_shadow_share = 1.0;
const Feature kShadowScoring{"shadow", [](PredictorOptions& o) { o.shadow_share = g_shadow_share; },
                             ShadowEverywhere};

// Serving latency while another process works (issue 7: retraining beside the server): open-loop
// p99 at a fixed rate (half the idle closed-loop throughput), idle, during `command`, idle again.
// `command` runs through the shell; the "during" window starts `lead` seconds after it, once it
// is past loading its data, and it should outlast the window.
void LatencyDuring(const std::filesystem::path& model_path, const std::vector<Image>& images,
                   const std::vector<std::string>& bodies, int clients, double seconds,
                   const std::string& command, double lead) {
  auto model = Classifier::Load(model_path);
  if (!model.ok()) std::exit(1);
  ConfigureCompute(g_server_threads);
  PredictorOptions options;
  options.batching.workers = g_model_workers;
  BenchServer server(std::move(*model), "serve-bench-during", options, images, clients);
  Load(server.port(), bodies, clients, 1.0, 0);
  const double rate = 0.5 * Load(server.port(), bodies, clients, seconds, 0).images_per_second;
  auto p99 = [&](const char* when) {
    const LoadResult r = Load(server.port(), bodies, clients, seconds, rate);
    const double p = Percentile(r.latencies_ms, 0.99);
    std::printf("  %-7s p50 %.2f ms, p99 %.2f ms (%zu requests, %zu errors)\n", when,
                Percentile(r.latencies_ms, 0.5), p, r.latencies_ms.size(), r.errors);
    return p;
  };
  const double before = p99("idle");
  std::atomic<bool> done{false};
  int status = 0;
  std::thread other([&] {
    status = std::system(command.c_str());
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::duration<double>(lead));
  const double during = p99("during");
  const bool outlasted = !done;
  other.join();
  const double after = p99("idle");
  std::printf(
      "28x28 PNG at %.0f img/s: p99 during / idle = %.2f (idle %.2f and %.2f ms, during %.2f "
      "ms); the command %s the window and exited with %d\n",
      rate, during / (0.5 * (before + after)), before, after, during,
      outlasted ? "outlasted" : "did NOT outlast", status);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: serve_bench MODEL.seye [--seconds S] [--clients C] [--max-batch B]\n");
    return 2;
  }
  double seconds = 5;
  int clients = 32;
  size_t max_batch = 32;
  std::string only;
  bool drift_overhead = false, shadow_overhead = false;
  std::string during;  // --during COMMAND: latency while it runs
  double lead = 5;
  int threads = 1;  // the server's default (steadyeye serve --threads)
  int64_t max_delay_us = PredictorOptions{}.batching.max_delay_us;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
    if (!std::strcmp(argv[i], "--during")) during = argv[i + 1];
    if (!std::strcmp(argv[i], "--lead")) lead = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--drift-overhead")) drift_overhead = !std::strcmp(argv[i + 1], "1");
    if (!std::strcmp(argv[i], "--shadow-overhead"))
      shadow_overhead = !std::strcmp(argv[i + 1], "1");
    if (!std::strcmp(argv[i], "--shadow-share")) g_shadow_share = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--workers")) g_model_workers = size_t(std::atoi(argv[i + 1]));
    if (!std::strcmp(argv[i], "--batch-clients")) g_batch_clients = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--max-delay-us")) max_delay_us = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--clients")) clients = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--max-batch")) max_batch = size_t(std::atoi(argv[i + 1]));
  }
  g_server_threads = threads;
  DataRef ref;
  ref.split = Split::kTest;
  LoadOptions load;
  load.limit = 1000;
  auto data = LoadDataset(ref, load);
  if (!data.ok()) {
    std::fprintf(stderr, "%s\n", data.status().ToString().c_str());
    return 1;
  }
  std::vector<Image> small, large;
  std::vector<std::string> png, jpeg;
  for (size_t i = 0; i < data->size(); ++i) {
    small.push_back(data->image(i));
    const auto p = EncodePng(small.back());
    png.emplace_back(p->begin(), p->end());
    if (i < 200) {
      Image big(640, 480, 1);
      for (int y = 0; y < 480; ++y)
        for (int x = 0; x < 640; ++x) big.at(x, y) = small.back().at(x * 28 / 640, y * 28 / 480);
      large.push_back(big);
      const auto j = EncodeJpeg(big, 90);
      jpeg.emplace_back(j->begin(), j->end());
    }
  }
  std::printf("serve_bench: %u hardware threads, %.0f s per measurement\n",
              std::thread::hardware_concurrency(), seconds);
  if (drift_overhead || shadow_overhead) {
    Overhead(drift_overhead ? kDriftMonitoring : kShadowScoring, argv[1], small, png, clients,
             seconds);
    return 0;
  }
  if (!during.empty()) {
    LatencyDuring(argv[1], small, png, clients, seconds, during, lead);
    return 0;
  }
  if (only != "jpeg")
    Run("28x28 PNG", argv[1], small, png, max_batch, max_delay_us, clients, seconds);
  if (only != "png")
    Run("640x480 JPEG", argv[1], large, jpeg, max_batch, max_delay_us, clients, seconds);
  return 0;
}
