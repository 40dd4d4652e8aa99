#include "steadyeye/core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace steadyeye {

namespace {
constexpr auto kTerminalRefresh = std::chrono::milliseconds(100);
constexpr auto kPlainInterval = std::chrono::seconds(10);
constexpr int kBarWidth = 24;
constexpr double kMinElapsedForRate = 1.0;  // seconds
}  // namespace

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

Progress::Progress(std::string label, int64_t total, std::string unit, std::FILE* out)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      out_(out),
      interactive_(out != nullptr && ::isatty(::fileno(out)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_render_(start_) {}

Progress::~Progress() { Finish(); }

void Progress::Update(int64_t done, const std::string& detail) {
  if (finished_) return;
  done_ = done;
  detail_ = detail;
  const auto now = std::chrono::steady_clock::now();
  if (interactive_) {
    if (now - last_render_ >= kTerminalRefresh) Render(false);
    return;
  }
  const int decile = total_ > 0 ? static_cast<int>(10 * done_ / total_) : -1;
  if (decile != last_decile_ || now - last_render_ >= kPlainInterval) {
    last_decile_ = decile;
    Render(false);
  }
}

void Progress::Finish(const std::string& detail) {
  if (finished_) return;
  if (!detail.empty()) detail_ = detail;
  Render(true);
  finished_ = true;
}

std::string Progress::Line(bool final) const {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  std::string line = label_;
  if (total_ > 0) {
    const double frac =
        std::clamp(static_cast<double>(done_) / static_cast<double>(total_), 0.0, 1.0);
    if (interactive_) {
      const int filled = static_cast<int>(frac * kBarWidth);
      line += " [" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + "]";
    }
    line += fmt::format(" {:3.0f}% {}/{}", 100 * frac, done_, total_);
  } else {
    line += fmt::format(" {}", done_);
  }
  if (!detail_.empty()) line += "  " + detail_;
  // A rate over the first instants of work is noise (millions per second); wait for a sample.
  const bool rate_known = final || elapsed >= kMinElapsedForRate;
  if (rate_known) line += fmt::format("  {:.0f} {}/s", rate, unit_);
  if (final) {
    line += "  took " + FormatDuration(elapsed);
  } else if (total_ > 0 && rate > 0 && rate_known) {
    line += "  ETA " + FormatDuration(static_cast<double>(total_ - done_) / rate);
  }
  return line;
}

void Progress::Render(bool final) {
  last_render_ = std::chrono::steady_clock::now();
  if (out_ == nullptr) return;
  const std::string line = Line(final);
  if (interactive_) {
    // \x1b[K clears what a longer previous line left behind.
    std::fprintf(out_, "\r%s\x1b[K%s", line.c_str(), final ? "\n" : "");
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

}  // namespace steadyeye
