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

// A file of web/pages/ (the pattern only lets plain file names through, so nothing outside it).
void SendPageFile(ServerContext& ctx, const std::string& name, httplib::Response& res) {
  const auto path = ctx.options.web_dir / "pages" / name;
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
  Route review = {
      "review_page",
      "get",
      "/review",
      "/review",
      kReviewerRole,
      "The reviewer's page (HTML; log in at /login)",
      {},
      nullptr,
      "text/html",
      [c](const auto&, auto& res, const Caller&) { SendPageFile(*c, "review.html", res); }};
  review.page = true;
  return {
      review,
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
  };
}

}  // namespace steadyeye::internal
