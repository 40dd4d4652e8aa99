// What the route files of the HTTP server share (private to src/server): the route type, who may
// call a route, and the JSON response helpers. Each route is declared once, with its handler, its
// roles and its OpenAPI description, so the document, the access rules and the routes cannot
// drift apart.
#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "steadyeye/server/http_server.h"

namespace steadyeye::internal {

// Who may call a route: a set of roles (admin may call everything). kPublic needs no token.
enum Access : unsigned {
  kPublic = 0,
  kClientRole = 1u << 0,
  kReviewerRole = 1u << 1,
  kOperatorRole = 1u << 2,
  kAdminRole = 1u << 3,
  kAnyRole = 0xF,
};
unsigned AccessBit(Role role);

// The authenticated caller of a request.
struct Caller {
  std::string name;  // the token's name; "local" in open mode
  Role role = Role::kClient;
  bool via_cookie = false;  // a browser session: state changes need the CSRF header
  bool open_mode = false;   // no token: a loopback client of a store without tokens
};

using Handler =
    std::function<void(const httplib::Request&, httplib::Response&, const Caller& caller)>;

struct Param {
  const char* name;
  const char* in;  // "path" or "query"
  bool required;
  const char* type;  // "string" or "integer"
  const char* description;
};

struct Route {
  const char* id;
  const char* method;   // "get", "post", "put", "delete"
  const char* path;     // OpenAPI template, e.g. /v1/captures/{id}
  const char* pattern;  // httplib regex
  unsigned access;      // Access bits
  const char* summary;
  std::vector<Param> params;
  const char* body = nullptr;  // request body media type, if any
  const char* produces = "application/json";
  Handler handler;
  bool page = false;  // an HTML page: an unauthenticated browser is sent to /login
};

class Authorizer;

// What the route files work with; owned by HttpServer.
struct ServerContext {
  Predictor& predictor;
  Store& store;
  ServerMetrics& metrics;
  const HttpOptions& options;
  std::atomic<bool>& ready;
  Authorizer& access;
};

std::vector<Route> PredictRoutes(ServerContext& ctx);  // predict, captures, sites, health
std::vector<Route> ReviewRoutes(ServerContext& ctx);   // the review queue
std::vector<Route> AdminRoutes(ServerContext& ctx);    // tokens
std::vector<Route> MonitorRoutes(ServerContext& ctx);  // drift alerts and streams
std::vector<Route> WebRoutes(ServerContext& ctx);      // pages, static files, login

int HttpStatusFor(StatusCode code);
void SendJson(httplib::Response& res, int status, const nlohmann::json& body);
void SendError(httplib::Response& res, const Status& st);
std::optional<std::string> Query(const httplib::Request& req, const char* name);
StatusOr<int64_t> ParseInteger(const std::string& text, const char* what);
std::span<const uint8_t> Bytes(const std::string& s);
// The body as a JSON object; InvalidArgument naming the problem otherwise.
StatusOr<nlohmann::json> JsonBody(const httplib::Request& req);

}  // namespace steadyeye::internal
