#include "steadyeye/server/http_server.h"

#include <httplib.h>
#include <netinet/tcp.h>

#include <functional>
#include <map>

#include "steadyeye/core/time.h"
#include "steadyeye/image/codec.h"

namespace steadyeye {

namespace {

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

struct Param {
  const char* name;
  const char* in;  // "path" or "query"
  bool required;
  const char* type;  // "string" or "integer"
  const char* description;
};

// One route: how it is matched, and what the OpenAPI document says about it.
struct RouteSpec {
  const char* id;
  const char* method;   // "get", "post", "put"
  const char* path;     // OpenAPI template, e.g. /v1/captures/{id}
  const char* pattern;  // httplib regex
  const char* summary;
  std::vector<Param> params;
  const char* body = nullptr;  // request body media type, if any
  const char* produces = "application/json";
};

const std::vector<RouteSpec>& RouteSpecs() {
  static const std::vector<Param> kSiteCamera = {
      {"site", "query", true, "string", "Site name: 1-64 of [A-Za-z0-9._-]"},
      {"camera", "query", false, "string", "Camera name (default \"default\")"},
      {"ts", "query", false, "string",
       "When the image was taken: ISO 8601 UTC or epoch milliseconds"}};
  static const std::vector<RouteSpec> kRoutes = {
      {"predict", "post", "/v1/predict", "/v1/predict",
       "Classify one image (raw PNG or JPEG bytes as the body): label, calibrated confidence, "
       "decision "
       "(auto or review) with reasons, quality, and the capture id when it was kept",
       kSiteCamera, "application/octet-stream"},
      {"predict_batch", "post", "/v1/predict/batch", "/v1/predict/batch",
       "Classify several images sent as multipart/form-data parts; one result or error per part, "
       "each naming "
       "its part (file name, else field name), ordered by field name",
       kSiteCamera, "multipart/form-data"},
      {"captures_list",
       "get",
       "/v1/captures",
       "/v1/captures",
       "Captures in increasing id order, filtered; page with after=<last id>",
       {{"site", "query", false, "string", "Only this site"},
        {"camera", "query", false, "string", "Only this camera"},
        {"decision", "query", false, "string", "auto or review"},
        {"since", "query", false, "string", "Taken at or after (ISO 8601 or epoch ms)"},
        {"until", "query", false, "string", "Taken before (ISO 8601 or epoch ms)"},
        {"after", "query", false, "integer", "Ids greater than this"},
        {"limit", "query", false, "integer", "At most this many (1-1000, default 100)"}}},
      {"capture_get",
       "get",
       "/v1/captures/{id}",
       R"(/v1/captures/(\d+))",
       "One capture's metadata",
       {{"id", "path", true, "integer", "Capture id"}}},
      {"capture_image",
       "get",
       "/v1/captures/{id}/image",
       R"(/v1/captures/(\d+)/image)",
       "One capture's image, as received",
       {{"id", "path", true, "integer", "Capture id"}},
       nullptr,
       "image/*"},
      {"baseline_put",
       "put",
       "/v1/sites/{site}/baseline",
       R"(/v1/sites/([^/]+)/baseline)",
       "Set a site's quality baseline (the JSON written by steadyeye quality baseline)",
       {{"site", "path", true, "string", "Site name"}},
       "application/json"},
      {"baseline_get",
       "get",
       "/v1/sites/{site}/baseline",
       R"(/v1/sites/([^/]+)/baseline)",
       "A site's own quality baseline",
       {{"site", "path", true, "string", "Site name"}}},
      {"healthz", "get", "/healthz", "/healthz", "Liveness: the process answers", {}},
      {"readyz",
       "get",
       "/readyz",
       "/readyz",
       "Readiness: 200 while predictions are accepted, 503 otherwise",
       {}},
      {"metrics",
       "get",
       "/metrics",
       "/metrics",
       "Prometheus metrics (text format 0.0.4)",
       {},
       nullptr,
       "text/plain"},
      {"openapi", "get", "/openapi.json", "/openapi.json", "This document", {}},
  };
  return kRoutes;
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kOutOfRange:
      return 413;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kFailedPrecondition:
      return 409;
    default:
      return 500;
  }
}

void SendJson(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void SendError(httplib::Response& res, const Status& st) {
  const int status = HttpStatusFor(st.code());
  if (status == 429) res.set_header("Retry-After", "1");
  SendJson(res, status,
           {{"error", {{"code", StatusCodeName(st.code())}, {"message", st.message()}}}});
}

std::optional<std::string> Query(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  return req.get_param_value(name);
}

StatusOr<int64_t> ParseInteger(const std::string& text, const char* what) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size()) return int64_t(v);
  } catch (const std::exception&) {
  }
  return InvalidArgumentError(std::string(what) + " must be an integer, got '" +
                              text.substr(0, 40) + "'");
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

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

