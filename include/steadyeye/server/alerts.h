// Where drift alerts go when they open, change or resolve: a log line on stderr, the store
// (GET /v1/alerts), /metrics, and optionally a webhook that receives each change as
// POST {"event": "opened|updated|resolved", "alert": {...}} (JSON).
//
// Webhook delivery runs on its own thread so that no request waits for it; a failed POST (no
// connection, or a status outside 2xx) is retried with exponential backoff, and an alert whose
// retries are used up is logged and dropped (the store still holds it). At most `max_pending`
// deliveries wait; beyond that the oldest is dropped, with a log line.
//
// Thread-safety: Dispatch() may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "steadyeye/core/status.h"
#include "steadyeye/monitor/drift.h"
#include "steadyeye/server/metrics.h"
#include "steadyeye/server/predictor.h"
#include "steadyeye/store/alert_store.h"

namespace steadyeye {

struct WebhookOptions {
  std::string url;                 // http://host[:port]/path; empty: no webhook
  int attempts = 6;                // first try included
  int64_t first_backoff_ms = 500;  // doubles after each failure
  int64_t timeout_ms = 5000;
  size_t max_pending = 1000;
};

// http://host[:port][/path] -> scheme+host+port and path; InvalidArgument otherwise (https is
// not supported: the Debian build of cpp-httplib carries no TLS here).
struct WebhookTarget {
  std::string origin;  // "http://host:port"
  std::string path;    // "/..." ("/" when none)
};
StatusOr<WebhookTarget> ParseWebhookUrl(const std::string& url);

class AlertDispatcher {
 public:
  // `store` and `metrics` must outlive the dispatcher. InvalidArgument for a bad webhook URL.
  static StatusOr<std::unique_ptr<AlertDispatcher>> Create(AlertStore& store,
                                                           ServerMetrics& metrics,
                                                           const WebhookOptions& webhook);
  ~AlertDispatcher();  // stops the webhook thread; undelivered posts are dropped

  void Dispatch(DriftEvent event, const DriftAlert& alert);
  // A sink for DriftMonitor that dispatches here (the dispatcher must outlive the monitor).
  DriftMonitor::Sink Sink();

  // Webhook deliveries that succeeded and that were given up, so far.
  int64_t delivered() const;
  int64_t dropped() const;

 private:
  AlertDispatcher(AlertStore& store, ServerMetrics& metrics, const WebhookOptions& webhook,
                  std::optional<WebhookTarget> target);
  void DeliveryLoop();
  bool Post(const std::string& body);

  AlertStore& store_;
  ServerMetrics& metrics_;
  const WebhookOptions webhook_;
  const std::optional<WebhookTarget> target_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> pending_;  // JSON bodies, oldest first
  bool stopping_ = false;
  int64_t delivered_ = 0, dropped_ = 0;
  std::thread thread_;
};

// Turns drift monitoring on in the options of a predictor about to be created: alert ids
// continue those in `store`, and every alert change goes to `alerts` (which must outlive the
// predictor).
Status EnableDriftMonitoring(PredictorOptions& options, const DriftOptions& drift,
                             const AlertStore& store, AlertDispatcher& alerts);

}  // namespace steadyeye
