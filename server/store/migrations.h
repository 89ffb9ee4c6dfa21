// Versioned schema migrations for the coordinator's SQLite database.
//
// The schema version is SQLite's `user_version`; the file is stamped with an
// `application_id` so that another program's SQLite file is never mistaken for ours.
// Migration N takes the schema from version N−1 to N inside one transaction, so a crash
// during a migration leaves the previous version intact.
#ifndef TONTINE_SERVER_STORE_MIGRATIONS_H_
#define TONTINE_SERVER_STORE_MIGRATIONS_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "server/store/sqlite.h"

namespace tontine::store {

// "Tont" in ASCII.
inline constexpr int64_t kApplicationId = 0x546f6e74;

struct Migration {
  int version;                   // 1, 2, … in order
  absl::string_view description;  // for the log: "participants, invites, rounds"
  absl::string_view sql;
};

// Tontine's schema history, oldest first.
const std::vector<Migration>& SchemaMigrations();

struct MigrationReport {
  int from_version = 0;
  int to_version = 0;
  // Where the pre-migration copy was written; empty when nothing was migrated or the
  // database was new.
  std::filesystem::path backup;
};

// Checks that `db` is a Tontine database (or empty) and applies the migrations it lacks.
// Before migrating a database that already holds data, copies it to
// "<db>.v<from>.bak" (VACUUM INTO), so an operator can go back.
// FAILED_PRECONDITION, without writing anything, when the file is not SQLite, is another
// program's database, has a newer schema than `migrations` knows, or is empty while
// `allow_new` is false (an emptied database must not silently become a new one).
absl::StatusOr<MigrationReport> Migrate(Database& db, const std::vector<Migration>& migrations,
                                        bool allow_new = true);

}  // namespace tontine::store

#endif  // TONTINE_SERVER_STORE_MIGRATIONS_H_
