#include "server/store/sqlite.h"

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace tontine::store {

// ---- Statement ----

Statement& Statement::Bind(int index, int64_t value) {
  if (bind_error_ == SQLITE_OK) bind_error_ = sqlite3_bind_int64(stmt_.get(), index, value);
  return *this;
}

Statement& Statement::Bind(int index, absl::string_view text) {
  if (bind_error_ == SQLITE_OK) {
    bind_error_ = sqlite3_bind_text64(stmt_.get(), index, text.data(), text.size(),
                                      SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  return *this;
}

Statement& Statement::BindBlob(int index, absl::string_view bytes) {
  if (bind_error_ == SQLITE_OK) {
    bind_error_ = sqlite3_bind_blob64(stmt_.get(), index, bytes.data(), bytes.size(),
                                      SQLITE_TRANSIENT);
  }
  return *this;
}

Statement& Statement::BindNull(int index) {
  if (bind_error_ == SQLITE_OK) bind_error_ = sqlite3_bind_null(stmt_.get(), index);
  return *this;
}

Statement& Statement::Bind(int index, const std::optional<int64_t>& value) {
  return value.has_value() ? Bind(index, *value) : BindNull(index);
}

absl::StatusOr<bool> Statement::Step() {
  if (bind_error_ != SQLITE_OK) return db_->Error(bind_error_, "binding a parameter");
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(rc, sqlite3_sql(stmt_.get()));
}

absl::Status Statement::Run() {
  for (;;) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  bind_error_ = SQLITE_OK;
}

int64_t Statement::ColumnInt(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::optional<int64_t> Statement::ColumnOptionalInt(int column) const {
  if (sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL) return std::nullopt;
  return ColumnInt(column);
}

std::string Statement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), column);
  int n = sqlite3_column_bytes(stmt_.get(), column);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), n);
}

std::string Statement::ColumnBlob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_.get(), column);
  int n = sqlite3_column_bytes(stmt_.get(), column);
  return blob == nullptr ? std::string() : std::string(static_cast<const char*>(blob), n);
}

// ---- Database ----

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path, bool create) {
  std::error_code ec;
  if (!create && path != ":memory:" && !std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": database file does not exist"));
  }
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqlitePtr db(raw);
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(absl::StrCat(
        path, ": cannot open database: ", raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  // Writers wait for each other briefly instead of failing at once (another process such as
  // `tontine-coordinator invite` may hold the write lock for a moment).
  sqlite3_busy_timeout(raw, 5000);
  return std::unique_ptr<Database>(new Database(std::move(db), path));
}

absl::Status Database::Error(int code, absl::string_view what) const {
  std::string message =
      absl::StrCat(path_, ": ", sqlite3_errmsg(db_.get()), " (while ", what, ")");
  switch (code & 0xff) {
    case SQLITE_NOTADB:
      return absl::FailedPreconditionError(
          absl::StrCat(path_, ": is not an SQLite database (", sqlite3_errstr(code), ")"));
    case SQLITE_CORRUPT:
      return absl::DataLossError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(message);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status Database::Exec(absl::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) return Error(rc, text.substr(0, 60));
  return absl::OkStatus();
}

absl::StatusOr<Statement> Database::Prepare(absl::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw,
                              nullptr);
  SqliteStmtPtr stmt(raw);
  if (rc != SQLITE_OK) return Error(rc, absl::StrCat("preparing ", sql.substr(0, 60)));
  return Statement(this, std::move(stmt));
}

absl::StatusOr<int64_t> Database::QueryInt(absl::string_view sql) {
  absl::StatusOr<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat(path_, ": no result for ", sql));
  return stmt->ColumnInt(0);
}

}  // namespace tontine::store
