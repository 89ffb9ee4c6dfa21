#include "server/store/store.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace tontine::store {
namespace {

int64_t Millis(absl::Time t) { return absl::ToUnixMillis(t); }
absl::Time FromMillis(int64_t ms) { return absl::FromUnixMillis(ms); }
std::optional<absl::Time> FromMillis(const std::optional<int64_t>& ms) {
  return ms.has_value() ? std::optional<absl::Time>(FromMillis(*ms)) : std::nullopt;
}

std::string TagsToJson(const Tags& tags) { return nlohmann::json(tags).dump(); }

Tags TagsFromJson(const std::string& text) {
  // Written only by TagsToJson; a malformed value would mean a damaged database, and
  // yields no tags rather than an exception.
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  Tags tags;
  if (!j.is_object()) return tags;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) tags[k] = v.get<std::string>();
  }
  return tags;
}

constexpr absl::string_view kInviteColumns =
    "id, token_salt, token_hash, tags, created_unix_ms, expires_unix_ms, redeemed_unix_ms, "
    "participant_id";

InviteRecord ReadInvite(const Statement& s) {
  InviteRecord r;
  r.id = s.ColumnText(0);
  r.token_salt = s.ColumnBlob(1);
  r.token_hash = s.ColumnBlob(2);
  r.tags = TagsFromJson(s.ColumnText(3));
  r.created = FromMillis(s.ColumnInt(4));
  r.expires = FromMillis(s.ColumnInt(5));
  r.redeemed = FromMillis(s.ColumnOptionalInt(6));
  r.participant_id = s.ColumnText(7);
  return r;
}

constexpr absl::string_view kParticipantColumns =
    "id, credential_salt, credential_hash, tags, invite_id, enrolled_unix_ms, "
    "last_seen_unix_ms, revoked_unix_ms";

ParticipantRecord ReadParticipant(const Statement& s) {
  ParticipantRecord r;
  r.id = s.ColumnText(0);
  r.credential_salt = s.ColumnBlob(1);
  r.credential_hash = s.ColumnBlob(2);
  r.tags = TagsFromJson(s.ColumnText(3));
  r.invite_id = s.ColumnText(4);
  r.enrolled = FromMillis(s.ColumnInt(5));
  r.last_seen = FromMillis(s.ColumnOptionalInt(6));
  r.revoked = FromMillis(s.ColumnOptionalInt(7));
  return r;
}

constexpr absl::string_view kAdapterColumns =
    "version, experiment_id, round_id, path, sha256, size_bytes, created_unix_ms";

AdapterRecord ReadAdapter(const Statement& s) {
  AdapterRecord r;
  r.version = s.ColumnInt(0);
  r.experiment_id = s.ColumnInt(1);
  r.round_id = s.ColumnOptionalInt(2);
  r.path = s.ColumnText(3);
  r.sha256 = s.ColumnBlob(4);
  r.size_bytes = s.ColumnInt(5);
  r.created = FromMillis(s.ColumnInt(6));
  return r;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::filesystem::path& path,
                                                   StoreOptions options) {
  if (options.clock == nullptr) options.clock = Clock::Real();
  TONTINE_ASSIGN_OR_RETURN(std::unique_ptr<Database> db,
                           Database::Open(path.string(), options.create));
  // Migrate first: it refuses foreign or newer files before anything is written.
  TONTINE_ASSIGN_OR_RETURN(MigrationReport report,
                           Migrate(*db, SchemaMigrations(), /*allow_new=*/options.create));
  if (path != ":memory:") {
    // WAL lets readers (status commands, the dashboard) run beside the writer; FULL sync
    // makes every committed round survive power loss, not only a process crash.
    TONTINE_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode = WAL"));
  }
  TONTINE_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON"));
  return std::unique_ptr<Store>(new Store(std::move(db), std::move(options), std::move(report)));
}

