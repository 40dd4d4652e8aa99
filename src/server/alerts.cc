#include "steadyeye/server/alerts.h"

#include <httplib.h>
#include <pthread.h>

#include <chrono>
#include <cstdio>

namespace steadyeye {

StatusOr<WebhookTarget> ParseWebhookUrl(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind("https://", 0) == 0)
    return InvalidArgumentError("webhook " + url + ": https is not supported; use http://");
  if (url.rfind(scheme, 0) != 0 || url.size() == scheme.size())
    return InvalidArgumentError("webhook '" + url + "' is not an http://host[:port]/path URL");
  const size_t slash = url.find('/', scheme.size());
  WebhookTarget t;
  t.origin = url.substr(0, slash);
  t.path = slash == std::string::npos ? "/" : url.substr(slash);
  if (t.origin.size() == scheme.size())
    return InvalidArgumentError("webhook '" + url + "' has no host");
  return t;
}

StatusOr<std::unique_ptr<AlertDispatcher>> AlertDispatcher::Create(AlertStore& store,
                                                                   ServerMetrics& metrics,
                                                                   const WebhookOptions& webhook) {
  std::optional<WebhookTarget> target;
  if (!webhook.url.empty()) {
    SEYE_ASSIGN_OR_RETURN(target, ParseWebhookUrl(webhook.url));
  }
  if (webhook.attempts < 1) return InvalidArgumentError("webhook attempts must be at least 1");
  return std::unique_ptr<AlertDispatcher>(
      new AlertDispatcher(store, metrics, webhook, std::move(target)));
}

AlertDispatcher::AlertDispatcher(AlertStore& store, ServerMetrics& metrics,
                                 const WebhookOptions& webhook, std::optional<WebhookTarget> target)
    : store_(store), metrics_(metrics), webhook_(webhook), target_(std::move(target)) {
  if (target_) thread_ = std::thread([this] { DeliveryLoop(); });
}

AlertDispatcher::~AlertDispatcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AlertDispatcher::Dispatch(DriftEvent event, const DriftAlert& alert) {
  const nlohmann::json json = alert.ToJson();
  std::fprintf(
      stderr, "steadyeye: drift alert %lld %s%s: %s / %s since %s: %s; action: %s\n",
      static_cast<long long>(alert.id), DriftEventName(event),
      alert.absorbed ? " (lasting: learned as the stream's normal, decisions stay tightened)" : "",
      alert.site.c_str(), alert.camera.c_str(), json["onset"].get<std::string>().c_str(),
      alert.cause.c_str(), alert.action.c_str());
  if (event == DriftEvent::kOpened) metrics_.AlertOpened(alert.site, alert.camera, alert.reason);
  if (event == DriftEvent::kResolved) metrics_.AlertResolved(alert.site, alert.camera);
  if (Status st = store_.SaveAlert(json); !st.ok()) {
    std::fprintf(stderr, "steadyeye: could not store drift alert %lld: %s\n",
                 static_cast<long long>(alert.id), st.ToString().c_str());
  }
  if (!target_) return;
  {
    std::lock_guard lock(mu_);
    if (pending_.size() >= webhook_.max_pending) {
      pending_.pop_front();
      ++dropped_;
      std::fprintf(stderr, "steadyeye: webhook backlog full: dropped the oldest alert post\n");
    }
    pending_.push_back(nlohmann::json{{"event", DriftEventName(event)}, {"alert", json}}.dump());
  }
  cv_.notify_all();
}

DriftMonitor::Sink AlertDispatcher::Sink() {
  return [this](DriftEvent event, const DriftAlert& alert) { Dispatch(event, alert); };
}

bool AlertDispatcher::Post(const std::string& body) {
  httplib::Client client(target_->origin);
  const auto timeout = std::chrono::milliseconds(webhook_.timeout_ms);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  auto res = client.Post(target_->path, body, "application/json");
  return res && res->status >= 200 && res->status < 300;
}

void AlertDispatcher::DeliveryLoop() {
  pthread_setname_np(pthread_self(), "seye-webhook");
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    if (stopping_) return;
    const std::string body = pending_.front();
    pending_.pop_front();
    bool ok = false;
    int64_t backoff = webhook_.first_backoff_ms;
    for (int attempt = 1; attempt <= webhook_.attempts && !ok && !stopping_; ++attempt) {
      lock.unlock();
      ok = Post(body);
      lock.lock();
      if (!ok && attempt < webhook_.attempts) {
        cv_.wait_for(lock, std::chrono::milliseconds(backoff), [&] { return stopping_; });
        backoff *= 2;
      }
    }
    if (ok) {
      ++delivered_;
    } else if (!stopping_) {
      ++dropped_;
      std::fprintf(stderr, "steadyeye: webhook %s%s: gave up on an alert after %d attempts\n",
                   target_->origin.c_str(), target_->path.c_str(), webhook_.attempts);
    }
  }
}

int64_t AlertDispatcher::delivered() const {
  std::lock_guard lock(mu_);
  return delivered_;
}

int64_t AlertDispatcher::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

Status EnableDriftMonitoring(PredictorOptions& options, const DriftOptions& drift,
                             const AlertStore& store, AlertDispatcher& alerts) {
  SEYE_ASSIGN_OR_RETURN(const int64_t last_id, store.MaxAlertId());
  options.drift = drift;
  options.drift->first_alert_id = last_id + 1;
  options.drift_sink = alerts.Sink();
  return Status::Ok();
}

}  // namespace steadyeye
