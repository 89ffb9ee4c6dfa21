// The coordinator's round loop: one experiment's rounds, end to end (DESIGN.md §4).
//
// For each round it waits for enough connected participants, samples a cohort, invites it
// over the session streams, runs SecAgg+ (common/secagg) with a deadline per phase, takes the
// masked updates through UploadMaskedUpdate (buffered per upload, at most
// `aggregation_slots` at once, and added to one running sum as each completes: memory
// O(slots · d), never O(n · d)), unmasks, decodes, applies the aggregation rule and server
// optimiser, writes the new adapter version and commits the round in one SQLite transaction.
//
// Crash safety: nothing of a round is durable before its commit. A coordinator restarted on
// the same state dir resumes the experiment after its last committed round; the round that
// was in flight is re-run under the same round id with fresh SecAgg keys, and clients, whose
// sessions broke, reconnect by themselves. A round that cannot complete (too few survivors
// for the threshold) is committed as aborted and the next round starts.
//
// Threads: Run() is the loop; SessionListener and RoundService methods come from gRPC threads
// and only record what arrived (the SecAgg handlers do O(message) work). Safe for concurrent
// use.
#ifndef TONTINE_SERVER_ROUND_ROUND_RUNNER_H_
#define TONTINE_SERVER_ROUND_ROUND_RUNNER_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/base/clock.h"
#include "common/config/experiment_config.h"
#include "common/ml/model_config.h"
#include "server/round/global_adapter.h"
#include "server/service/round_service.h"
#include "server/service/session.h"
#include "server/service/session_registry.h"
#include "server/store/store.h"

namespace tontine::round {

struct RoundRunnerOptions {
  config::ExperimentConfig experiment;
  // The experiment file's text, recorded with the experiment; a restart with a different
  // text (or name) starts a new experiment.
  std::string experiment_yaml;
  std::filesystem::path state_dir;
  // Masked updates buffered at once while they arrive. The gRPC service admits as many
  // upload calls at once (service/upload_gate.h); a call that still finds every buffer taken
  // (its predecessor's client vanished mid-upload) gets UNAVAILABLE with retry_after_ms.
  int aggregation_slots = 4;
  // Threads expanding masks when unmasking.
  int unmask_threads = 2;
  // Test hook, never set in production: after each committed round, write the unmasked
  // sum (little-endian uint32 words) to round-<id>.sum and the included participant ids to
  // round-<id>.included in this directory.
  std::filesystem::path debug_dump_dir;
  // Test hook, never set in production: the process SIGKILLs itself when a round reaches
  // this phase ("advertise_keys", "share_keys", "masked_input", "unmask", "commit"), in the
  // round numbered after '@' (default 1; e.g. "unmask@2"), to rehearse a crash there.
  std::string debug_crash_at;
};

class ActiveRound;

// Where the round in flight stands, for the dashboard and /metrics.
struct RoundProgress {
  uint64_t round_id = 0;
  int number = 0;  // within the experiment
  v1::RoundPhase phase = v1::ROUND_PHASE_UNSPECIFIED;
  absl::Time started;
  int cohort = 0;   // invited
  int awaited = 0;  // still awaited in this phase
  int done = 0;     // answered this phase
  int dropped = 0;  // left, declined or dropped in an earlier phase
};

class RoundRunner final : public service::SessionListener, public service::RoundService {
 public:
  // Reads the base model's config.json and digest, then resumes the state dir's running
  // experiment when it is this one, or starts it (drawing lora.seed when 0 and writing the
  // initial adapter). `store`, `sessions` and `clock` must outlive the runner.
  static absl::StatusOr<std::unique_ptr<RoundRunner>> Create(store::Store* store,
                                                             service::SessionRegistry* sessions,
                                                             const Clock* clock,
                                                             RoundRunnerOptions options);
  ~RoundRunner() override;

  // Runs rounds until rounds.count have committed or the target perplexity is reached (OK;
  // the experiment is marked finished), or Stop() (CANCELLED). Errors of the store or the
  // state dir end it too.
  absl::Status Run();
  // Makes Run() return soon; a round in flight is cancelled (not committed). Idempotent.
  void Stop();

  // service::SessionListener
  void OnSessionStarted(const std::shared_ptr<service::SessionHandle>& session,
                        const v1::Hello& hello) override;
  void OnClientMessage(const std::shared_ptr<service::SessionHandle>& session,
                       const v1::ClientMessage& message) override;
  void OnSessionEnded(const std::shared_ptr<service::SessionHandle>& session) override;