absl::StatusOr<int> Store::SchemaVersion() {
  absl::MutexLock lock(&mu_);
  TONTINE_ASSIGN_OR_RETURN(int64_t v, db_->QueryInt("PRAGMA user_version"));
  return static_cast<int>(v);
}

void Store::Hook(absl::string_view step) const {
  if (options_.commit_step_hook) options_.commit_step_hook(step);
}

absl::Status Store::InTransaction(const std::function<absl::Status()>& body) {
  TONTINE_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  absl::Status st = body();
  if (st.ok()) st = db_->Exec("COMMIT");
  if (!st.ok()) db_->Exec("ROLLBACK").IgnoreError();  // report the original error
  return st;
}

// ---- invites and participants ----

absl::Status Store::CreateInvite(const InviteRecord& invite) {
  absl::MutexLock lock(&mu_);
  return InTransaction([&]() -> absl::Status {
    TONTINE_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("INSERT INTO invites (id, token_salt, token_hash, tags, created_unix_ms, "
                     "expires_unix_ms) VALUES (?, ?, ?, ?, ?, ?)"));
    TONTINE_RETURN_IF_ERROR(s.Bind(1, invite.id)
                                .BindBlob(2, invite.token_salt)
                                .BindBlob(3, invite.token_hash)
                                .Bind(4, TagsToJson(invite.tags))
                                .Bind(5, Millis(invite.created))
                                .Bind(6, Millis(invite.expires))
                                .Run());
    nlohmann::json detail = {{"invite", invite.id}, {"tags", invite.tags},
                             {"expires_unix_ms", Millis(invite.expires)}};
    return AppendAuditLocked(invite.created, "operator", "invite.create", detail.dump());
  });
}

absl::StatusOr<InviteRecord> Store::FindInvite(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  TONTINE_ASSIGN_OR_RETURN(
      Statement s, db_->Prepare(absl::StrCat("SELECT ", kInviteColumns,
                                             " FROM invites WHERE id = ?")));
  s.Bind(1, id);
  TONTINE_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no invite '", id, "'"));
  return ReadInvite(s);
}

absl::Status Store::RedeemInvite(absl::string_view invite_id,
                                 const ParticipantRecord& participant) {
  absl::MutexLock lock(&mu_);
  return InTransaction([&]() -> absl::Status {
    TONTINE_ASSIGN_OR_RETURN(
        Statement mark,
        db_->Prepare("UPDATE invites SET redeemed_unix_ms = ?1, participant_id = ?2 "
                     "WHERE id = ?3 AND redeemed_unix_ms IS NULL AND expires_unix_ms > ?1"));
    TONTINE_RETURN_IF_ERROR(
        mark.Bind(1, Millis(participant.enrolled)).Bind(2, participant.id).Bind(3, invite_id).Run());
    if (db_->Changes() != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("invite '", invite_id, "' is already redeemed or has expired"));
    }
    TONTINE_ASSIGN_OR_RETURN(
        Statement add,
        db_->Prepare("INSERT INTO participants (id, credential_salt, credential_hash, tags, "
                     "invite_id, enrolled_unix_ms) VALUES (?, ?, ?, ?, ?, ?)"));
    TONTINE_RETURN_IF_ERROR(add.Bind(1, participant.id)
                                .BindBlob(2, participant.credential_salt)
                                .BindBlob(3, participant.credential_hash)
                                .Bind(4, TagsToJson(participant.tags))
                                .Bind(5, invite_id)
                                .Bind(6, Millis(participant.enrolled))
                                .Run());
    nlohmann::json detail = {{"invite", invite_id}, {"tags", participant.tags}};
    return AppendAuditLocked(participant.enrolled, absl::StrCat("participant:", participant.id),
                             "enrol", detail.dump());
  });
}

absl::StatusOr<ParticipantRecord> Store::FindParticipant(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  TONTINE_ASSIGN_OR_RETURN(
      Statement s, db_->Prepare(absl::StrCat("SELECT ", kParticipantColumns,
                                             " FROM participants WHERE id = ?")));
  s.Bind(1, id);
  TONTINE_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no participant '", id, "'"));
  return ReadParticipant(s);
}

