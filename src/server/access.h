// Access control for the HTTP server (private to src/server): who is calling, and may they call
// this route. See HttpServer's header for the rules.
//
// Thread-safety: Resolve and Check may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>

#include "http_common.h"

namespace steadyeye::internal {

inline constexpr const char* kSessionCookie = "seye_token";
// Browsers cannot add this header to a cross-site request without a CORS preflight, which this
// server never grants; with SameSite=Strict cookies it keeps other sites from acting for a
// logged-in reviewer.
inline constexpr const char* kCsrfHeader = "X-Steadyeye-CSRF";

class Authorizer {
 public:
  // `loopback` is whether the server listens on a loopback address only: only then may a store
  // without tokens serve clients without one.
  Authorizer(const TokenStore& tokens, bool loopback) : tokens_(tokens), loopback_(loopback) {}

  // The caller, from "Authorization: Bearer <token>" or the session cookie. Unauthenticated when
  // a token is presented and is not valid, or when none is presented and the store is not open.
  StatusOr<Caller> Resolve(const httplib::Request& req) const;

  // OK when `caller` may call `route` with this request; PermissionDenied naming the roles
  // otherwise, and for a cookie session's state change without the CSRF header or from another
  // origin.
  static Status Check(const Route& route, const Caller& caller, const httplib::Request& req);

  // No token exists and the server listens on loopback only. Cached for a second: token
  // creation through the CLI is picked up within that time, through the API at once.
  bool OpenMode() const;
  void TokensChanged() { checked_ms_ = 0; }

 private:
  const TokenStore& tokens_;
  const bool loopback_;
  mutable std::atomic<int64_t> checked_ms_{0};
  mutable std::atomic<bool> open_{false};
};

// The value of cookie `name` in the request's Cookie header, if any.
std::optional<std::string> CookieValue(const httplib::Request& req, const std::string& name);

}  // namespace steadyeye::internal