nlohmann::json HttpServer::OpenApi() {
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& r : RouteSpecs()) {
    nlohmann::json params = nlohmann::json::array();
    for (const auto& p : r.params) {
      params.push_back({{"name", p.name},
                        {"in", p.in},
                        {"required", p.required},
                        {"description", p.description},
                        {"schema", {{"type", p.type}}}});
    }
    nlohmann::json op = {
        {"operationId", r.id},
        {"summary", r.summary},
        {"parameters", params},
        {"responses",
         {{"200", {{"description", "OK"}, {"content", {{r.produces, nlohmann::json::object()}}}}},
          {"default", {{"description", "Error: {\"error\": {\"code\", \"message\"}}"}}}}}};
    if (r.body != nullptr) {
      op["requestBody"] = {{"required", true}, {"content", {{r.body, nlohmann::json::object()}}}};
    }
    paths[r.path][r.method] = op;
  }
  return {
      {"openapi", "3.0.3"},
      {"info",
       {{"title", "steadyeye"},
        {"version", "1"},
        {"description", "Calibrated, risk-controlled image decisions with production capture"}}},
      {"paths", paths}};
}

HttpServer::HttpServer(Predictor& predictor, CaptureStore& store, ServerMetrics& metrics,
                       HttpOptions options)
    : predictor_(predictor),
      store_(store),
      metrics_(metrics),
      options_(std::move(options)),
      server_(std::make_unique<httplib::Server>()) {
  const int threads = std::max(1, options_.http_threads);
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  server_->set_payload_max_length(options_.max_body_bytes);
  server_->set_keep_alive_max_count(1000);
  server_->set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    // Responses are written as header then body; with Nagle's algorithm the body waits for the
    // client's delayed ACK (40 ms on Linux). Accepted sockets inherit this from the listener.
    int one = 1;
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    listen_socket_ = sock;
  });
  Routes();
}

HttpServer::~HttpServer() = default;

Status HttpServer::Bind() {
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
  } else {
    port_ = server_->bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }
  if (port_ <= 0) {
    return UnavailableError("cannot listen on " + options_.host + ":" +
                            std::to_string(options_.port) + " (address in use or not available)");
  }
  // Debian's cpp-httplib is built with a listen backlog of 5: a burst of more simultaneous
  // connections than that overflows the kernel's accept queue and stalls clients. Listening again
  // on the bound socket raises the backlog (Linux updates it in place).
  if (listen_socket_ >= 0) ::listen(listen_socket_, SOMAXCONN);
  ready_ = true;
  return Status::Ok();
}

void HttpServer::Run() { server_->listen_after_bind(); }

void HttpServer::Stop() {
  ready_ = false;
  server_->stop();
}

