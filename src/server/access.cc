#include "access.h"

#include "steadyeye/core/time.h"

namespace steadyeye::internal {

unsigned AccessBit(Role role) {
  switch (role) {
    case Role::kClient:
      return kClientRole;
    case Role::kReviewer:
      return kReviewerRole;
    case Role::kOperator:
      return kOperatorRole;
    case Role::kAdmin:
      return kAdminRole;
  }
  return 0;
}

std::optional<std::string> CookieValue(const httplib::Request& req, const std::string& name) {
  const std::string header = req.get_header_value("Cookie");
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string pair = header.substr(pos, end - pos);
    const size_t first = pair.find_first_not_of(' ');
    pair = first == std::string::npos ? "" : pair.substr(first);
    if (pair.compare(0, name.size() + 1, name + "=") == 0) return pair.substr(name.size() + 1);
    pos = end + 1;
  }
  return std::nullopt;
}

bool Authorizer::OpenMode() const {
  if (!loopback_) return false;
  const int64_t now = UnixMillisNow();
  if (now - checked_ms_ >= 1000) {
    const auto count = tokens_.ActiveTokenCount();
    open_ = count.ok() && *count == 0;  // a store that cannot tell is not open
    checked_ms_ = now;
  }
  return open_;
}

StatusOr<Caller> Authorizer::Resolve(const httplib::Request& req) const {
  std::optional<std::string> token;
  bool via_cookie = false;
  const std::string auth = req.get_header_value("Authorization");
  if (!auth.empty()) {
    if (auth.compare(0, 7, "Bearer ") != 0)
      return UnauthenticatedError("the Authorization header must be 'Bearer <token>'");
    token = auth.substr(7);
  } else if ((token = CookieValue(req, kSessionCookie)) && !token->empty()) {
    via_cookie = true;
  } else {
    token.reset();
  }
  if (!token) {
    if (OpenMode()) return Caller{"local", Role::kAdmin, false, true};
    return UnauthenticatedError(
        "this route needs a token: send 'Authorization: Bearer <token>' (create one with "
        "steadyeye token create)");
  }
  SEYE_ASSIGN_OR_RETURN(const TokenInfo info, tokens_.Authenticate(*token));
  return Caller{info.name, info.role, via_cookie, false};
}

Status Authorizer::Check(const Route& route, const Caller& caller, const httplib::Request& req) {
  if (route.access != kPublic && caller.role != Role::kAdmin &&
      (route.access & AccessBit(caller.role)) == 0) {
    std::string roles;
    for (Role r : {Role::kClient, Role::kReviewer, Role::kOperator, Role::kAdmin}) {
      if ((route.access & AccessBit(r)) != 0 || r == Role::kAdmin)
        roles += std::string(roles.empty() ? "" : ", ") + RoleName(r);
    }
    return PermissionDeniedError(std::string(route.method) + " " + route.path + " needs the role " +
                                 roles + "; this token is '" + RoleName(caller.role) + "'");
  }
  const bool changes = req.method != "GET" && req.method != "HEAD";
  if (caller.via_cookie && changes) {
    const std::string origin = req.get_header_value("Origin");
    if (req.get_header_value(kCsrfHeader) != "1" ||
        (!origin.empty() && origin != "http://" + req.get_header_value("Host"))) {
      return PermissionDeniedError("cross-site request refused: a page of this server sends the " +
                                   std::string(kCsrfHeader) + " header");
    }
  }
  return Status::Ok();
}

}  // namespace steadyeye::internal
