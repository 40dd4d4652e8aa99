// The HTTP API over a Predictor and a Store (cpp-httplib): predictions, captures, the review
// queue, tokens, and the reviewer's web pages. Every route is declared once in a route table
// with the roles that may call it, which also generates the OpenAPI document at /openapi.json,
// so the document, the access rules and the routes cannot drift apart.
//
// Access: clients send "Authorization: Bearer <token>"; browsers log in at /login and carry the
// token in an HttpOnly, SameSite=Strict cookie, and their state-changing requests must carry the
// X-Steadyeye-CSRF header. Each route allows some of the roles client, reviewer, operator (admin
// may call everything). A store without tokens serves loopback clients without one (open mode,
// announced at start); once a token exists, or when listening on another address, every route
// but /healthz and the login page needs one: 401 without a valid token, 403 for the wrong role.
//
// Errors are JSON {"error": {"code", "message"}} with the HTTP status of their cause: 400 bad
// input, 401/403 access, 404 unknown id, 409 conflict (e.g. a task leased to someone else), 413
// too large, 429 (with Retry-After) when the inference queue is full, 503 while shutting down,
// 500 for store failures.
//
// Thread-safety: Start/Run/Stop from the owning thread, except Stop(), which may be called from
// any thread (e.g. a signal watcher). Stop() lets in-flight requests finish.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "steadyeye/core/status.h"
#include "steadyeye/server/metrics.h"
#include "steadyeye/server/predictor.h"
#include "steadyeye/store/store.h"

namespace httplib {
class Server;
}

namespace steadyeye {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see port())
  int http_threads = 32;
  size_t max_body_bytes = 32u << 20;
  // Where PUT /v1/sites/{site}/baseline persists baselines (<dir>/<site>.json); empty: memory only.
  std::filesystem::path baselines_dir;
  // The web/ folder: pages and their scripts (served under /web/ and as /review, /login).
  std::filesystem::path web_dir;
  // How long a review task stays with the reviewer who was given it.
  int64_t review_lease_ms = 10 * 60 * 1000;
};

class HttpServer {
 public:
  // All three must outlive the server.
  HttpServer(Predictor& predictor, Store& store, ServerMetrics& metrics, HttpOptions options);
  ~HttpServer();

  // Binds the socket. Unavailable when the address is taken.
  Status Bind();
  // True while the store has no tokens and the server listens on loopback: anyone on this
  // machine may call every route.
  bool open_mode() const;
  int port() const { return port_; }
  // Serves until Stop(); returns after in-flight requests have finished.
  void Run();
  void Stop();

  // The OpenAPI 3.0 document of every route.
  nlohmann::json OpenApi() const;

 private:
  struct Impl;
  void Routes();

  const HttpOptions options_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  int listen_socket_ = -1;
};

}  // namespace steadyeye
