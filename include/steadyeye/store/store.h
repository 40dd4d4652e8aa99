// Everything a deployment keeps, behind one object: the captures, the review queue over them,
// the access tokens, the drift alerts and the model registry. The server takes a Store; a
// PostgreSQL hub (fleet mode) can implement the same interfaces.
#pragma once

#include <filesystem>
#include <memory>

#include "steadyeye/review/review_queue.h"
#include "steadyeye/store/alert_store.h"
#include "steadyeye/store/capture_store.h"
#include "steadyeye/store/model_registry.h"
#include "steadyeye/store/token_store.h"

namespace steadyeye {

class Store : public CaptureStore,
              public ReviewQueue,
              public TokenStore,
              public AlertStore,
              public ModelRegistry {};

// Opens (creating if needed) the embedded store in `dir`: dir/captures.db, dir/images/ and
// dir/models/.
// A store of an earlier schema is upgraded in place. FailedPrecondition for a database of a
// newer schema; DataLoss for a damaged one.
StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::filesystem::path& dir,
                                                 const StoreOptions& options = {});

}  // namespace steadyeye
