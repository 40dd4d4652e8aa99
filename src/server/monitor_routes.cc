// Routes of drift monitoring: the alerts (from the store, so they outlive a restart) and the
// live state of every monitored stream.
#include "http_common.h"

namespace steadyeye::internal {

namespace {

void ListAlerts(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  AlertQuery query;
  query.site = Query(req, "site");
  query.state = Query(req, "state");
  if (query.state && *query.state != "open" && *query.state != "resolved")
    return SendError(res, InvalidArgumentError("state must be open or resolved"));
  if (auto text = Query(req, "limit")) {
    auto limit = ParseInteger(*text, "limit");
    if (!limit.ok()) return SendError(res, limit.status());
    if (*limit < 1 || *limit > 10000)
      return SendError(res, InvalidArgumentError("limit must be in 1..10000"));
    query.limit = size_t(*limit);
  }
  auto alerts = ctx.store.ListAlerts(query);
  if (!alerts.ok()) return SendError(res, alerts.status());
  SendJson(res, 200, nlohmann::json(*alerts));
}

void DriftState(ServerContext& ctx, httplib::Response& res) {
  const DriftMonitor* monitor = ctx.predictor.monitor();
  if (monitor == nullptr) {
    return SendError(res, FailedPreconditionError(
                              "drift monitoring is off (the server was started with --no-drift)"));
  }
  const DriftOptions& o = monitor->options();
  SendJson(res, 200,
           {{"options",
             {{"reference_frames", o.reference_frames},
              {"batch", o.batch},
              {"class_window", o.class_window},
              {"frames_per_false_alarm", o.frames_per_false_alarm},
              {"resolve_frames", o.resolve_frames},
              {"action", DriftActionName(o.action)}}},
            {"model_version", ctx.predictor.model()->card().Version()},
            {"streams", monitor->Streams()}});
}

void DriftHistory(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const DriftMonitor* monitor = ctx.predictor.monitor();
  if (monitor == nullptr)
    return SendError(res, FailedPreconditionError("drift monitoring is off (--no-drift)"));
  const auto site = Query(req, "site");
  if (!site) return SendError(res, InvalidArgumentError("say which stream: ?site=...&camera=..."));
  auto history = monitor->History(*site, Query(req, "camera").value_or("default"));
  if (!history.ok()) return SendError(res, history.status());
  SendJson(res, 200, *history);
}

}  // namespace

std::vector<Route> MonitorRoutes(ServerContext& ctx) {
  ServerContext* c = &ctx;
  return {
      {"alerts_list",
       "get",
       "/v1/alerts",
       "/v1/alerts",
       kOperatorRole,
       "Drift alerts, newest first: a JSON list; each has site, camera, onset, metrics (what "
       "moved, by how much), cause, action, state (open or resolved) and accuracy_impact",
       {{"site", "query", false, "string", "Only this site"},
        {"state", "query", false, "string", "open or resolved"},
        {"limit", "query", false, "integer", "At most this many (default 500)"}},
       nullptr,
       "application/json",
       [c](const auto& req, auto& res, const Caller&) { ListAlerts(*c, req, res); }},
      {"drift_state",
       "get",
       "/v1/drift",
       "/v1/drift",
       kOperatorRole,
       "Every monitored (site, camera) stream: frames seen, whether its reference is learned, "
       "and each monitored quantity's reference, last batch mean, z and CUSUM score (1 = alarm)",
       {},
       nullptr,
       "application/json",
       [c](const auto&, auto& res, const Caller&) { DriftState(*c, res); }},
      {"drift_history",
       "get",
       "/v1/drift/history",
       "/v1/drift/history",
       kOperatorRole,
       "One stream's history, oldest first, a point per 100 frames: review and bad-image "
       "rates, mean confidence, label-free accuracy (ATC), largest CUSUM score, quality means",
       {{"site", "query", true, "string", "Site"},
        {"camera", "query", false, "string", "Camera (default: default)"}},
       nullptr,
       "application/json",
       [c](const auto& req, auto& res, const Caller&) { DriftHistory(*c, req, res); }},
  };
}

}  // namespace steadyeye::internal
