// `tontine-client join`: the participant's side of the federation (DESIGN.md §4).
//
// A Participant keeps one Session with the coordinator, reconnecting with exponential
// back-off and jitter when it breaks, and takes part in every round it is invited to:
//   invitation → check the base model → accept → AdvertiseKeys (at once) and, meanwhile,
//   fetch the global adapter (resumable, SHA-256 checked) and let the UpdateProducer evaluate
//   and train → ShareKeys → (MaskedInputRequest) → encode, mask, upload in chunks (resumed
//   from the coordinator's offset after a failure) → Unmask → RoundResult.
// A round that is cancelled, aborted, or outlived by its session is dropped and training is
// stopped between steps. Every message sent is first appended to the transparency log.
// Each phase change is reported to a ParticipantObserver (the status line; logged when there
// is none). A ResourceGovernor, when given, makes the client decline invitations while it is
// paused (on battery, daily CPU budget used) and stop training when a pause begins mid-round,
// leaving the round with ClientAbort reason "PAUSED"; it is charged the rounds' CPU time.
//
// The producer is the only part that sees the contributor's text; it is LibTorch code in the
// client binary, and a synthetic vector in tests and benchmarks. This file has no LibTorch.
#ifndef TONTINE_CLIENT_RUNNER_PARTICIPANT_H_
#define TONTINE_CLIENT_RUNNER_PARTICIPANT_H_

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/runner/enrolment.h"
#include "client/runner/participant_events.h"
#include "client/runner/resource_governor.h"
#include "client/runner/transparency_log.h"
#include "client/transport/coordinator_client.h"
#include "common/update/update_vector.h"
#include "tontine/v1/round.pb.h"

namespace tontine::runner {

// What the producer returns for one round.
struct LocalUpdate {
  // The trained tensors' change (new − incoming), in canonical order: delta_words floats.
  std::vector<float> deltas;
  // Training tokens this participant holds (for token weighting).
  uint64_t training_tokens = 0;
  // Held-out metrics of the incoming adapter, for the participant's own bucket.
  update::BucketMetrics held_out;
  // Local steps taken; fewer than the task's when training stopped at `train_until`.
  int steps_done = 0;
  bool stopped_at_deadline = false;
};

struct ProduceContext {
  const v1::RoundInvitation* invitation = nullptr;
  // The incoming global adapter: a PEFT directory (adapter_config.json written from the
  // task, adapter_model.safetensors as downloaded and verified).
  std::filesystem::path adapter_dir;
  // Polled between steps: true once the round is gone.
  std::function<bool()> should_abort;
  // Training stops after the step during which this passes, and the update so far is
  // returned (stopped_at_deadline), so that it still reaches the round before its deadline.
  absl::Time train_until = absl::InfiniteFuture();
  // Called once evaluation of the incoming adapter is done and training starts.
  std::function<void()> on_training_started;
  // Called after each local step: step/steps, loss, tokens/s, ETA.
  std::function<void(const ProgressUpdate&)> on_step;
};

class UpdateProducer {
 public:
  virtual ~UpdateProducer() = default;
  // SHA-256 (32 bytes) of the base model the producer trains on.
  virtual std::string BaseModelSha256() const = 0;
  // Evaluates the incoming adapter on the held-out split, trains, returns the update.
  // CANCELLED when should_abort stopped it.
  virtual absl::StatusOr<LocalUpdate> Produce(const ProduceContext& context) = 0;
};

// Where a simulated dropout kills the client (the hidden --drop-at flags).
enum class DropPoint { kNone, kAdvertiseKeys, kShareKeys, kTraining, kMaskedInput, kUnmask };
absl::StatusOr<DropPoint> ParseDropPoint(absl::string_view name);

struct ParticipantOptions {
  ClientIdentity identity;
  std::string address;  // "" = the enrolment address
  std::filesystem::path state_dir;
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(1);
  int secagg_threads = 1;
  uint32_t threads_offered = 1;
  uint64_t memory_limit_mib = 0;
  // Borrowed, may be null; each must outlive the Participant.
  ParticipantObserver* observer = nullptr;
  ResourceGovernor* governor = nullptr;
  // Test hooks, never set in production:
  // kill the process (SIGKILL) at `drop_at` with probability `drop_probability` per round,
  // drawn from (drop_seed, round id, participant id);
  DropPoint drop_at = DropPoint::kNone;
  double drop_probability = 0;
  uint64_t drop_seed = 0;
  // write each round's unmasked update vector to <dump_inputs_dir>/round-<id>-<participant>.input;
  std::filesystem::path dump_inputs_dir;
  // keep a copy of every message sent (TransparencyLog's capture_dir).
  std::filesystem::path capture_dir;
};

// Sets the simulated-dropout hook from the hidden --drop-at / --drop-probability /
// --drop-seed flags; nothing when `drop_at` is empty. INVALID_ARGUMENT for an unknown point.
absl::Status ApplyDropFlags(const std::string& drop_at, double probability, uint64_t seed,
                            ParticipantOptions& options);

// Safe to Stop() from any thread.
class Participant {
 public:
  // `producer` must outlive the participant.
  Participant(ParticipantOptions options, UpdateProducer* producer);
  ~Participant();

  // Connects and takes part in rounds until Stop() (OK) or an error that retrying cannot
  // fix: UNAUTHENTICATED (credential revoked or unknown), FAILED_PRECONDITION for a protocol
  // or base model the coordinator refuses.
  absl::Status Run();
  void Stop();

  // Run() until it ends by itself or one of `signals` (blocked in every thread, see
  // BlockTerminationSignals in common/base/cli.h) arrives, which stops it.
  absl::Status RunUntilSignalled(const sigset_t& signals);

  // Rounds this participant saw commit with its update included, for tests and benchmarks.
  int rounds_committed() const { return rounds_committed_.load(); }

 private:
  class Round;
  // One session: Hello, then messages until the stream ends. Returns the stream's status.
  absl::Status RunSession(bool& welcomed);
  bool Send(transport::SessionStream& stream, const v1::ClientMessage& message, uint64_t round);
  void RunRound(std::shared_ptr<Round> round, transport::SessionStream* stream);
  absl::Status FetchAdapter(const v1::RoundInvitation& invitation,
                            const std::filesystem::path& dir);
  absl::Status Upload(const Round& round, const std::vector<uint32_t>& masked);
  void MaybeDrop(DropPoint point, uint64_t round_id) const;
  void Report(ParticipantPhase phase, uint64_t round = 0, std::string detail = "");
  // Reports kWaiting or kPaused (with the governor's reason); with `only_if_changed`, only
  // when that differs from what was last reported this way.
  void ReportIdle(bool only_if_changed);

  const ParticipantOptions options_;
  UpdateProducer* const producer_;
  std::unique_ptr<transport::CoordinatorClient> client_;
  TransparencyLog log_;
  std::atomic<int> rounds_committed_{0};
  std::atomic<bool> in_round_{false};

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  transport::SessionStream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;
  // What ReportIdle last reported: nullopt before any, else whether paused.
  std::optional<bool> idle_paused_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tontine::runner

#endif  // TONTINE_CLIENT_RUNNER_PARTICIPANT_H_
