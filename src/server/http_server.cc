#include "steadyeye/server/http_server.h"

#include <httplib.h>
#include <netinet/tcp.h>

#include "access.h"
#include "http_common.h"

namespace steadyeye {

using internal::Caller;
using internal::Route;

namespace {

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

nlohmann::json RolesJson(unsigned access) {
  nlohmann::json roles = nlohmann::json::array();
  if (access == internal::kPublic) return roles;
  for (Role r : {Role::kClient, Role::kReviewer, Role::kOperator, Role::kAdmin}) {
    if ((access & internal::AccessBit(r)) != 0 || r == Role::kAdmin) roles.push_back(RoleName(r));
  }
  return roles;
}

// Health, readiness, metrics and public pages answer while the server shuts down.
bool AnswersWhileStopping(const Route& route) {
  const std::string_view path = route.path;
  return path == "/healthz" || path == "/readyz" || path == "/metrics" ||
         route.access == internal::kPublic;
}

}  // namespace

struct HttpServer::Impl {
  Impl(Predictor& predictor, Store& store, ServerMetrics& metrics, const HttpOptions& options,
       std::atomic<bool>& ready)
      : access(store, IsLoopback(options.host)), ctx{predictor, store, metrics,
                                                     options,   ready, access} {
    for (auto* part : {internal::PredictRoutes, internal::ReviewRoutes, internal::AdminRoutes,
                       internal::MonitorRoutes, internal::WebRoutes}) {
      for (auto& r : part(ctx)) routes.push_back(std::move(r));
    }
    routes.push_back({"openapi",
                      "get",
                      "/openapi.json",
                      "/openapi.json",
                      internal::kAnyRole,
                      "This document",
                      {},
                      nullptr,
                      "application/json",
                      [this](const auto&, auto& res, const Caller&) {
                        internal::SendJson(res, 200, OpenApi());
                      }});
  }

  nlohmann::json OpenApi() const {
    nlohmann::json paths = nlohmann::json::object();
    for (const auto& r : routes) {
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
          {"x-roles", RolesJson(r.access)},
          {"security", r.access == internal::kPublic
                           ? nlohmann::json::array()
                           : nlohmann::json::array({{{"bearer", nlohmann::json::array()}},
                                                    {{"session", nlohmann::json::array()}}})},
          {"responses",
           {{"200", {{"description", "OK"}, {"content", {{r.produces, nlohmann::json::object()}}}}},
            {"default", {{"description", "Error: {\"error\": {\"code\", \"message\"}}"}}}}}};
      if (r.body != nullptr) {
        op["requestBody"] = {{"required", true}, {"content", {{r.body, nlohmann::json::object()}}}};
      }
      paths[r.path][r.method] = op;
    }
    return {{"openapi", "3.0.3"},
            {"info",
             {{"title", "steadyeye"},
              {"version", "1"},
              {"description",
               "Calibrated, risk-controlled image decisions with production capture and human "
               "review. x-roles lists who may call each operation (admin may call all)."}}},
            {"components",
             {{"securitySchemes",
               {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}},
                {"session",
                 {{"type", "apiKey"}, {"in", "cookie"}, {"name", internal::kSessionCookie}}}}}}},
            {"paths", paths}};
  }

  // Access, readiness and metrics around a route's handler.
  void Serve(const Route& route, const httplib::Request& req, httplib::Response& res) {
    const bool always = AnswersWhileStopping(route);
    Caller caller;
    if (route.access != internal::kPublic) {
      auto who = access.Resolve(req);
      if (!who.ok() && route.page) {
        res.set_redirect("/login?next=" + httplib::detail::encode_query_param(req.path), 303);
      } else if (!who.ok()) {
        internal::SendError(res, who.status());
      } else {
        caller = *who;
      }
      if (!who.ok()) return ctx.metrics.CountHttp(route.path, res.status);
    }
    if (Status st = internal::Authorizer::Check(route, caller, req); !st.ok()) {
      internal::SendError(res, st);
    } else if (!ctx.ready && !always) {
      internal::SendError(res, UnavailableError("the server is shutting down"));
    } else {
      route.handler(req, res, caller);
    }
    ctx.metrics.CountHttp(route.path, res.status);
  }

  internal::Authorizer access;
  internal::ServerContext ctx;
  std::vector<Route> routes;
};

nlohmann::json HttpServer::OpenApi() const { return impl_->OpenApi(); }

HttpServer::HttpServer(Predictor& predictor, Store& store, ServerMetrics& metrics,
                       HttpOptions options)
    : options_(std::move(options)),
      impl_(std::make_unique<Impl>(predictor, store, metrics, options_, ready_)),
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

bool HttpServer::open_mode() const { return impl_->access.OpenMode(); }

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
  for (const Route& route : impl_->routes) {
    auto serve = [this, &route](const httplib::Request& req, httplib::Response& res) {
      impl_->Serve(route, req, res);
    };
    const std::string method = route.method;
    if (method == "get") server_->Get(route.pattern, serve);
    if (method == "post") server_->Post(route.pattern, serve);
    if (method == "put") server_->Put(route.pattern, serve);
    if (method == "delete") server_->Delete(route.pattern, serve);
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
