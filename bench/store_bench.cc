// Capture store insert rate, from empty to many rows, with WAL and batched commits.
//
//   build/bench/store_bench [--rows N] [--batch B] [--window W] [--dir DIR]
//
// Inserts N captures shaped like the server's (10 probabilities, the 16 quality metrics, a
// distinct ~1 KB image each) in commits of B, and prints the rate of every W-capture window, so
// the rate at the start and after N rows compare in one run.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <vector>

#include "steadyeye/store/store.h"

using namespace steadyeye;

int main(int argc, char** argv) {
  size_t rows = 1'000'000, batch = 64, window = 50'000;
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "store-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rows")) rows = std::stoul(argv[i + 1]);
    if (!std::strcmp(argv[i], "--batch")) batch = std::stoul(argv[i + 1]);
    if (!std::strcmp(argv[i], "--window")) window = std::stoul(argv[i + 1]);
    if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  auto store = OpenSqliteStore(dir);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  nlohmann::json quality = {{"verdict", "pass"}, {"metrics", nlohmann::json::object()}};
  for (const char* m : {"sharpness", "fine_detail", "brightness", "peak", "floor", "contrast",
                        "midtone", "clipped", "glare", "uneven_light", "noise", "blockiness",
                        "flat_area", "spread", "displacement", "alignment"}) {
    quality["metrics"][m] = 123.456789;
  }
  std::mt19937_64 rng(1);
  std::printf("store_bench: %zu captures in commits of %zu, %s\n", rows, batch, dir.c_str());
  std::printf("%12s %12s\n", "rows", "captures/s");
  std::vector<double> rates;
  const auto begin = std::chrono::steady_clock::now();
  auto window_start = begin;
  std::vector<NewCapture> captures(batch);
  for (size_t done = 0; done < rows;) {
    for (auto& n : captures) {
      Capture& c = n.capture;
      c = Capture{};
      c.time_ms = 1796000000000 + int64_t(done);
      c.received_ms = c.time_ms + 3;
      c.site = "site-" + std::to_string(done % 7);
      c.camera = "cam-" + std::to_string(done % 3);
      c.model_version = "d68c72d2bb5a40e8";
      c.label = int(done % 10);
      c.label_name = "Sneaker";
      c.confidence = 0.8;
      c.probabilities.assign(10, 0.02f);
      c.decision = "review";
      c.reasons = {"low_confidence"};
      c.quality = quality;
      c.image_format = "png";
      c.width = c.height = 28;
      n.image.resize(1000);
      for (auto& b : n.image) b = uint8_t(rng());
    }
    if (Status st = (*store)->Insert(captures); !st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
    done += batch;
    if (done % window < batch) {
      const auto now = std::chrono::steady_clock::now();
      const double rate =
          double(window) / std::chrono::duration<double>(now - window_start).count();
      window_start = now;
      rates.push_back(rate);
      std::printf("%12zu %12.0f\n", done, rate);
      std::fflush(stdout);
    }
  }
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  // Windows are noisy on a shared machine: compare the mean of the first and the last fifth.
  const size_t fifth = std::max<size_t>(1, rates.size() / 5);
  double head = 0, tail = 0;
  for (size_t i = 0; i < fifth && i < rates.size(); ++i) {
    head += rates[i] / double(fifth);
    tail += rates[rates.size() - 1 - i] / double(fifth);
  }
  std::printf(
      "overall %.0f captures/s; first fifth %.0f/s, last fifth %.0f/s, last / first = %.3f\n",
      double(rows) / total, head, tail, head > 0 ? tail / head : 0.0);
  std::filesystem::remove_all(dir, ec);
  return 0;
}