absl::StatusOr<std::vector<ParticipantRecord>> Store::ListParticipants() {
  absl::MutexLock lock(&mu_);
  TONTINE_ASSIGN_OR_RETURN(
      Statement s, db_->Prepare(absl::StrCat("SELECT ", kParticipantColumns,
                                             " FROM participants ORDER BY enrolled_unix_ms, id")));
  std::vector<ParticipantRecord> out;
  for (;;) {
    TONTINE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(ReadParticipant(s));
  }
}

absl::Status Store::TouchParticipant(absl::string_view id, absl::Time seen) {
  absl::MutexLock lock(&mu_);
  TONTINE_ASSIGN_OR_RETURN(
      Statement s, db_->Prepare("UPDATE participants SET last_seen_unix_ms = ? WHERE id = ?"));
  return s.Bind(1, Millis(seen)).Bind(2, id).Run();
}

// ---- experiments, rounds, adapters ----

absl::StatusOr<int64_t> Store::StartExperiment(const ExperimentRecord& e) {
  absl::MutexLock lock(&mu_);
  int64_t id = 0;
  TONTINE_RETURN_IF_ERROR(InTransaction([&]() -> absl::Status {
    TONTINE_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("INSERT INTO experiments (name, config_yaml, lora_seed, started_unix_ms, "
                     "status) VALUES (?, ?, ?, ?, 'running')"));
    TONTINE_RETURN_IF_ERROR(s.Bind(1, e.name)
                                .Bind(2, e.config_yaml)
                                .Bind(3, static_cast<int64_t>(e.lora_seed))
                                .Bind(4, Millis(e.started))
                                .Run());
    id = db_->LastInsertRowId();
    nlohmann::json detail = {{"experiment", id}, {"name", e.name}};
    return AppendAuditLocked(e.started, "coordinator", "experiment.start", detail.dump());
  }));
  return id;
}

absl::Status Store::FinishExperiment(int64_t id, absl::string_view status) {
  absl::MutexLock lock(&mu_);
  return InTransaction([&]() -> absl::Status {
    absl::Time now = options_.clock->Now();
    TONTINE_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("UPDATE experiments SET status = ?, finished_unix_ms = ? WHERE id = ?"));
    TONTINE_RETURN_IF_ERROR(s.Bind(1, status).Bind(2, Millis(now)).Bind(3, id).Run());
    nlohmann::json detail = {{"experiment", id}, {"status", status}};
    return AppendAuditLocked(now, "coordinator", "experiment.finish", detail.dump());
  });
}

absl::StatusOr<ExperimentRecord> Store::LatestExperiment() {
  absl::MutexLock lock(&mu_);
  TONTINE_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare("SELECT id, name, config_yaml, lora_seed, started_unix_ms, finished_unix_ms, "
                   "status FROM experiments ORDER BY id DESC LIMIT 1"));
  TONTINE_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::NotFoundError("no experiment has been started");
  ExperimentRecord e;
  e.id = s.ColumnInt(0);
  e.name = s.ColumnText(1);
  e.config_yaml = s.ColumnText(2);
  e.lora_seed = static_cast<uint64_t>(s.ColumnInt(3));
  e.started = FromMillis(s.ColumnInt(4));
  e.finished = FromMillis(s.ColumnOptionalInt(5));
  e.status = s.ColumnText(6);
  return e;
}

absl::Status Store::InsertAdapterLocked(const AdapterRecord& a) {
  TONTINE_ASSIGN_OR_RETURN(
      Statement s, db_->Prepare(absl::StrCat("INSERT INTO adapters (", kAdapterColumns,
                                             ") VALUES (?, ?, ?, ?, ?, ?, ?)")));
  return s.Bind(1, a.version)
      .Bind(2, a.experiment_id)
      .Bind(3, a.round_id)
      .Bind(4, a.path)
      .BindBlob(5, a.sha256)
      .Bind(6, a.size_bytes)
      .Bind(7, Millis(a.created))
      .Run();
}

