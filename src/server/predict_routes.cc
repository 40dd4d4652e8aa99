// Routes of predictions, captures, site settings and health.
#include "http_common.h"
#include "steadyeye/core/name.h"
#include "steadyeye/core/time.h"
#include "steadyeye/image/codec.h"

namespace steadyeye::internal {

namespace {

const std::vector<Param>& SiteCameraParams() {
  static const std::vector<Param> kParams = {
      {"site", "query", true, "string", "Site name: 1-64 of [A-Za-z0-9._-]"},
      {"camera", "query", false, "string", "Camera name (default \"default\")"},
      {"ts", "query", false, "string",
       "When the image was taken: ISO 8601 UTC or epoch milliseconds"}};
  return kParams;
}

// site, camera and ts of a predict request.
StatusOr<PredictRequest> RequestMetadata(const httplib::Request& req) {
  PredictRequest r;
  const auto site = Query(req, "site");
  if (!site)
    return InvalidArgumentError("the query parameter 'site' is required (e.g. ?site=plant-a)");
  r.site = *site;
  r.camera = Query(req, "camera").value_or("default");
  if (const auto ts = Query(req, "ts")) {
    SEYE_ASSIGN_OR_RETURN(r.time_ms, ParseTimestamp(*ts));
  }
  return r;
}

void PredictOne(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto request = RequestMetadata(req);
  if (!request.ok()) return SendError(res, request.status());
  request->image = Bytes(req.body);
  auto result = ctx.predictor.Predict(*request);
  if (!result.ok()) return SendError(res, result.status());
  SendJson(res, 200, result->ToJson());
}

void PredictBatch(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto meta = RequestMetadata(req);
  if (!meta.ok()) return SendError(res, meta.status());
  if (!req.is_multipart_form_data() || req.files.empty()) {
    return SendError(res, InvalidArgumentError("send the images as multipart/form-data parts"));
  }
  std::vector<PredictRequest> requests;
  std::vector<std::string> names;
  for (const auto& [field, part] : req.files) {
    PredictRequest r = *meta;
    r.image = Bytes(part.content);
    requests.push_back(r);
    names.push_back(part.filename.empty() ? field : part.filename);
  }
  auto results = ctx.predictor.PredictMany(requests);
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < results.size(); ++i) {
    nlohmann::json item =
        results[i].ok() ? results[i]->ToJson()
                        : nlohmann::json{{"error",
                                          {{"code", StatusCodeName(results[i].status().code())},
                                           {"message", results[i].status().message()}}}};
    item["part"] = names[i];
    out.push_back(std::move(item));
  }
  SendJson(res, 200, {{"results", out}});
}

StatusOr<CaptureQuery> CaptureQueryOf(const httplib::Request& req) {
  CaptureQuery q;
  q.site = Query(req, "site");
  q.camera = Query(req, "camera");
  q.decision = Query(req, "decision");
  for (auto [name, field] : {std::pair{"since", &q.since_ms}, std::pair{"until", &q.until_ms}}) {
    if (auto text = Query(req, name)) {
      SEYE_ASSIGN_OR_RETURN(*field, ParseTimestamp(*text));
    }
  }
  if (auto text = Query(req, "after")) {
    SEYE_ASSIGN_OR_RETURN(q.after_id, ParseInteger(*text, "after"));
  }
  if (auto text = Query(req, "limit")) {
    SEYE_ASSIGN_OR_RETURN(const int64_t v, ParseInteger(*text, "limit"));
    if (v < 1 || v > 1000) return InvalidArgumentError("limit must be in 1..1000");
    q.limit = size_t(v);
  }
  return q;
}

void ListCaptures(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto q = CaptureQueryOf(req);
  if (!q.ok()) return SendError(res, q.status());
  auto list = ctx.store.List(*q);
  if (!list.ok()) return SendError(res, list.status());
  nlohmann::json items = nlohmann::json::array();
  for (const auto& c : *list) items.push_back(c.ToJson());
  nlohmann::json body = {{"captures", items}, {"next_after", nullptr}};
  if (list->size() == q->limit) body["next_after"] = list->back().id;
  SendJson(res, 200, body);
}

void PutBaseline(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string site = req.matches[1];
  const auto json = JsonBody(req);
  if (!json.ok()) return SendError(res, json.status());
  auto baseline = QualityBaseline::FromJson(*json);
  if (!baseline.ok()) return SendError(res, baseline.status());
  if (Status st = ValidateName(site, "site"); !st.ok()) return SendError(res, st);
  const auto& dir = ctx.options.baselines_dir;
  if (!dir.empty()) {
    // Persisted first, so that a baseline the client was told is set survives a restart.
    Status st = SaveBaseline(*baseline, dir / (site + ".json"));
    if (!st.ok()) return SendError(res, st);
  }
  const size_t n = baseline->n;
  if (Status st = ctx.predictor.SetSiteBaseline(site, std::move(*baseline)); !st.ok())
    return SendError(res, st);
  SendJson(res, 200, {{"site", site}, {"reference_images", n}, {"persisted", !dir.empty()}});
}

void PutSiteWeight(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string site = req.matches[1];
  if (Status st = ValidateName(site, "site"); !st.ok()) return SendError(res, st);
  const auto json = JsonBody(req);
  if (!json.ok()) return SendError(res, json.status());
  if (!json->contains("weight") || !(*json)["weight"].is_number())
    return SendError(res, InvalidArgumentError("send {\"weight\": <number >= 0>}"));
  const double weight = (*json)["weight"].get<double>();
  if (Status st = ctx.store.SetSiteWeight(site, weight); !st.ok()) return SendError(res, st);
  SendJson(res, 200, {{"site", site}, {"weight", weight}});
}

// The sites served by a model of their own, with its version.
nlohmann::json SiteModels(const Predictor& predictor) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [site, version] : predictor.ModelVersions())
    if (!site.empty()) out[site] = version;
  return out;
}

