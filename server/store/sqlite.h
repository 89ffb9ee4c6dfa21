// A thin RAII layer over the SQLite C API: a connection, prepared statements, and errors
// turned into absl::Status naming the database file.
#ifndef TONTINE_SERVER_STORE_SQLITE_H_
#define TONTINE_SERVER_STORE_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tontine::store {

struct SqliteDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteStmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using SqlitePtr = std::unique_ptr<sqlite3, SqliteDeleter>;
using SqliteStmtPtr = std::unique_ptr<sqlite3_stmt, SqliteStmtDeleter>;

class Database;

// One prepared statement. Bind parameters (1-based), then Step until it returns false.
// Not thread-safe; use under the owner's lock.
class Statement {
 public:
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, absl::string_view text);
  Statement& BindBlob(int index, absl::string_view bytes);
  Statement& BindNull(int index);
  Statement& Bind(int index, const std::optional<int64_t>& value);

  // True when a row is available, false when done. Any bind error surfaces here.
  absl::StatusOr<bool> Step();
  // Steps to completion, expecting no rows.
  absl::Status Run();
  // Makes the statement ready to bind and run again.
  void Reset();

  int64_t ColumnInt(int column) const;
  std::optional<int64_t> ColumnOptionalInt(int column) const;
  std::string ColumnText(int column) const;
  std::string ColumnBlob(int column) const;

 private:
  friend class Database;
  Statement(Database* db, SqliteStmtPtr stmt) : db_(db), stmt_(std::move(stmt)) {}

  Database* db_;  // must outlive this object
  SqliteStmtPtr stmt_;
  int bind_error_ = SQLITE_OK;
};

// A connection. Not thread-safe: the Store serialises access with its mutex.
class Database {
 public:
  // Opens `path` (":memory:" for an in-memory database). With `create` false, a missing file
  // is NOT_FOUND. Opening does not read or write the file; the first statement does.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path, bool create);

  // Runs one or more statements without results.
  absl::Status Exec(absl::string_view sql);
  absl::StatusOr<Statement> Prepare(absl::string_view sql);

  // Runs `sql` and returns the first column of its first row as an integer.
  absl::StatusOr<int64_t> QueryInt(absl::string_view sql);

  int64_t LastInsertRowId() const { return sqlite3_last_insert_rowid(db_.get()); }
  int Changes() const { return sqlite3_changes(db_.get()); }
  const std::string& path() const { return path_; }

  // Maps an SQLite result code to a status: SQLITE_NOTADB → FAILED_PRECONDITION ("is not an
  // SQLite database"), SQLITE_BUSY → UNAVAILABLE, SQLITE_CONSTRAINT → ALREADY_EXISTS,
  // SQLITE_CORRUPT → DATA_LOSS, others INTERNAL. The message names the file.
  absl::Status Error(int code, absl::string_view what) const;

 private:
  Database(SqlitePtr db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}

  SqlitePtr db_;
  std::string path_;
};

}  // namespace tontine::store

#endif  // TONTINE_SERVER_STORE_SQLITE_H_