absl::Status Store::AddAdapter(const AdapterRecord& adapter) {
  absl::MutexLock lock(&mu_);
  return InTransaction([&] { return InsertAdapterLocked(adapter); });
}

absl::Status Store::InsertRoundLocked(const RoundRecord& r) {
  TONTINE_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare("INSERT INTO rounds (id, experiment_id, number, outcome, started_unix_ms, "
                   "finished_unix_ms, participants, dropped, bytes_up, bytes_down, metrics, "
                   "reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  TONTINE_RETURN_IF_ERROR(s.Bind(1, r.id)
                              .Bind(2, r.experiment_id)
                              .Bind(3, static_cast<int64_t>(r.number))
                              .Bind(4, r.outcome)
                              .Bind(5, Millis(r.started))
                              .Bind(6, Millis(r.finished))
                              .Bind(7, static_cast<int64_t>(r.participants))
                              .Bind(8, static_cast<int64_t>(r.dropped))
                              .Bind(9, r.bytes_up)
                              .Bind(10, r.bytes_down)
                              .Bind(11, r.metrics_json)
                              .Bind(12, r.reason)
                              .Run());
  Hook("round");
  TONTINE_ASSIGN_OR_RETURN(
      Statement member,
      db_->Prepare("INSERT INTO round_participants (round_id, participant_id, cohort_index, "
                   "status) VALUES (?, ?, ?, ?)"));
  for (const RoundParticipantRecord& p : r.cohort) {
    TONTINE_RETURN_IF_ERROR(member.Bind(1, r.id)
                                .Bind(2, p.participant_id)
                                .Bind(3, static_cast<int64_t>(p.cohort_index))
                                .Bind(4, p.status)
                                .Run());
    member.Reset();
  }
  Hook("cohort");
  return absl::OkStatus();
}