  // service::RoundService
  absl::StatusOr<service::AdapterFile> FindAdapter(uint64_t version, bool lora_b_only) override;
  void CountDownload(uint64_t bytes) override;
  absl::StatusOr<v1::UploadReceipt> ReceiveChunk(const std::string& participant_id,
                                                 const v1::MaskedUpdateChunk& chunk) override;
  absl::StatusOr<v1::UploadReceipt> UploadStatus(const std::string& participant_id,
                                                 uint64_t round_id) override;
  void FillStatus(v1::CoordinatorStatus& status) override;

  // The round in flight, or nullopt between rounds.
  std::optional<RoundProgress> Progress() const;
  // Rounds this experiment must commit (rounds.count).
  int rounds_target() const { return options_.experiment.rounds.count; }

  // The experiment's record (id, lora seed).
  const store::ExperimentRecord& experiment() const { return experiment_; }

 private:
  RoundRunner(store::Store* store, service::SessionRegistry* sessions, const Clock* clock,
              RoundRunnerOptions options);

  absl::Status Prepare();
  // Participants connected now that the cohort filter admits and that hold the right base.
  std::vector<std::shared_ptr<service::SessionHandle>> Eligible() ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<std::shared_ptr<service::SessionHandle>> SampleCohort(
      std::vector<std::shared_ptr<service::SessionHandle>> eligible);
  // Waits until `eligible` reach min_participants (true), or Stop (false).
  bool WaitForCohort();
  // One round; OK whether it committed or aborted. Errors are the store's or the disk's.
  absl::Status RunRound(std::vector<std::shared_ptr<service::SessionHandle>> cohort);
  absl::StatusOr<std::shared_ptr<ActiveRound>> StartRound(
      std::vector<std::shared_ptr<service::SessionHandle>> cohort);
  // Waits until the round's current phase awaits no one who is still there, the deadline
  // passes, or Stop.
  void WaitPhase(ActiveRound& round, absl::Time deadline);
  // The round's record: identity, times, counts, bytes and each member's status.
  store::RoundRecord RecordOf(ActiveRound& round, const std::string& outcome,
                              const std::vector<uint32_t>& included) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status CommitAborted(ActiveRound& round, const std::string& reason);
  absl::Status CommitCompleted(ActiveRound& round, const std::vector<uint32_t>& sum,
                               const std::vector<uint32_t>& included);
  void Broadcast(ActiveRound& round, const v1::ServerMessage& message);
  void Refuse(const std::shared_ptr<service::SessionHandle>& session, const absl::Status& status);
  std::shared_ptr<ActiveRound> Current() const ABSL_LOCKS_EXCLUDED(mu_);
  // Records a version's adapter file, and its lora_B-only copy when just written (a version
  // read from the store has its copy looked up on first use).
  void AddAdapterFileLocked(const store::AdapterRecord& record,
                            const WrittenAdapter* written = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The version's lora_B-only copy, if it has one.
  std::optional<service::AdapterFile> LoraBFileLocked(uint64_t version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  store::Store* const store_;
  service::SessionRegistry* const sessions_;
  const Clock* const clock_;
  const RoundRunnerOptions options_;

  // Set by Prepare, then used by the Run thread only (and read-only by FindAdapter).
  ml::ModelConfig model_;
  std::string base_sha256_;  // 32 bytes
  store::ExperimentRecord experiment_;
  GlobalAdapter adapter_;
  int committed_ = 0;       // rounds committed in this experiment
  int attempted_ = 0;       // rounds recorded (committed or aborted)

  mutable absl::Mutex mu_;
  absl::CondVar changed_;  // a message, session or upload arrived; or Stop
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<ActiveRound> active_ ABSL_GUARDED_BY(mu_);
  v1::AdapterVersion latest_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, service::AdapterFile> adapters_ ABSL_GUARDED_BY(mu_);
  // The lora_B-only copies' identities, hashed on first use (versions written before the
  // copies existed have none).
  std::map<uint64_t, std::optional<service::AdapterFile>> lora_b_adapters_ ABSL_GUARDED_BY(mu_);
  int rounds_committed_total_ ABSL_GUARDED_BY(mu_) = 0;
  // The session of each participant whose Hello offered this experiment's base model: only
  // those are invited.
  std::map<std::string, std::weak_ptr<service::SessionHandle>> ready_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> last_round_of_ ABSL_GUARDED_BY(mu_);  // for round_robin
  int busy_slots_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tontine::round

#endif  // TONTINE_SERVER_ROUND_ROUND_RUNNER_H_
