// Access tokens: who may call what. A token is shown once, when it is created; the store keeps
// only a salted SHA-256 of its secret. Tokens are 256-bit random secrets, so a fast hash is
// enough: a slow password hash protects low-entropy secrets, and these are not guessable.
//
// Token text: "seye_<id>_<64 hex digits>". The id finds the row; the secret is checked in
// constant time against the stored hash.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"

namespace steadyeye {

// client: predict. reviewer: the review queue and its page. operator: captures, sites,
// dashboards, statistics, metrics. admin: everything, tokens included.
enum class Role { kClient, kReviewer, kOperator, kAdmin };
const char* RoleName(Role role);
// InvalidArgument naming the roles for anything else.
StatusOr<Role> ParseRole(const std::string& name);

struct TokenInfo {
  int64_t id = 0;
  std::string name;
  Role role = Role::kClient;
  int64_t created_ms = 0;
  bool revoked = false;
};

struct NewToken {
  TokenInfo info;
  std::string token;  // the secret text, shown once
};

class TokenStore {
 public:
  virtual ~TokenStore() = default;

  // AlreadyExists for a name in use (revoked tokens keep theirs); names follow the site-name
  // rule (1-64 of [A-Za-z0-9._-]).
  virtual StatusOr<NewToken> CreateToken(const std::string& name, Role role, int64_t now_ms) = 0;
  // The token's holder; Unauthenticated for an unknown, malformed or revoked token (one message
  // for all three, so that a caller learns nothing about which).
  virtual StatusOr<TokenInfo> Authenticate(const std::string& token) const = 0;
  virtual StatusOr<std::vector<TokenInfo>> ListTokens() const = 0;
  // NotFound for an unknown id.
  virtual Status RevokeToken(int64_t id) = 0;
  // Tokens that are not revoked. Zero means the store is still open to loopback clients.
  virtual StatusOr<int64_t> ActiveTokenCount() const = 0;
};

}  // namespace steadyeye
