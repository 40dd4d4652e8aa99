// The server's metrics in the Prometheus text exposition format (version 0.0.4).
//
// Written here rather than taken from prometheus-cpp: Debian 12 does not package it, and the
// server needs four counters, two histograms and a few gauges, which the text format renders
// in a page of code.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace steadyeye {

// Cumulative histogram with fixed upper bounds (plus +Inf).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // "<name>_bucket{le=...}", "<name>_sum", "<name>_count" lines.
  std::string Render(const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class ServerMetrics {
 public:
  explicit ServerMetrics(std::string model_version);
  // The default model's version, for steadyeye_model_info (it changes when models switch).
  void SetModelVersion(std::string version);
  std::string ModelVersion() const;

  void CountHttp(const std::string& route, int status);
  void CountDecision(const std::string& site, const std::string& decision);
  void CountCapture(const std::string& kept_because);
  void ObserveLatency(double seconds);  // predict requests, end to end
  void ObserveBatch(size_t size);
  // Drift alerts: counted when they open (by cause), and open ones per stream as a gauge.
  void AlertOpened(const std::string& site, const std::string& camera, const std::string& reason);
  void AlertResolved(const std::string& site, const std::string& camera);

  // The whole exposition; gauges are read by the caller at scrape time.
  std::string Render(size_t queue_depth, size_t captures_pending, bool ready) const;

 private:
  mutable std::mutex version_mu_;
  std::string model_version_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> http_;
  std::map<std::pair<std::string, std::string>, uint64_t> decisions_;
  std::map<std::string, uint64_t> captures_;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> alerts_;
  std::map<std::pair<std::string, std::string>, int64_t> open_alerts_;
  Histogram latency_;
  Histogram batch_;
};

// A label value escaped for the exposition format (backslash, quote, newline).
std::string EscapeLabelValue(const std::string& value);

}  // namespace steadyeye
