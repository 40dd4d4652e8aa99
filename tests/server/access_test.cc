// Access control through the real server: tokens made with the CLI, every route walked with
// every role and with none, browser sessions and their protection against cross-site requests.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>

#include "server/server_fixture.h"

namespace steadyeye {
namespace {

using nlohmann::json;
using testing::Binary;
using testing::RunCommand;

class Access : public Server {};

// Who may call each operation: what we intend, written independently of the server's own table.
const std::map<std::string, std::set<std::string>>& Intended() {
  static const std::map<std::string, std::set<std::string>> kRoles = {
      {"predict", {"client"}},
      {"predict_batch", {"client"}},
      {"captures_list", {"operator"}},
      {"capture_get", {"operator"}},
      {"capture_image", {"operator"}},
      {"baseline_put", {"operator"}},
      {"baseline_get", {"operator"}},
      {"site_weight_put", {"operator"}},
      {"metrics", {"operator"}},
      {"readyz", {"client", "reviewer", "operator"}},
      {"openapi", {"client", "reviewer", "operator"}},
      {"review_next", {"reviewer"}},
      {"review_answer", {"reviewer"}},
      {"review_undo", {"reviewer"}},
      {"review_image", {"reviewer"}},
      {"review_stats", {"reviewer", "operator"}},
      {"review_page", {"reviewer"}},
      {"stats_accuracy", {"operator"}},
      {"alerts_list", {"operator"}},
      {"drift_state", {"operator"}},
      {"drift_history", {"operator"}},
      {"dashboard_page", {"operator"}},
      {"tokens_list", {}},
      {"tokens_create", {}},
      {"tokens_revoke", {}},
      // Public: no token needed.
      {"healthz", {"*"}},
      {"login_page", {"*"}},
      {"login", {"*"}},
      {"logout", {"*"}},
      {"web_file", {"*"}},
      {"web_charts", {"*"}},
  };
  return kRoles;
}

TEST_F(Access, EveryRouteAnswersOnlyTheRolesItIsFor) {
  const std::string store = "store-access";
  std::map<std::string, std::string> tokens;
  for (const std::string role : {"client", "reviewer", "operator", "admin"})
    tokens[role] = CreateToken(store, role, role + "-1");
  auto server = Start(store, "--audit-rate 1");
  ASSERT_TRUE(server->started());
  EXPECT_EQ(server->Log().find("WARNING"), std::string::npos);  // not open: tokens exist
  auto c = server->Client();

  // One capture (and so one task) to point the id routes at.
  auto predicted = c.Post("/v1/predict?site=plant-a", Bearer(tokens["client"]),
                          ReadText(images_[1]), "image/png");
  ASSERT_EQ(predicted->status, 200) << predicted->body;
  const std::string id = std::to_string(json::parse(predicted->body)["capture_id"].get<int64_t>());
  auto doc = c.Get("/openapi.json", Bearer(tokens["reviewer"]));
  ASSERT_EQ(doc->status, 200);
  const auto paths = json::parse(doc->body)["paths"];

  std::set<std::string> seen;
  for (const auto& [path, methods] : paths.items()) {
    for (const auto& [method, op] : methods.items()) {
      const std::string operation = op["operationId"];
      seen.insert(operation);
      ASSERT_TRUE(Intended().count(operation)) << "no intended roles for " << operation;
      const auto& allowed = Intended().at(operation);
      std::string concrete = path;
      for (const auto& [name, value] : {std::pair<std::string, std::string>{"{id}", id},
                                        {"{site}", "plant-a"},
                                        {"{task}", "1"},
                                        {"{file}", "review.js"}}) {
        if (auto at = concrete.find(name); at != std::string::npos)
          concrete.replace(at, name.size(), value);
      }
      // The token-creating route gets a body it refuses, so the walk creates no tokens.
      for (const std::string who : {"", "client", "reviewer", "operator", "admin"}) {
        httplib::Headers headers;
        if (!who.empty()) headers = Bearer(tokens[who]);
        auto call = [&] {
          if (method == "post") return c.Post(concrete.c_str(), headers, "{}", "application/json");
          if (method == "put") return c.Put(concrete.c_str(), headers, "{}", "application/json");
          if (method == "delete") return c.Delete((concrete + "0").c_str(), headers);
          return c.Get(concrete.c_str(), headers);
        };
        const auto r = call();
        ASSERT_TRUE(r) << method << " " << concrete;
        const std::string what = method + " " + concrete + " as '" + who +
                                 "': " + std::to_string(r->status) + " " + r->body;
        const bool public_route = allowed.count("*") > 0;
        if (public_route) {
          EXPECT_NE(r->status, 401) << what;
          EXPECT_NE(r->status, 403) << what;
        } else if (who.empty()) {
          // Pages send a browser to the login form; the API says 401.
          const bool page = operation == "review_page" || operation == "dashboard_page";
          EXPECT_EQ(r->status, page ? 303 : 401) << what;
        } else if (who == "admin" || allowed.count(who)) {
          EXPECT_NE(r->status, 401) << what;
          EXPECT_NE(r->status, 403) << what;
        } else {
          EXPECT_EQ(r->status, 403) << what;
          EXPECT_NE(r->body.find(who), std::string::npos) << what;  // names the caller's role
        }
      }
    }
  }
  EXPECT_EQ(seen.size(), Intended().size());

  // A wrong, revoked or malformed token is 401 everywhere; /healthz needs none.
  EXPECT_EQ(c.Get("/readyz", Bearer(tokens["client"] + "0"))->status, 401);
  EXPECT_EQ(c.Get("/readyz", {{"Authorization", "Basic abc"}})->status, 401);
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  auto list = c.Get("/v1/tokens", Bearer(tokens["admin"]));
  ASSERT_EQ(list->status, 200);
  EXPECT_EQ(list->body.find(tokens["client"].substr(tokens["client"].rfind('_') + 1)),
            std::string::npos);  // never the secret
  int64_t client_id = 0;
  const json listed = json::parse(list->body);
  for (const auto& t : listed["tokens"])
    if (t["name"] == "client-1") client_id = t["id"];
  auto revoked =
      c.Delete(("/v1/tokens/" + std::to_string(client_id)).c_str(), Bearer(tokens["admin"]));
  ASSERT_EQ(revoked->status, 200) << revoked->body;
  EXPECT_EQ(c.Get("/readyz", Bearer(tokens["client"]))->status, 401);

  // Tokens made through the API work at once, and are shown once.
  auto made = c.Post("/v1/tokens", Bearer(tokens["admin"]),
                     R"({"name": "line-7", "role": "client"})", "application/json");
  ASSERT_EQ(made->status, 201) << made->body;
  const std::string fresh = json::parse(made->body)["token"];
  EXPECT_EQ(c.Get("/readyz", Bearer(fresh))->status, 200);
  EXPECT_EQ(c.Post("/v1/tokens", Bearer(tokens["admin"]), R"({"name": "line-7", "role": "client"})",
                   "application/json")
                ->status,
            409);
}

TEST_F(Access, AStoreWithoutTokensIsOpenOnLoopbackOnlyUntilTheFirstToken) {
  auto open = Start("store-open");
  ASSERT_TRUE(open->started());
  EXPECT_NE(open->Log().find("WARNING: the store has no tokens"), std::string::npos) << open->Log();
  auto c = open->Client();
  EXPECT_EQ(c.Get("/v1/captures")->status, 200);
  // The first token closes it (the server re-reads the token count within a second).
  CreateToken("store-open", "admin", "first");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(c.Get("/v1/captures")->status, 401);

  // On another address, a store without tokens is closed from the start.
  auto wide = Start("store-wide", "--host 0.0.0.0");
  ASSERT_TRUE(wide->started());
  EXPECT_EQ(wide->Log().find("WARNING"), std::string::npos);
  EXPECT_NE(wide->Log().find("refuses until one exists"), std::string::npos);
  auto w = wide->Client();
  EXPECT_EQ(w.Get("/v1/captures")->status, 401);
  EXPECT_EQ(w.Get("/healthz")->status, 200);

  EXPECT_NE(
      RunCommand(Binary() + " token create --store " + Path("store-open") + " --role root --name x")
          .exit_code,
      0);
}

TEST_F(Access, BrowserSessionsUseAnHttpOnlyStrictCookieAndRefuseCrossSiteWrites) {
  const std::string store = "store-session";
  const std::string reviewer = CreateToken(store, "reviewer", "rita");
  const std::string client = CreateToken(store, "client", "cam");
  auto server = Start(store, "--audit-rate 1");
  ASSERT_TRUE(server->started());
  auto c = server->Client();
  ASSERT_EQ(c.Post("/v1/predict?site=s", Bearer(client), ReadText(images_[3]), "image/png")->status,
            200);

  // Not logged in: the page sends the browser to the login form.
  auto page = c.Get("/review");
  EXPECT_EQ(page->status, 303);
  EXPECT_EQ(page->get_header_value("Location"), "/login?next=/review");
  EXPECT_EQ(c.Get("/login")->status, 200);

  auto bad = c.Post("/login", "token=nope&next=/review", "application/x-www-form-urlencoded");
  EXPECT_EQ(bad->status, 303);
  EXPECT_EQ(bad->get_header_value("Set-Cookie"), "");
  // An open redirect is refused: next must be a path of this server.
  auto login = c.Post("/login", "token=" + reviewer + "&next=//evil.example/x",
                      "application/x-www-form-urlencoded");
  ASSERT_EQ(login->status, 303);
  EXPECT_EQ(login->get_header_value("Location"), "/review");
  const std::string cookie = login->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
  const std::string session = cookie.substr(0, cookie.find(';'));

  EXPECT_EQ(c.Get("/review", {{"Cookie", session}})->status, 200);
  auto next = c.Get("/v1/review/next", {{"Cookie", session}});
  ASSERT_EQ(next->status, 200) << next->body;
  const int64_t task = json::parse(next->body)["task"]["id"];
  const std::string answer = "/v1/review/" + std::to_string(task) + "/answer";
  const std::string body = R"({"answer": "skip"})";
  // Without the page's header, or from another origin: refused. With it: accepted.
  EXPECT_EQ(c.Post(answer.c_str(), {{"Cookie", session}}, body, "application/json")->status, 403);
  EXPECT_EQ(
      c.Post(answer.c_str(),
             {{"Cookie", session}, {"X-Steadyeye-CSRF", "1"}, {"Origin", "http://evil.example"}},
             body, "application/json")
          ->status,
      403);
  auto ok = c.Post(answer.c_str(), {{"Cookie", session}, {"X-Steadyeye-CSRF", "1"}}, body,
                   "application/json");
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(json::parse(ok->body)["reviewer"], "rita");

  auto out = c.Post("/logout", {{"Cookie", session}}, "", "text/plain");
  EXPECT_EQ(out->status, 303);
  EXPECT_NE(out->get_header_value("Set-Cookie").find("Max-Age=0"), std::string::npos);
}

}  // namespace
}  // namespace steadyeye
