// A minimal RAII layer over the SQLite C API: errors as Status, statements prepared once.
// Private to src/store. Not thread-safe: each connection is used under its owner's mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "steadyeye/core/status.h"

namespace steadyeye::internal {

// The SQLite result code as one of ours: damaged files are DataLoss, a full disk
// ResourceExhausted, everything else Internal; the message names `what` and SQLite's text.
Status SqliteError(sqlite3* db, int rc, std::string_view what);

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept
      : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&& other) noexcept;
  ~Statement();

  // 1-based parameter index, as in SQLite.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, double value);
  Statement& Bind(int index, std::string_view text);
  Statement& BindNull(int index);
  template <typename T>
  Statement& Bind(int index, const std::optional<T>& value) {
    return value ? Bind(index, *value) : BindNull(index);
  }

  // One step: true when a row is available, false when done.
  StatusOr<bool> Step();
  // Steps to completion (for statements that return no rows) and resets.
  Status Run();
  // Resets for the next execution and clears the bindings.
  void Reset();

  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  double Real(int column) const { return sqlite3_column_double(stmt_, column); }
  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::string Text(int column) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  ~Database();
  static StatusOr<std::unique_ptr<Database>> Open(const std::filesystem::path& path,
                                                  bool read_only);
  Status Exec(const std::string& sql);
  StatusOr<Statement> Prepare(std::string_view sql);
  int64_t Changes() const { return sqlite3_changes64(db_); }
  sqlite3* handle() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

}  // namespace steadyeye::internal