absl::Status Store::CommitRound(const RoundRecord& round,
                                const std::optional<AdapterRecord>& adapter) {
  absl::MutexLock lock(&mu_);
  return InTransaction([&]() -> absl::Status {
    TONTINE_RETURN_IF_ERROR(InsertRoundLocked(round));
    if (adapter.has_value()) {
      TONTINE_RETURN_IF_ERROR(InsertAdapterLocked(*adapter));
      TONTINE_ASSIGN_OR_RETURN(
          Statement link, db_->Prepare("UPDATE rounds SET adapter_version = ? WHERE id = ?"));
      TONTINE_RETURN_IF_ERROR(link.Bind(1, adapter->version).Bind(2, round.id).Run());
      Hook("adapter");
    }
    nlohmann::json detail = {{"round", round.id},
                             {"outcome", round.outcome},
                             {"participants", round.participants},
                             {"dropped", round.dropped}};
    if (adapter.has_value()) detail["adapter_version"] = adapter->version;
    TONTINE_RETURN_IF_ERROR(
        AppendAuditLocked(round.finished, "coordinator", "round.commit", detail.dump()));
    Hook("audit");
    Hook("commit");
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<RoundRecord>> Store::ListRounds(int64_t experiment_id) {
  absl::MutexLock lock(&mu_);
  TONTINE_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare("SELECT id, experiment_id, number, outcome, started_unix_ms, "
                   "finished_unix_ms, participants, dropped, bytes_up, bytes_down, metrics, "
                   "adapter_version, reason FROM rounds WHERE experiment_id = ? ORDER BY number"));
  s.Bind(1, experiment_id);
  std::vector<RoundRecord> out;
  for (;;) {
    TONTINE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    RoundRecord r;
    r.id = s.ColumnInt(0);
    r.experiment_id = s.ColumnInt(1);
    r.number = static_cast<int>(s.ColumnInt(2));
    r.outcome = s.ColumnText(3);
    r.started = FromMillis(s.ColumnInt(4));
    r.finished = FromMillis(s.ColumnInt(5));
    r.participants = static_cast<int>(s.ColumnInt(6));
    r.dropped = static_cast<int>(s.ColumnInt(7));
    r.bytes_up = s.ColumnInt(8);
    r.bytes_down = s.ColumnInt(9);
    r.metrics_json = s.ColumnText(10);
    r.adapter_version = s.ColumnOptionalInt(11);
    r.reason = s.ColumnText(12);
    out.push_back(std::move(r));
  }
  TONTINE_ASSIGN_OR_RETURN(
      Statement m, db_->Prepare("SELECT participant_id, cohort_index, status FROM "
                                "round_participants WHERE round_id = ? ORDER BY cohort_index"));
  for (RoundRecord& r : out) {
    m.Reset();
    m.Bind(1, r.id);
    for (;;) {
      TONTINE_ASSIGN_OR_RETURN(bool row, m.Step());
      if (!row) break;
      r.cohort.push_back({m.ColumnText(0), static_cast<int>(m.ColumnInt(1)), m.ColumnText(2)});
    }
  }
  return out;
}

absl::StatusOr<std::optional<AdapterRecord>> Store::LatestAdapter() {
  absl::MutexLock lock(&mu_);
  TONTINE_ASSIGN_OR_RETURN(
      Statement s, db_->Prepare(absl::StrCat("SELECT ", kAdapterColumns,
                                             " FROM adapters ORDER BY version DESC LIMIT 1")));
  TONTINE_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<AdapterRecord>();
  return std::optional<AdapterRecord>(ReadAdapter(s));
}

absl::StatusOr<std::vector<AdapterRecord>> Store::ListAdapters() {
  absl::MutexLock lock(&mu_);
  TONTINE_ASSIGN_OR_RETURN(
      Statement s, db_->Prepare(absl::StrCat("SELECT ", kAdapterColumns,
                                             " FROM adapters ORDER BY version")));
  std::vector<AdapterRecord> out;
  for (;;) {
    TONTINE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(ReadAdapter(s));
  }
}

absl::StatusOr<int64_t> Store::NextRoundId() {
  absl::MutexLock lock(&mu_);
  TONTINE_ASSIGN_OR_RETURN(int64_t max_id, db_->QueryInt("SELECT coalesce(max(id), 0) FROM rounds"));
  return max_id + 1;
}

// ---- audit ----

absl::Status Store::AppendAuditLocked(absl::Time at, absl::string_view actor,
                                      absl::string_view action, absl::string_view detail_json) {
  TONTINE_ASSIGN_OR_RETURN(
      Statement s, db_->Prepare("INSERT INTO audit_log (at_unix_ms, actor, action, detail) "
                                "VALUES (?, ?, ?, ?)"));
  return s.Bind(1, Millis(at)).Bind(2, actor).Bind(3, action).Bind(4, detail_json).Run();
}

absl::Status Store::AppendAudit(absl::string_view actor, absl::string_view action,
                                absl::string_view detail_json) {
  absl::MutexLock lock(&mu_);
  return AppendAuditLocked(options_.clock->Now(), actor, action, detail_json);
}

absl::StatusOr<std::vector<AuditRecord>> Store::ListAudit(int limit) {
  absl::MutexLock lock(&mu_);
  TONTINE_ASSIGN_OR_RETURN(
      Statement s, db_->Prepare("SELECT id, at_unix_ms, actor, action, detail FROM audit_log "
                                "ORDER BY id DESC LIMIT ?"));
  s.Bind(1, static_cast<int64_t>(limit));
  std::vector<AuditRecord> out;
  for (;;) {
    TONTINE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back({s.ColumnInt(0), FromMillis(s.ColumnInt(1)), s.ColumnText(2), s.ColumnText(3),
                   s.ColumnText(4)});
  }
}

}  // namespace tontine::store
