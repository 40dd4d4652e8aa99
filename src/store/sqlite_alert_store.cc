// The embedded store's drift alerts. See store/alert_store.h.
#include "sqlite_store.h"
#include "steadyeye/core/time.h"

namespace steadyeye::internal {

namespace {

StatusOr<std::string> RequiredText(const nlohmann::json& alert, const char* field) {
  auto it = alert.find(field);
  if (it == alert.end() || !it->is_string())
    return InvalidArgumentError(std::string("an alert needs a text field '") + field + "'");
  return it->get<std::string>();
}

}  // namespace

Status SqliteStore::SaveAlert(const nlohmann::json& alert) {
  if (!alert.is_object() || !alert.contains("id") || !alert["id"].is_number_integer())
    return InvalidArgumentError("an alert needs an integer 'id'");
  SEYE_ASSIGN_OR_RETURN(const std::string site, RequiredText(alert, "site"));
  SEYE_ASSIGN_OR_RETURN(const std::string camera, RequiredText(alert, "camera"));
  SEYE_ASSIGN_OR_RETURN(const std::string state, RequiredText(alert, "state"));
  SEYE_ASSIGN_OR_RETURN(const std::string onset, RequiredText(alert, "onset"));
  SEYE_ASSIGN_OR_RETURN(const int64_t onset_ms, ParseTimestamp(onset));
  std::lock_guard lock(write_mu_);
  SEYE_ASSIGN_OR_RETURN(Statement s, writer_->Prepare("INSERT OR REPLACE INTO alerts (id, site, "
                                                      "camera, state, onset_ms, body) VALUES "
                                                      "(?,?,?,?,?,?)"));
  return s.Bind(1, alert["id"].get<int64_t>())
      .Bind(2, site)
      .Bind(3, camera)
      .Bind(4, state)
      .Bind(5, onset_ms)
      .Bind(6, alert.dump())
      .Run();
}

StatusOr<std::vector<nlohmann::json>> SqliteStore::ListAlerts(const AlertQuery& query) const {
  std::string sql = "SELECT body FROM alerts WHERE 1";
  if (query.site) sql += " AND site = ?1";
  if (query.state) sql += " AND state = ?2";
  sql += " ORDER BY id DESC LIMIT ?3";
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(Statement s, reader_->Prepare(sql));
  if (query.site) s.Bind(1, *query.site);
  if (query.state) s.Bind(2, *query.state);
  s.Bind(3, int64_t(query.limit));
  std::vector<nlohmann::json> out;
  while (true) {
    SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) break;
    auto body = nlohmann::json::parse(s.Text(0), nullptr, false);
    if (body.is_discarded()) return DataLossError("a stored alert is not valid JSON");
    out.push_back(std::move(body));
  }
  return out;
}

StatusOr<int64_t> SqliteStore::MaxAlertId() const {
  std::lock_guard lock(read_mu_);
  SEYE_ASSIGN_OR_RETURN(Statement s, reader_->Prepare("SELECT COALESCE(MAX(id), 0) FROM alerts"));
  SEYE_ASSIGN_OR_RETURN(const bool row, s.Step());
  return row ? s.Int(0) : 0;
}

}  // namespace steadyeye::internal
