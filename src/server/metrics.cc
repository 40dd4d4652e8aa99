#include "steadyeye/server/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace steadyeye {

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

std::string Histogram::Render(const std::string& name) const {
  std::string out;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name,
                     sum_, name, count_);
  return out;
}

ServerMetrics::ServerMetrics(std::string model_version)
    : model_version_(std::move(model_version)),
      latency_({0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5}),
      batch_({1, 2, 4, 8, 16, 32, 64, 128, 256}) {}

void ServerMetrics::CountHttp(const std::string& route, int status) {
  std::lock_guard lock(mu_);
  ++http_[{route, status}];
}

void ServerMetrics::CountDecision(const std::string& site, const std::string& decision) {
  std::lock_guard lock(mu_);
  ++decisions_[{site, decision}];
}

void ServerMetrics::CountCapture(const std::string& kept_because) {
  std::lock_guard lock(mu_);
  ++captures_[kept_because];
}

void ServerMetrics::ObserveLatency(double seconds) {
  std::lock_guard lock(mu_);
  latency_.Observe(seconds);
}

void ServerMetrics::ObserveBatch(size_t size) {
  std::lock_guard lock(mu_);
  batch_.Observe(double(size));
}

void ServerMetrics::AlertOpened(const std::string& site, const std::string& camera,
                                const std::string& reason) {
  std::lock_guard lock(mu_);
  ++alerts_[{site, camera, reason}];
  ++open_alerts_[{site, camera}];
}

void ServerMetrics::AlertResolved(const std::string& site, const std::string& camera) {
  std::lock_guard lock(mu_);
  auto& open = open_alerts_[{site, camera}];
  open = std::max<int64_t>(0, open - 1);
}

std::string ServerMetrics::Render(size_t queue_depth, size_t captures_pending, bool ready) const {
  std::lock_guard lock(mu_);
  std::string out;
  out +=
      "# HELP steadyeye_http_requests_total HTTP requests by route and status code.\n"
      "# TYPE steadyeye_http_requests_total counter\n";
  for (const auto& [key, n] : http_) {
    out += fmt::format("steadyeye_http_requests_total{{route=\"{}\",code=\"{}\"}} {}\n",
                       EscapeLabelValue(key.first), key.second, n);
  }
  out +=
      "# HELP steadyeye_predictions_total Images decided, by site and decision (auto or review).\n"
      "# TYPE steadyeye_predictions_total counter\n";
  for (const auto& [key, n] : decisions_) {
    out += fmt::format("steadyeye_predictions_total{{site=\"{}\",decision=\"{}\"}} {}\n",
                       EscapeLabelValue(key.first), EscapeLabelValue(key.second), n);
  }
  out +=
      "# HELP steadyeye_captures_total Captures stored, by why they were kept.\n"
      "# TYPE steadyeye_captures_total counter\n";
  for (const auto& [why, n] : captures_) {
    out += fmt::format("steadyeye_captures_total{{kept_because=\"{}\"}} {}\n",
                       EscapeLabelValue(why), n);
  }
  out +=
      "# HELP steadyeye_drift_alerts_total Drift alerts opened, by stream and likely cause.\n"
      "# TYPE steadyeye_drift_alerts_total counter\n";
  for (const auto& [key, n] : alerts_) {
    const auto& [site, camera, reason] = key;
    out +=
        fmt::format("steadyeye_drift_alerts_total{{site=\"{}\",camera=\"{}\",reason=\"{}\"}} {}\n",
                    EscapeLabelValue(site), EscapeLabelValue(camera), EscapeLabelValue(reason), n);
  }
  out +=
      "# HELP steadyeye_drift_alerts_open Open drift alerts, by stream.\n"
      "# TYPE steadyeye_drift_alerts_open gauge\n";
  for (const auto& [key, n] : open_alerts_) {
    out += fmt::format("steadyeye_drift_alerts_open{{site=\"{}\",camera=\"{}\"}} {}\n",
                       EscapeLabelValue(key.first), EscapeLabelValue(key.second), n);
  }
  out +=
      "# HELP steadyeye_predict_latency_seconds Predict requests from receipt to response.\n"
      "# TYPE steadyeye_predict_latency_seconds histogram\n" +
      latency_.Render("steadyeye_predict_latency_seconds");
  out +=
      "# HELP steadyeye_batch_size Images per model call (dynamic micro-batching).\n"
      "# TYPE steadyeye_batch_size histogram\n" +
      batch_.Render("steadyeye_batch_size");
  out += fmt::format(
      "# HELP steadyeye_queue_depth Images waiting for the model.\n# TYPE steadyeye_queue_depth "
      "gauge\n"
      "steadyeye_queue_depth {}\n"
      "# HELP steadyeye_captures_pending Captures waiting for their commit.\n"
      "# TYPE steadyeye_captures_pending gauge\nsteadyeye_captures_pending {}\n"
      "# HELP steadyeye_ready Whether the server accepts predictions.\n# TYPE steadyeye_ready "
      "gauge\n"
      "steadyeye_ready {}\n"
      "# HELP steadyeye_model_info The model being served.\n# TYPE steadyeye_model_info gauge\n"
      "steadyeye_model_info{{version=\"{}\"}} 1\n",
      queue_depth, captures_pending, ready ? 1 : 0, EscapeLabelValue(ModelVersion()));
  return out;
}

void ServerMetrics::SetModelVersion(std::string version) {
  std::lock_guard lock(version_mu_);
  model_version_ = std::move(version);
}

std::string ServerMetrics::ModelVersion() const {
  std::lock_guard lock(version_mu_);
  return model_version_;
}

}  // namespace steadyeye
