// The embedded store's access tokens. See store/token_store.h.
#include <charconv>

#include "sqlite_store.h"
#include "steadyeye/core/hash.h"
#include "steadyeye/core/name.h"
#include "steadyeye/core/secret.h"

namespace steadyeye {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kClient:
      return "client";
    case Role::kReviewer:
      return "reviewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "client";
}

StatusOr<Role> ParseRole(const std::string& name) {
  for (Role r : {Role::kClient, Role::kReviewer, Role::kOperator, Role::kAdmin}) {
    if (name == RoleName(r)) return r;
  }
  return InvalidArgumentError("unknown role '" + name.substr(0, 40) +
                              "': choose client, reviewer, operator or admin");
}

namespace internal {

namespace {

constexpr const char* kTokenPrefix = "seye_";
constexpr size_t kSecretBytes = 32;

std::string SaltedHash(const std::string& salt, std::string_view secret) {
  Sha256 h;
  h.Update(salt);
  h.Update(secret);
  const Digest d = h.Finish();
  return ToHex(d);
}

Status NotAuthenticated() { return UnauthenticatedError("the token is not valid"); }

// "seye_<id>_<secret>" -> id and secret; nullopt for anything else.
std::optional<std::pair<int64_t, std::string_view>> SplitToken(std::string_view token) {
  if (token.substr(0, 5) != kTokenPrefix) return std::nullopt;
  token.remove_prefix(5);
  const size_t sep = token.find('_');
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + sep, id);
  if (ec != std::errc() || end != token.data() + sep) return std::nullopt;
  const std::string_view secret = token.substr(sep + 1);
  if (secret.size() != 2 * kSecretBytes) return std::nullopt;
  return std::pair{id, secret};
}

TokenInfo ReadTokenRow(const Statement& s) {
  TokenInfo t;
  t.id = s.Int(0);
  t.name = s.Text(1);
  t.role = Role(std::clamp<int64_t>(s.Int(2), 0, 3));
  t.created_ms = s.Int(3);
  t.revoked = s.Int(4) != 0;
  return t;
}

}  // namespace

StatusOr<NewToken> SqliteStore::CreateToken(const std::string& name, Role role, int64_t now_ms) {
  SEYE_RETURN_IF_ERROR(ValidateName(name, "token name"));
  SEYE_ASSIGN_OR_RETURN(const std::vector<uint8_t> secret_bytes, SecureRandomBytes(kSecretBytes));
  SEYE_ASSIGN_OR_RETURN(const std::vector<uint8_t> salt_bytes, SecureRandomBytes(16));
  const std::string secret = ToHex(secret_bytes), salt = ToHex(salt_bytes);
  std::lock_guard lock(write_mu_);
  NewToken out;
  SEYE_RETURN_IF_ERROR(InTransaction(*writer_, [&]() -> Status {
    SEYE_ASSIGN_OR_RETURN(Statement taken,
                          writer_->Prepare("SELECT COUNT(*) FROM tokens WHERE name = ?"));
    taken.Bind(1, name);
    SEYE_ASSIGN_OR_RETURN(const bool row, taken.Step());
    if (row && taken.Int(0) > 0)
      return AlreadyExistsError("a token named '" + name + "' exists already");
    SEYE_ASSIGN_OR_RETURN(
        Statement insert,
        writer_->Prepare(
            "INSERT INTO tokens (name, role, salt, hash, created_ms) VALUES (?,?,?,?,?)"));
    SEYE_RETURN_IF_ERROR(insert.Bind(1, name)
                             .Bind(2, int64_t(role))
                             .Bind(3, salt)
                             .Bind(4, SaltedHash(salt, secret))
                             .Bind(5, now_ms)
                             .Run());
    out.info = {sqlite3_last_insert_rowid(writer_->handle()), name, role, now_ms, false};
    out.token = kTokenPrefix + std::to_string(out.info.id) + "_" + secret;
    return Status::Ok();
  }));
  return out;
}

StatusOr<TokenInfo> SqliteStore::Authenticate(const std::string& token) const {
  const auto parts = SplitToken(token);
  if (!parts) return NotAuthenticated();
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(Statement s,
                        reader_->Prepare("SELECT id, name, role, created_ms, revoked, salt, hash "
                                         "FROM tokens WHERE id = ?"));
  s.Bind(1, parts->first);
  SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
  if (!row) return NotAuthenticated();
  const TokenInfo info = ReadTokenRow(s);
  const bool match = ConstantTimeEquals(SaltedHash(s.Text(5), parts->second), s.Text(6));
  if (!match || info.revoked) return NotAuthenticated();
  return info;
}

StatusOr<std::vector<TokenInfo>> SqliteStore::ListTokens() const {
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(
      Statement s,
      reader_->Prepare("SELECT id, name, role, created_ms, revoked FROM tokens ORDER BY id"));
  std::vector<TokenInfo> out;
  while (true) {
    SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) break;
    out.push_back(ReadTokenRow(s));
  }
  return out;
}

Status SqliteStore::RevokeToken(int64_t id) {
  std::lock_guard lock(write_mu_);
  SEYE_ASSIGN_OR_RETURN(Statement s,
                        writer_->Prepare("UPDATE tokens SET revoked = 1 WHERE id = ?"));
  SEYE_RETURN_IF_ERROR(s.Bind(1, id).Run());
  if (writer_->Changes() == 0) return NotFoundError("no token with id " + std::to_string(id));
  return Status::Ok();
}

StatusOr<int64_t> SqliteStore::ActiveTokenCount() const {
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(Statement s,
                        reader_->Prepare("SELECT COUNT(*) FROM tokens WHERE revoked = 0"));
  SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
  return row ? s.Int(0) : 0;
}

}  // namespace internal
}  // namespace steadyeye
