// Routes of the web pages: the reviewer page, the login form, and their static files from web/.
#include <map>

#include "access.h"
#include "http_common.h"
#include "steadyeye/core/file.h"

namespace steadyeye::internal {

namespace {

std::string ContentTypeOf(const std::filesystem::path& file) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"}};
  auto it = kTypes.find(file.extension().string());
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

// A file of web/ (callers pass plain file names of web/pages/ only, or the charting library's
// fixed path, so nothing outside it).
void SendWebFile(ServerContext& ctx, const std::filesystem::path& relative,
                 httplib::Response& res) {
  const auto path = ctx.options.web_dir / relative;
  const std::string name = relative.filename().string();
  auto bytes = ReadFileBytes(path);
  if (!bytes.ok()) {
    return SendError(res, bytes.status().code() == StatusCode::kNotFound
                              ? NotFoundError("no web file " + name)
                              : bytes.status());
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
  res.set_content(std::string(bytes->begin(), bytes->end()), ContentTypeOf(path));
}

void SendPageFile(ServerContext& ctx, const std::string& name, httplib::Response& res) {
  SendWebFile(ctx, std::filesystem::path("pages") / name, res);
}

// An HTML page for signed-in users: an unauthenticated browser is sent to the login form.
Route Page(ServerContext& ctx, const char* id, const char* path, unsigned access,
           const char* summary, const char* file) {
  ServerContext* c = &ctx;
  Route r = {id,
             "get",
             path,
             path,
             access,
             summary,
             {},
             nullptr,
             "text/html",
             [c, file](const auto&, auto& res, const Caller&) { SendPageFile(*c, file, res); }};
  r.page = true;
  return r;
}

// Only a path of this server: "/..." but not "//host" (an open redirect otherwise).
std::string SafeNext(const std::optional<std::string>& next) {
  if (!next || next->empty() || (*next)[0] != '/' || next->compare(0, 2, "//") == 0 ||
      next->find('\\') != std::string::npos) {
    return "/review";
  }
  return *next;
}

void Login(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string next = SafeNext(Query(req, "next"));
  const auto token = Query(req, "token");
  if (!token || !ctx.store.Authenticate(*token).ok()) {
    res.set_redirect("/login?error=1&next=" + httplib::detail::encode_query_param(next), 303);
    return;
  }
  res.set_header("Set-Cookie", std::string(kSessionCookie) + "=" + *token +
                                   "; Path=/; HttpOnly; SameSite=Strict");
  res.set_redirect(next, 303);
}

}  // namespace

std::vector<Route> WebRoutes(ServerContext& ctx) {
  ServerContext* c = &ctx;
  return {
      Page(ctx, "review_page", "/review", kReviewerRole,
           "The reviewer's page (HTML; log in at /login)", "review.html"),
      Page(ctx, "dashboard_page", "/dashboard", kOperatorRole,
           "The operator's dashboard: every site and camera's accuracy, review rate, drift and "
           "quality over time, with the alerts (HTML; log in at /login)",
           "dashboard.html"),
      {"login_page",
       "get",
       "/login",
       "/login",
       kPublic,
       "The login form (HTML)",
       {{"next", "query", false, "string", "Page to go to after logging in"}},
       nullptr,
       "text/html",
       [c](const auto&, auto& res, const Caller&) { SendPageFile(*c, "login.html", res); }},
      {"login",
       "post",
       "/login",
       "/login",
       kPublic,
       "Log in with a token (form fields token, next): sets the HttpOnly, SameSite=Strict "
       "session cookie and redirects to next",
       {},
       "application/x-www-form-urlencoded",
       "text/html",
       [c](const auto& req, auto& res, const Caller&) { Login(*c, req, res); }},
      {"logout",
       "post",
       "/logout",
       "/logout",
       kPublic,
       "Log out: clears the session cookie",
       {},
       nullptr,
       "text/html",
       [](const auto&, auto& res, const Caller&) {
         res.set_header("Set-Cookie", std::string(kSessionCookie) +
                                          "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
         res.set_redirect("/login", 303);
       }},
      {"web_file",
       "get",
       "/web/{file}",
       R"(/web/([A-Za-z0-9_-]+\.(?:js|css|svg|png)))",
       kPublic,
       "A script, style sheet or icon of the pages",
       {{"file", "path", true, "string", "File name"}},
       nullptr,
       "*/*",
       [c](const auto& req, auto& res, const Caller&) { SendPageFile(*c, req.matches[1], res); }},
      {"web_charts",
       "get",
       "/web/echarts.min.js",
       "/web/echarts.min.js",
       kPublic,
       "The charting library of the pages (Apache ECharts, installed from npm by the setup)",
       {},
       nullptr,
       "text/javascript",
       [c](const auto&, auto& res, const Caller&) {
         SendWebFile(*c, "node_modules/echarts/dist/echarts.min.js", res);
       }},
  };
}

}  // namespace steadyeye::internal