void HttpServer::Routes() {
  std::map<std::string, Handler> handlers;
  handlers["predict"] = [this](const httplib::Request& req, httplib::Response& res) {
    auto request = RequestMetadata(req);
    if (!request.ok()) return SendError(res, request.status());
    request->image = Bytes(req.body);
    auto result = predictor_.Predict(*request);
    if (!result.ok()) return SendError(res, result.status());
    SendJson(res, 200, result->ToJson());
  };
  handlers["predict_batch"] = [this](const httplib::Request& req, httplib::Response& res) {
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
    auto results = predictor_.PredictMany(requests);
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
  };
  handlers["captures_list"] = [this](const httplib::Request& req, httplib::Response& res) {
    CaptureQuery q;
    q.site = Query(req, "site");
    q.camera = Query(req, "camera");
    q.decision = Query(req, "decision");
    for (auto [name, field] : {std::pair{"since", &q.since_ms}, std::pair{"until", &q.until_ms}}) {
      if (auto text = Query(req, name)) {
        auto t = ParseTimestamp(*text);
        if (!t.ok()) return SendError(res, t.status());
        *field = *t;
      }
    }
    if (auto text = Query(req, "after")) {
      auto v = ParseInteger(*text, "after");
      if (!v.ok()) return SendError(res, v.status());
      q.after_id = *v;
    }
    if (auto text = Query(req, "limit")) {
      auto v = ParseInteger(*text, "limit");
      if (!v.ok()) return SendError(res, v.status());
      if (*v < 1 || *v > 1000)
        return SendError(res, InvalidArgumentError("limit must be in 1..1000"));
      q.limit = size_t(*v);
    }
    auto list = store_.List(q);
    if (!list.ok()) return SendError(res, list.status());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& c : *list) items.push_back(c.ToJson());
    nlohmann::json body = {{"captures", items}, {"next_after", nullptr}};
    if (list->size() == q.limit) body["next_after"] = list->back().id;
    SendJson(res, 200, body);
  };
  handlers["capture_get"] = [this](const httplib::Request& req, httplib::Response& res) {
    auto id = ParseInteger(req.matches[1], "capture id");
    if (!id.ok()) return SendError(res, id.status());
    auto c = store_.Get(*id);
    if (!c.ok()) return SendError(res, c.status());
    SendJson(res, 200, c->ToJson());
  };
  handlers["capture_image"] = [this](const httplib::Request& req, httplib::Response& res) {
    auto id = ParseInteger(req.matches[1], "capture id");
    if (!id.ok()) return SendError(res, id.status());
    auto bytes = store_.GetImage(*id);
    if (!bytes.ok()) return SendError(res, bytes.status());
    res.set_content(std::string(bytes->begin(), bytes->end()),
                    std::string("image/") + ImageFormatName(*bytes));
  };
  handlers["baseline_put"] = [this](const httplib::Request& req, httplib::Response& res) {
    const std::string site = req.matches[1];
    const auto json = nlohmann::json::parse(req.body, nullptr, false);
    if (json.is_discarded())
      return SendError(res, InvalidArgumentError("the body is not valid JSON"));
    auto baseline = QualityBaseline::FromJson(json);
    if (!baseline.ok()) return SendError(res, baseline.status());
    if (Status st = ValidateSiteName(site, "site"); !st.ok()) return SendError(res, st);
    if (!options_.baselines_dir.empty()) {
      // Persisted first, so that a baseline the client was told is set survives a restart.
      Status st = SaveBaseline(*baseline, options_.baselines_dir / (site + ".json"));
      if (!st.ok()) return SendError(res, st);
    }
    const size_t n = baseline->n;
    if (Status st = predictor_.SetSiteBaseline(site, std::move(*baseline)); !st.ok())
      return SendError(res, st);
    SendJson(
        res, 200,
        {{"site", site}, {"reference_images", n}, {"persisted", !options_.baselines_dir.empty()}});
  };
  handlers["baseline_get"] = [this](const httplib::Request& req, httplib::Response& res) {
    auto b = predictor_.SiteBaseline(req.matches[1]);
    if (!b.ok()) return SendError(res, b.status());
    SendJson(res, 200, b->ToJson());
  };
  handlers["healthz"] = [](const httplib::Request&, httplib::Response& res) {
    SendJson(res, 200, {{"status", "ok"}});
  };
  handlers["readyz"] = [this](const httplib::Request&, httplib::Response& res) {
    SendJson(res, ready_ ? 200 : 503,
             {{"ready", ready_.load()},
              {"model_version", predictor_.model().card().id},
              {"queue_depth", predictor_.queue_depth()}});
  };
  handlers["metrics"] = [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        metrics_.Render(predictor_.queue_depth(), predictor_.captures_pending(), ready_),
        "text/plain; version=0.0.4");
  };
  handlers["openapi"] = [](const httplib::Request&, httplib::Response& res) {
    SendJson(res, 200, OpenApi());
  };

  for (const auto& spec : RouteSpecs()) {
    auto it = handlers.find(spec.id);
    if (it == handlers.end())
      std::abort();  // a route declared without a handler: a bug caught at start
    const std::string route = spec.path;
    Handler wrapped = [this, route, handler = it->second](const httplib::Request& req,
                                                          httplib::Response& res) {
      if (!ready_ && route != "/healthz" && route != "/readyz" && route != "/metrics") {
        SendError(res, UnavailableError("the server is shutting down"));
      } else {
        handler(req, res);
      }
      metrics_.CountHttp(route, res.status);
    };
    const std::string method = spec.method;
    if (method == "get") server_->Get(spec.pattern, wrapped);
    if (method == "post") server_->Post(spec.pattern, wrapped);
    if (method == "put") server_->Put(spec.pattern, wrapped);
  }
  // httplib answers unknown routes and oversized bodies itself; give those a JSON body too.
  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string message = res.status == 413
                                    ? "the request body is larger than the server accepts"
                                : res.status == 404 ? "no route " + req.method + " " + req.path
                                                    : "HTTP error " + std::to_string(res.status);
    res.set_content(nlohmann::json{{"error",
                                    {{"code", res.status == 404 ? "NOT_FOUND" : "INVALID_ARGUMENT"},
                                     {"message", message}}}}
                        .dump(),
                    "application/json");
  });
}

}  // namespace steadyeye
