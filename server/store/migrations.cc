#include "server/store/migrations.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/base/status_macros.h"

namespace tontine::store {
namespace {

// Version 1: everything the coordinator keeps. Times are Unix milliseconds; JSON columns hold
// objects or arrays as documented; hashes and salts are raw bytes.
constexpr absl::string_view kSchemaV1 = R"sql(
CREATE TABLE invites (
  id                TEXT PRIMARY KEY,        -- public part of the token, 16 hex digits
  token_salt        BLOB NOT NULL,           -- 16 random bytes
  token_hash        BLOB NOT NULL,           -- SHA-256(salt || secret)
  tags              TEXT NOT NULL DEFAULT '{}',
  created_unix_ms   INTEGER NOT NULL,
  expires_unix_ms   INTEGER NOT NULL,
  redeemed_unix_ms  INTEGER,
  participant_id    TEXT
);
CREATE TABLE participants (
  id                 TEXT PRIMARY KEY,       -- "p-" + 16 hex digits, pseudonymous
  credential_salt    BLOB NOT NULL,
  credential_hash    BLOB NOT NULL,          -- SHA-256(salt || secret)
  tags               TEXT NOT NULL DEFAULT '{}',
  invite_id          TEXT NOT NULL REFERENCES invites(id),
  enrolled_unix_ms   INTEGER NOT NULL,
  last_seen_unix_ms  INTEGER,
  revoked_unix_ms    INTEGER
);
CREATE TABLE experiments (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  name              TEXT NOT NULL,
  config_yaml       TEXT NOT NULL,           -- the experiment file as it was run
  lora_seed         INTEGER NOT NULL,
  started_unix_ms   INTEGER NOT NULL,
  finished_unix_ms  INTEGER,
  status            TEXT NOT NULL CHECK (status IN ('running', 'finished', 'stopped'))
);
CREATE TABLE adapters (
  version          INTEGER PRIMARY KEY,      -- global, increasing
  experiment_id    INTEGER NOT NULL REFERENCES experiments(id),
  round_id         INTEGER,                  -- NULL for an experiment's initial adapter
  path             TEXT NOT NULL,            -- relative to the state dir: adapters/v<N>
  sha256           BLOB NOT NULL,            -- of adapter_model.safetensors
  size_bytes       INTEGER NOT NULL,
  created_unix_ms  INTEGER NOT NULL
);
CREATE TABLE rounds (
  id                INTEGER PRIMARY KEY,     -- the round id on the wire, global
  experiment_id     INTEGER NOT NULL REFERENCES experiments(id),
  number            INTEGER NOT NULL,        -- 1, 2, … within the experiment
  outcome           TEXT NOT NULL CHECK (outcome IN ('committed', 'aborted')),
  started_unix_ms   INTEGER NOT NULL,
  finished_unix_ms  INTEGER NOT NULL,
  participants      INTEGER NOT NULL,        -- updates in the sum
  dropped           INTEGER NOT NULL,
  bytes_up          INTEGER NOT NULL,
  bytes_down        INTEGER NOT NULL,
  metrics           TEXT NOT NULL DEFAULT '{}',  -- securely summed metrics per bucket
  adapter_version   INTEGER REFERENCES adapters(version),
  reason            TEXT NOT NULL DEFAULT '',
  UNIQUE (experiment_id, number)
);
CREATE TABLE round_participants (
  round_id        INTEGER NOT NULL REFERENCES rounds(id),
  participant_id  TEXT NOT NULL REFERENCES participants(id),
  cohort_index    INTEGER NOT NULL,
  status          TEXT NOT NULL,             -- 'included' or 'dropped:<phase>'
  PRIMARY KEY (round_id, participant_id),    -- a participant is never twice in one round
  UNIQUE (round_id, cohort_index)
);
CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at_unix_ms  INTEGER NOT NULL,
  actor       TEXT NOT NULL,                 -- 'operator', 'coordinator', 'participant:<id>'
  action      TEXT NOT NULL,                 -- 'init', 'invite.create', 'enrol', …
  detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX rounds_by_experiment ON rounds(experiment_id, number);
CREATE INDEX audit_by_time ON audit_log(at_unix_ms);
)sql";

struct Header {
  int64_t application_id = 0;
  int64_t user_version = 0;
  int64_t tables = 0;
};

// Reads without writing; this is where a non-SQLite file is detected (SQLITE_NOTADB).
absl::StatusOr<Header> ReadHeader(Database& db) {
  Header h;
  TONTINE_ASSIGN_OR_RETURN(h.application_id, db.QueryInt("PRAGMA application_id"));
  TONTINE_ASSIGN_OR_RETURN(h.user_version, db.QueryInt("PRAGMA user_version"));
  TONTINE_ASSIGN_OR_RETURN(h.tables, db.QueryInt("SELECT count(*) FROM sqlite_schema"));
  return h;
}

absl::Status Apply(Database& db, const Migration& m, bool stamp) {
  TONTINE_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  absl::Status st = db.Exec(m.sql);
  if (st.ok() && stamp) st = db.Exec(absl::StrCat("PRAGMA application_id = ", kApplicationId));
  if (st.ok()) st = db.Exec(absl::StrCat("PRAGMA user_version = ", m.version));
  if (st.ok()) st = db.Exec("COMMIT");
  if (!st.ok()) {
    db.Exec("ROLLBACK").IgnoreError();  // the original error is the one to report
    return absl::Status(st.code(), absl::StrCat("migration to schema version ", m.version,
                                                " (", m.description, ") failed: ",
                                                st.message()));
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<Migration>& SchemaMigrations() {
  static const std::vector<Migration>* const kMigrations = new std::vector<Migration>{
      {1, "invites, participants, experiments, adapters, rounds, audit log", kSchemaV1},
  };
  return *kMigrations;
}

absl::StatusOr<MigrationReport> Migrate(Database& db, const std::vector<Migration>& migrations,
                                        bool allow_new) {
  TONTINE_ASSIGN_OR_RETURN(Header h, ReadHeader(db));
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  const bool fresh = h.application_id == 0 && h.user_version == 0 && h.tables == 0;
  if (fresh && !allow_new) {
    return absl::FailedPreconditionError(absl::StrCat(
        db.path(), ": is empty, but a state directory's database never is; it may have been "
                   "truncated — restore it from a backup (nothing was changed)"));
  }
  if (!fresh && h.application_id != kApplicationId) {
    return absl::FailedPreconditionError(absl::StrCat(
        db.path(), ": is an SQLite database, but not a Tontine state database "
                   "(application_id ", h.application_id, "); refusing to touch it"));
  }
  if (h.user_version > latest) {
    return absl::FailedPreconditionError(absl::StrCat(
        db.path(), ": has schema version ", h.user_version,
        ", newer than this build understands (", latest,
        "); run a newer tontine-coordinator, or restore a backup made by this version"));
  }
  MigrationReport report{static_cast<int>(h.user_version), latest, {}};
  if (h.user_version == latest) return report;
  if (!fresh && db.path() != ":memory:") {
    report.backup = absl::StrCat(db.path(), ".v", h.user_version, ".bak");
    std::error_code ec;
    std::filesystem::remove(report.backup, ec);
    TONTINE_RETURN_IF_ERROR(db.Exec(absl::StrCat(
        "VACUUM INTO '", absl::StrReplaceAll(report.backup.string(), {{"'", "''"}}), "'")));
  }
  for (const Migration& m : migrations) {
    if (m.version <= h.user_version) continue;
    TONTINE_RETURN_IF_ERROR(Apply(db, m, fresh && m.version == migrations.front().version));
  }
  return report;
}

}  // namespace tontine::store
