// Drift alerts as the store keeps them: every state an alert went through ends as one row per
// alert (the latest), so that GET /v1/alerts and the dashboard outlive a restart. The alert
// itself is the monitor's JSON (monitor/drift.h); the store indexes what queries need.
//
// Thread-safety: as the store (all methods may be called from any thread).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"

namespace steadyeye {

struct AlertQuery {
  std::optional<std::string> site;
  std::optional<std::string> state;  // "open" or "resolved"
  size_t limit = 500;                // newest first
};

class AlertStore {
 public:
  virtual ~AlertStore() = default;

  // Inserts the alert or replaces the row of its id. `alert` needs "id", "site", "camera",
  // "state" and "onset" (InvalidArgument otherwise). Durable when it returns.
  virtual Status SaveAlert(const nlohmann::json& alert) = 0;
  virtual StatusOr<std::vector<nlohmann::json>> ListAlerts(const AlertQuery& query) const = 0;
  // The largest id stored (0 for none): new alerts continue from there.
  virtual StatusOr<int64_t> MaxAlertId() const = 0;
};

}  // namespace steadyeye
