// Routes of token administration.
#include "access.h"
#include "http_common.h"
#include "steadyeye/core/time.h"

namespace steadyeye::internal {

namespace {

nlohmann::json TokenJson(const TokenInfo& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"role", RoleName(t.role)},
          {"created", FormatUnixMillis(t.created_ms)},
          {"revoked", t.revoked}};
}

void CreateToken(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto json = JsonBody(req);
  if (!json.ok()) return SendError(res, json.status());
  if (!json->contains("name") || !(*json)["name"].is_string() || !json->contains("role") ||
      !(*json)["role"].is_string()) {
    return SendError(res,
                     InvalidArgumentError(
                         "send {\"name\": \"...\", \"role\": \"client|reviewer|operator|admin\"}"));
  }
  auto role = ParseRole((*json)["role"]);
  if (!role.ok()) return SendError(res, role.status());
  auto made = ctx.store.CreateToken((*json)["name"], *role, UnixMillisNow());
  if (!made.ok()) return SendError(res, made.status());
  ctx.access.TokensChanged();
  nlohmann::json body = TokenJson(made->info);
  body["token"] = made->token;  // the only time it is shown
  SendJson(res, 201, body);
}

}  // namespace

std::vector<Route> AdminRoutes(ServerContext& ctx) {
  ServerContext* c = &ctx;
  return {
      {"tokens_list",
       "get",
       "/v1/tokens",
       "/v1/tokens",
       kAdminRole,
       "Every token's id, name, role and state (never the secret)",
       {},
       nullptr,
       "application/json",
       [c](const auto&, auto& res, const Caller&) {
         auto tokens = c->store.ListTokens();
         if (!tokens.ok()) return SendError(res, tokens.status());
         nlohmann::json list = nlohmann::json::array();
         for (const auto& t : *tokens) list.push_back(TokenJson(t));
         SendJson(res, 200, {{"tokens", list}});
       }},
      {"tokens_create",
       "post",
       "/v1/tokens",
       "/v1/tokens",
       kAdminRole,
       "Create a token: {\"name\", \"role\"}; the answer holds the token, shown this once",
       {},
       "application/json",
       "application/json",
       [c](const auto& req, auto& res, const Caller&) { CreateToken(*c, req, res); }},
      {"tokens_revoke",
       "delete",
       "/v1/tokens/{id}",
       R"(/v1/tokens/(\d+))",
       kAdminRole,
       "Revoke a token: it stops working at once",
       {{"id", "path", true, "integer", "Token id"}},
       nullptr,
       "application/json",
       [c](const auto& req, auto& res, const Caller&) {
         auto id = ParseInteger(req.matches[1], "token id");
         if (!id.ok()) return SendError(res, id.status());
         if (Status st = c->store.RevokeToken(*id); !st.ok()) return SendError(res, st);
         c->access.TokensChanged();
         SendJson(res, 200, {{"id", *id}, {"revoked", true}});
       }},
  };
}

}  // namespace steadyeye::internal
