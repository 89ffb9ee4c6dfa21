// The coordinator's durable state: one SQLite database (WAL mode) in the state directory.
//
// Lifecycle: Open (migrates the schema forward, or refuses) → any calls → destroy.
// Every write is one transaction; a round commit (round, its cohort, its adapter version and
// an audit entry) is a single transaction, so a crash leaves either all of it or none.
//
// Safe for concurrent use: one connection, serialised by mu_. Other processes (e.g.
// `tontine-coordinator invite` while `serve` runs) may use the same file; SQLite's locking
// and a busy timeout order them.
#ifndef TONTINE_SERVER_STORE_STORE_H_
#define TONTINE_SERVER_STORE_STORE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "server/store/migrations.h"
#include "server/store/sqlite.h"

namespace tontine::store {

using Tags = std::map<std::string, std::string>;

struct InviteRecord {
  std::string id;          // public part of the token
  std::string token_salt;  // 16 bytes
  std::string token_hash;  // SHA-256(salt || secret)
  Tags tags;
  absl::Time created;
  absl::Time expires;
  std::optional<absl::Time> redeemed;
  std::string participant_id;  // set once redeemed
};

struct ParticipantRecord {
  std::string id;
  std::string credential_salt;
  std::string credential_hash;
  Tags tags;
  std::string invite_id;
  absl::Time enrolled;
  std::optional<absl::Time> last_seen;
  std::optional<absl::Time> revoked;
};

struct ExperimentRecord {
  int64_t id = 0;
  std::string name;
  std::string config_yaml;
  uint64_t lora_seed = 0;
  absl::Time started;
  std::optional<absl::Time> finished;
  std::string status;  // running | finished | stopped
};

struct AdapterRecord {
  int64_t version = 0;
  int64_t experiment_id = 0;
  std::optional<int64_t> round_id;  // nullopt for an experiment's initial adapter
  std::string path;                 // relative to the state dir
  std::string sha256;               // 32 bytes
  int64_t size_bytes = 0;
  absl::Time created;
};

struct RoundParticipantRecord {
  std::string participant_id;
  int cohort_index = 0;
  std::string status;  // "included" or "dropped:<phase>"
};

struct RoundRecord {
  int64_t id = 0;  // the round id on the wire
  int64_t experiment_id = 0;
  int number = 0;       // 1, 2, … within the experiment
  std::string outcome;  // committed | aborted
  absl::Time started;
  absl::Time finished;
  int participants = 0;
  int dropped = 0;
  int64_t bytes_up = 0;
  int64_t bytes_down = 0;
  std::string metrics_json = "{}";
  std::optional<int64_t> adapter_version;
  std::string reason;
  std::vector<RoundParticipantRecord> cohort;
};

struct AuditRecord {
  int64_t id = 0;
  absl::Time at;
  std::string actor;
  std::string action;
  std::string detail_json;
};

struct StoreOptions {
  // Not owned; must outlive the store. Defaults to the real clock.
  const Clock* clock = nullptr;
  // Create the database if missing (init); otherwise a missing file is NOT_FOUND.
  bool create = false;
  // Test seam for crash tests: called between the statements of a round commit with a step
  // name ("round", "cohort", "adapter", "audit", "commit"). Never set in production.
  std::function<void(absl::string_view step)> commit_step_hook;
};

class Store {
 public:
  // Opens the database at `path` (":memory:" for tests), checks it and migrates it to the
  // current schema. FAILED_PRECONDITION (without modifying the file) when it is not SQLite,
  // another program's database, from a newer Tontine, or empty without `options.create`;
  // NOT_FOUND when missing and not `options.create`.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::filesystem::path& path,
                                                     StoreOptions options);

  // The migration Open performed.
  const MigrationReport& migration() const { return migration_; }
  absl::StatusOr<int> SchemaVersion();

  // ---- invites and participants ----
  // ALREADY_EXISTS when the id is taken.
  absl::Status CreateInvite(const InviteRecord& invite);
  // NOT_FOUND when there is no such invite.
  absl::StatusOr<InviteRecord> FindInvite(absl::string_view id);
  // Marks the invite redeemed and creates the participant, atomically. FAILED_PRECONDITION
  // when the invite was redeemed meanwhile or has expired at `participant.enrolled`.
  absl::Status RedeemInvite(absl::string_view invite_id, const ParticipantRecord& participant);
  // NOT_FOUND when there is no such participant.
  absl::StatusOr<ParticipantRecord> FindParticipant(absl::string_view id);
  absl::StatusOr<std::vector<ParticipantRecord>> ListParticipants();
  absl::Status TouchParticipant(absl::string_view id, absl::Time seen);

  // ---- experiments, rounds, adapters ----
  // Returns the new experiment's id.
  absl::StatusOr<int64_t> StartExperiment(const ExperimentRecord& experiment);
  absl::Status FinishExperiment(int64_t id, absl::string_view status);
  // The most recent experiment, NOT_FOUND when none.
  absl::StatusOr<ExperimentRecord> LatestExperiment();
  // Records an adapter version on its own (an experiment's initial adapter).
  absl::Status AddAdapter(const AdapterRecord& adapter);
  // One transaction: the round, its cohort, the adapter it produced (if any) and an audit
  // entry. ALREADY_EXISTS if the round id or (experiment, number) is taken.
  absl::Status CommitRound(const RoundRecord& round, const std::optional<AdapterRecord>& adapter);
  absl::StatusOr<std::vector<RoundRecord>> ListRounds(int64_t experiment_id);
  absl::StatusOr<std::optional<AdapterRecord>> LatestAdapter();
  absl::StatusOr<std::vector<AdapterRecord>> ListAdapters();
  // The next unused round id (1 + the largest committed).
  absl::StatusOr<int64_t> NextRoundId();

  // ---- audit ----
  absl::Status AppendAudit(absl::string_view actor, absl::string_view action,
                           absl::string_view detail_json);
  // Newest first, at most `limit`.
  absl::StatusOr<std::vector<AuditRecord>> ListAudit(int limit);

 private:
  Store(std::unique_ptr<Database> db, StoreOptions options, MigrationReport migration)
      : options_(std::move(options)), migration_(std::move(migration)), db_(std::move(db)) {}

  absl::Status AppendAuditLocked(absl::Time at, absl::string_view actor, absl::string_view action,
                                 absl::string_view detail_json) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status InsertAdapterLocked(const AdapterRecord& adapter)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status InsertRoundLocked(const RoundRecord& round) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `body` inside BEGIN IMMEDIATE … COMMIT, rolling back on error.
  absl::Status InTransaction(const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Hook(absl::string_view step) const;

  // Constant after construction.
  const StoreOptions options_;
  const MigrationReport migration_;

  absl::Mutex mu_;
  std::unique_ptr<Database> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tontine::store

#endif  // TONTINE_SERVER_STORE_STORE_H_