nlohmann::json Shadows(const Predictor& predictor) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [site, version] : predictor.ShadowVersions())
    out[site.empty() ? "*" : site] = version;
  return out;
}

}  // namespace

std::vector<Route> PredictRoutes(ServerContext& ctx) {
  ServerContext* c = &ctx;
  const std::vector<Param> id_param = {{"id", "path", true, "integer", "Capture id"}};
  const std::vector<Param> site_param = {{"site", "path", true, "string", "Site name"}};
  return {
      {"predict", "post", "/v1/predict", "/v1/predict", kClientRole,
       "Classify one image (raw PNG or JPEG bytes as the body): label, calibrated confidence, "
       "decision (auto or review) with reasons, quality, and the capture id when it was kept",
       SiteCameraParams(), "application/octet-stream", "application/json",
       [c](const auto& req, auto& res, const Caller&) { PredictOne(*c, req, res); }},
      {"predict_batch", "post", "/v1/predict/batch", "/v1/predict/batch", kClientRole,
       "Classify several images sent as multipart/form-data parts; one result or error per part, "
       "each naming its part (file name, else field name), ordered by field name",
       SiteCameraParams(), "multipart/form-data", "application/json",
       [c](const auto& req, auto& res, const Caller&) { PredictBatch(*c, req, res); }},
      {"captures_list",
       "get",
       "/v1/captures",
       "/v1/captures",
       kOperatorRole,
       "Captures in increasing id order, filtered; page with after=<last id>",
       {{"site", "query", false, "string", "Only this site"},
        {"camera", "query", false, "string", "Only this camera"},
        {"decision", "query", false, "string", "auto or review"},
        {"since", "query", false, "string", "Taken at or after (ISO 8601 or epoch ms)"},
        {"until", "query", false, "string", "Taken before (ISO 8601 or epoch ms)"},
        {"after", "query", false, "integer", "Ids greater than this"},
        {"limit", "query", false, "integer", "At most this many (1-1000, default 100)"}},
       nullptr,
       "application/json",
       [c](const auto& req, auto& res, const Caller&) { ListCaptures(*c, req, res); }},
      {"capture_get", "get", "/v1/captures/{id}", R"(/v1/captures/(\d+))", kOperatorRole,
       "One capture's metadata", id_param, nullptr, "application/json",
       [c](const auto& req, auto& res, const Caller&) {
         auto id = ParseInteger(req.matches[1], "capture id");
         if (!id.ok()) return SendError(res, id.status());
         auto capture = c->store.Get(*id);
         if (!capture.ok()) return SendError(res, capture.status());
         SendJson(res, 200, capture->ToJson());
       }},
      {"capture_image", "get", "/v1/captures/{id}/image", R"(/v1/captures/(\d+)/image)",
       kOperatorRole, "One capture's image, as received", id_param, nullptr, "image/*",
       [c](const auto& req, auto& res, const Caller&) {
         auto id = ParseInteger(req.matches[1], "capture id");
         if (!id.ok()) return SendError(res, id.status());
         auto bytes = c->store.GetImage(*id);
         if (!bytes.ok()) return SendError(res, bytes.status());
         res.set_content(std::string(bytes->begin(), bytes->end()),
                         std::string("image/") + ImageFormatName(*bytes));
       }},
      {"baseline_put", "put", "/v1/sites/{site}/baseline", R"(/v1/sites/([^/]+)/baseline)",
       kOperatorRole,
       "Set a site's quality baseline (the JSON written by steadyeye quality baseline)", site_param,
       "application/json", "application/json",
       [c](const auto& req, auto& res, const Caller&) { PutBaseline(*c, req, res); }},
      {"baseline_get", "get", "/v1/sites/{site}/baseline", R"(/v1/sites/([^/]+)/baseline)",
       kOperatorRole, "A site's own quality baseline", site_param, nullptr, "application/json",
       [c](const auto& req, auto& res, const Caller&) {
         auto b = c->predictor.SiteBaseline(req.matches[1]);
         if (!b.ok()) return SendError(res, b.status());
         SendJson(res, 200, b->ToJson());
       }},
      {"site_weight_put", "put", "/v1/sites/{site}/weight", R"(/v1/sites/([^/]+)/weight)",
       kOperatorRole,
       "Set a site's review priority ({\"weight\": w}, default 1): its tasks come first when "
       "higher",
       site_param, "application/json", "application/json",
       [c](const auto& req, auto& res, const Caller&) { PutSiteWeight(*c, req, res); }},
      {"healthz",
       "get",
       "/healthz",
       "/healthz",
       kPublic,
       "Liveness: the process answers",
       {},
       nullptr,
       "application/json",
       [](const auto&, auto& res, const Caller&) {
         SendJson(res, 200, {{"status", "ok"}});
       }},
      {"readyz",
       "get",
       "/readyz",
       "/readyz",
       kAnyRole,
       "Readiness: 200 while predictions are accepted, 503 otherwise",
       {},
       nullptr,
       "application/json",
       [c](const auto&, auto& res, const Caller&) {
         SendJson(res, c->ready ? 200 : 503,
                  {{"ready", c->ready.load()},
                   {"model_version", c->predictor.model()->card().Version()},
                   {"site_models", SiteModels(c->predictor)},
                   // Challengers scored in the shadow: site ("*" for every site) -> version.
                   {"shadows", Shadows(c->predictor)},
                   {"queue_depth", c->predictor.queue_depth()}});
       }},
      {"metrics",
       "get",
       "/metrics",
       "/metrics",
       kOperatorRole,
       "Prometheus metrics (text format 0.0.4)",
       {},
       nullptr,
       "text/plain",
       [c](const auto&, auto& res, const Caller&) {
         res.set_content(c->metrics.Render(c->predictor.queue_depth(),
                                           c->predictor.captures_pending(), c->ready),
                         "text/plain; version=0.0.4");
       }},
  };
}

}  // namespace steadyeye::internal
