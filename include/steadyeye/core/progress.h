// Progress reporting for long work. On a terminal: one bar redrawn in place with rate and ETA.
// Otherwise (logs, CI): a plain line at each 10% step or every 10 s, whichever comes first.
// Not thread-safe: one owner updates it.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace steadyeye {

class Progress {
 public:
  // `unit` names what is counted ("img"); `total` <= 0 means unknown (no bar, no ETA).
  Progress(std::string label, int64_t total, std::string unit = "it", std::FILE* out = stderr);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Sets the absolute count done so far and a short free-text detail ("loss 0.31 acc 0.88").
  void Update(int64_t done, const std::string& detail = "");
  // Prints the final state and a newline. Idempotent; the destructor calls it.
  void Finish(const std::string& detail = "");

  // Whether output goes to a terminal (decides bar vs plain lines). Exposed for tests.
  bool interactive() const { return interactive_; }

 private:
  void Render(bool final);
  std::string Line(bool final) const;

  std::string label_;
  int64_t total_;
  std::string unit_;
  std::FILE* out_;
  bool interactive_;
  bool finished_ = false;
  int64_t done_ = 0;
  std::string detail_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_render_;
  int last_decile_ = -1;
};

// "1:05", "12:03:09".
std::string FormatDuration(double seconds);

}  // namespace steadyeye
