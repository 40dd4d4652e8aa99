// The HTTP API over a Predictor and a CaptureStore (cpp-httplib). Every route is declared once
// in a route table, which also generates the OpenAPI document at /openapi.json, so the document
// cannot drift from the routes.
//
// Errors are JSON {"error": {"code", "message"}} with the HTTP status of their cause: 400 bad
// input, 404 unknown id, 413 too large, 429 (with Retry-After) when the inference queue is full,
// 503 while shutting down, 500 for store failures.
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
#include "steadyeye/store/capture_store.h"

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
};

class HttpServer {
 public:
  // All three must outlive the server.
  HttpServer(Predictor& predictor, CaptureStore& store, ServerMetrics& metrics,
             HttpOptions options);
  ~HttpServer();

  // Binds the socket. Unavailable when the address is taken.
  Status Bind();
  int port() const { return port_; }
  // Serves until Stop(); returns after in-flight requests have finished.
  void Run();
  void Stop();

  // The OpenAPI 3.0 document of every route.
  static nlohmann::json OpenApi();

 private:
  void Routes();

  Predictor& predictor_;
  CaptureStore& store_;
  ServerMetrics& metrics_;
  const HttpOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::atomic<bool> ready_{false};
  int port_ = 0;
  int listen_socket_ = -1;
};

}  // namespace steadyeye
