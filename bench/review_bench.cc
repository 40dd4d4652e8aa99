// Review queue: how long handing out and answering a task takes as the queue grows.
//
//   build/bench/review_bench [--open N,N,...] [--answers M] [--dir DIR]
//
// For each N: a fresh store with N open tasks (captures of 3 sites, random confidences, 2% of
// them audit tasks, one site weighted up), then M rounds of NextTask + Answer by one reviewer,
// timed; the rounds of every N run in this one process, so the per-task times compare.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>
#include <vector>

#include "steadyeye/store/store.h"

using namespace steadyeye;

namespace {

Status Fill(Store& store, size_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> confidence(0.3, 1.0), unit(0, 1);
  std::vector<NewCapture> batch;
  for (size_t i = 0; i < n; ++i) {
    NewCapture c;
    c.capture.time_ms = c.capture.received_ms = 1796000000000 + int64_t(i);
    c.capture.site = "site-" + std::to_string(i % 3);
    c.capture.camera = "cam";
    c.capture.model_version = "m";
    c.capture.label_name = "Coat";
    c.capture.confidence = confidence(rng);
    c.capture.decision = "review";
    c.capture.kept_because = unit(rng) < 0.02 ? KeptBecause::kAudit : KeptBecause::kReview;
    c.capture.image_format = "png";
    const std::string bytes = "image-" + std::to_string(i);
    c.image.assign(bytes.begin(), bytes.end());
    batch.push_back(std::move(c));
    if (batch.size() == 512 || i + 1 == n) {
      if (Status st = store.Insert(batch); !st.ok()) return st;
      batch.clear();
    }
  }
  return store.SetSiteWeight("site-1", 2);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes = {1'000, 10'000, 100'000};
  size_t answers = 500;
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "review-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--answers")) answers = std::stoul(argv[i + 1]);
    if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    if (!std::strcmp(argv[i], "--open")) {
      sizes.clear();
      std::stringstream list(argv[i + 1]);
      for (std::string item; std::getline(list, item, ',');) sizes.push_back(std::stoul(item));
    }
  }
  std::printf("review_bench: %zu rounds of next + answer per queue size\n", answers);
  std::printf("%12s %14s %14s\n", "open tasks", "ms per round", "rounds/s");
  for (size_t n : sizes) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    StoreOptions options;
    options.double_review_share = 0;
    auto store = OpenSqliteStore(dir, options);
    std::mt19937_64 rng(1);
    if (!store.ok() || !Fill(**store, n, rng).ok()) {
      std::fprintf(stderr, "cannot fill the store\n");
      return 1;
    }
    const auto start = std::chrono::steady_clock::now();
    int64_t now = 1796000000000;
    size_t done = 0;
    for (; done < answers; ++done) {
      auto task = (*store)->NextTask("rita", ++now, 600'000);
      if (!task.ok() || !task->has_value()) break;
      if (!(*store)->Answer((**task).id, "rita", "Coat", ++now).ok()) return 1;
    }
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%12zu %14.3f %14.0f\n", n, 1000 * s / double(done), double(done) / s);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
