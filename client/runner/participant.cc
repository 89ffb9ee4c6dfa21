#include "client/runner/participant.h"

#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <fstream>
#include <random>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/cli.h"
#include "common/base/encoding.h"
#include "common/base/files.h"
#include "common/base/splitmix.h"
#include "common/base/status_macros.h"
#include "common/base/units.h"
#include "common/base/version.h"
#include "common/crypto/sha256.h"
#include "common/secagg/client.h"
#include "common/update/peft_format.h"
#include "common/update/quantize.h"
#include "proto/wire_status.h"
#include "spdlog/spdlog.h"

namespace tontine::runner {
namespace {

namespace fs = std::filesystem;

// Words per upload chunk: 1 MiB of data, well under the 4 MiB per-chunk limit.
constexpr uint64_t kChunkWords = 1u << 18;
constexpr int kUploadAttempts = 20;

const char* ClientMessageName(const v1::ClientMessage& message) {
  switch (message.payload_case()) {
    case v1::ClientMessage::kHello: return "Hello";
    case v1::ClientMessage::kHeartbeat: return "Heartbeat";
    case v1::ClientMessage::kRoundResponse: return "RoundResponse";
    case v1::ClientMessage::kAdvertiseKeys: return "AdvertiseKeys";
    case v1::ClientMessage::kShareKeys: return "ShareKeys";
    case v1::ClientMessage::kUnmaskResponse: return "UnmaskResponse";
    case v1::ClientMessage::kAbort: return "ClientAbort";
    case v1::ClientMessage::kProgress: return "TrainingProgress";
    default: return "Unknown";
  }
}

uint64_t RoundOf(const v1::ServerMessage& message) {
  switch (message.payload_case()) {
    case v1::ServerMessage::kInvitation: return message.invitation().round_id();
    case v1::ServerMessage::kShareKeysRequest: return message.share_keys_request().round_id();
    case v1::ServerMessage::kMaskedInputRequest: return message.masked_input_request().round_id();
    case v1::ServerMessage::kUnmaskRequest: return message.unmask_request().round_id();
    case v1::ServerMessage::kRoundResult: return message.round_result().round_id();
    case v1::ServerMessage::kRoundCancelled: return message.round_cancelled().round_id();
    default: return 0;
  }
}

}  // namespace

absl::StatusOr<DropPoint> ParseDropPoint(absl::string_view name) {
  if (name == "advertise_keys") return DropPoint::kAdvertiseKeys;
  if (name == "share_keys") return DropPoint::kShareKeys;
  if (name == "training") return DropPoint::kTraining;
  if (name == "masked_input") return DropPoint::kMaskedInput;
  if (name == "unmask") return DropPoint::kUnmask;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown drop point '", name,
      "'; use advertise_keys, share_keys, training, masked_input or unmask"));
}

absl::Status ApplyDropFlags(const std::string& drop_at, double probability, uint64_t seed,
                            ParticipantOptions& options) {
  if (drop_at.empty()) return absl::OkStatus();
  TONTINE_ASSIGN_OR_RETURN(options.drop_at, ParseDropPoint(drop_at));
  options.drop_probability = probability;
  options.drop_seed = seed;
  return absl::OkStatus();
}

// One round in flight: the messages that arrived for it, and whether it is over.
class Participant::Round {
 public:
  explicit Round(v1::RoundInvitation invitation)
      : invitation(std::move(invitation)), received(absl::Now()) {}

  const v1::RoundInvitation invitation;
  const absl::Time received;

  // When the coordinator stops taking masked updates (its clock started a little before
  // ours: the invitation's time in flight is on the safe side of this).
  absl::Time masked_input_deadline() const {
    const uint64_t ms = invitation.masked_input_deadline_ms();
    return ms == 0 ? absl::InfiniteFuture() : received + absl::Milliseconds(ms);
  }
  // When training stops so that masking and the upload still make the deadline: a tenth of
  // the masked-input window (at least 5 s), but never more than a quarter of it.
  absl::Time train_until() const {
    const uint64_t ms = invitation.masked_input_deadline_ms();
    if (ms == 0) return absl::InfiniteFuture();
    const absl::Duration window = absl::Milliseconds(ms);
    return masked_input_deadline() - std::min(window / 4, std::max(window / 10, absl::Seconds(5)));
  }

  void Push(v1::ServerMessage message) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(message));
    cv_.notify_all();
  }
  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  bool cancelled() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }
  void Trained(absl::StatusOr<LocalUpdate> update) {
    std::lock_guard<std::mutex> lock(mu_);
    update_ = std::move(update);
    cv_.notify_all();
  }
  // The next message for the round; once cancelled, only a RoundResult still queued, then
  // nullopt. When `wake_on_training` is set, also returns (nullopt) as soon as training
  // finished: check TakeUpdate.
  std::optional<v1::ServerMessage> Next(bool wake_on_training) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] {
      return cancelled_ || !queue_.empty() || (wake_on_training && update_.has_value());
    });
    if (cancelled_) {
      // The round's result may have arrived just before the next invitation cancelled the
      // round: it still says how the round ended.
      for (v1::ServerMessage& m : queue_) {
        if (m.has_round_result()) return std::exchange(m, v1::ServerMessage());
      }
      return std::nullopt;
    }
    if (queue_.empty()) return std::nullopt;
    v1::ServerMessage message = std::move(queue_.front());
    queue_.pop_front();
    return message;
  }
  // Why training was stopped for a pause (on battery, CPU budget used), if it was.
  void Pause(std::string reason) {
    std::lock_guard<std::mutex> lock(mu_);
    paused_ = std::move(reason);
  }
  std::optional<std::string> paused() const {
    std::lock_guard<std::mutex> lock(mu_);
    return paused_;
  }
  std::optional<absl::StatusOr<LocalUpdate>> TakeUpdate() {
    std::lock_guard<std::mutex> lock(mu_);
    auto out = std::move(update_);
    update_.reset();
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::ServerMessage> queue_;
  bool cancelled_ = false;
  std::optional<std::string> paused_;
  std::optional<absl::StatusOr<LocalUpdate>> update_;
};

Participant::Participant(ParticipantOptions options, UpdateProducer* producer)
    : options_(std::move(options)),
      producer_(producer),
      client_(transport::CoordinatorClient::Create(options_.identity.Channel(options_.address))),
      log_(options_.state_dir / kTransparencyLogFile, options_.capture_dir) {}

Participant::~Participant() = default;

void Participant::Stop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  if (stream_ != nullptr) stream_->Cancel();
}

void Participant::MaybeDrop(DropPoint point, uint64_t round_id) const {
  if (options_.drop_at != point || options_.drop_probability <= 0) return;
  uint64_t h = SplitMix64(options_.drop_seed ^ SplitMix64(round_id));
  for (char c : options_.identity.participant_id) h = SplitMix64(h ^ static_cast<uint8_t>(c));
  const double u = static_cast<double>(h >> 11) * 0x1.0p-53;
  if (u < options_.drop_probability) {
    spdlog::warn("simulated dropout: killing this client in round {}", round_id);
    ::raise(SIGKILL);
  }
}

void Participant::Report(ParticipantPhase phase, uint64_t round, std::string detail) {
  PhaseEvent event{phase, round, std::move(detail)};
  if (options_.observer != nullptr) return options_.observer->OnPhase(event);
  const bool bad = phase == ParticipantPhase::kDisconnected ||
                   phase == ParticipantPhase::kRoundDropped || phase == ParticipantPhase::kDeclined;
  spdlog::log(bad ? spdlog::level::warn : spdlog::level::info, "{}", DescribePhase(event));
}

void Participant::ReportIdle(bool only_if_changed) {
  std::optional<std::string> reason;
  if (options_.governor != nullptr) reason = options_.governor->PauseReason();
  {
    absl::MutexLock lock(&mu_);
    if (only_if_changed && idle_paused_ == reason.has_value()) return;
    idle_paused_ = reason.has_value();
  }
  if (reason.has_value()) return Report(ParticipantPhase::kPaused, 0, *reason);
  Report(ParticipantPhase::kWaiting);
}

bool Participant::Send(transport::SessionStream& stream, const v1::ClientMessage& message,
                       uint64_t round) {
  if (absl::Status st = log_.Record("Session", ClientMessageName(message), round, message);
      !st.ok()) {
    spdlog::error("not sending {}: {}", ClientMessageName(message), st.ToString());
    return false;
  }
  return stream.Write(message);
}

absl::Status Participant::RunUntilSignalled(const sigset_t& signals) {
  std::thread stopper([&] {
    if (const int signal_number = WaitForSignal(signals); signal_number != SIGUSR1) {
      spdlog::info("received signal {}; leaving", signal_number);
    }
    Stop();
  });
  absl::Status status = Run();
  kill(getpid(), SIGUSR1);  // wakes the stopper when Run ended by itself
  stopper.join();
  return status;
}

absl::Status Participant::Run() {
  absl::Duration backoff = options_.initial_backoff;
  std::mt19937_64 rng(std::random_device{}());
  while (true) {
    bool welcomed = false;
    absl::Status status = RunSession(welcomed);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return absl::OkStatus();
    }
    if (absl::IsUnauthenticated(status) || absl::IsFailedPrecondition(status)) return status;
    if (welcomed) backoff = options_.initial_backoff;
    // A fresh channel for the next attempt: one whose connection broke mid-handshake can keep
    // failing handshakes against a coordinator that has restarted on the same port.
    client_ = transport::CoordinatorClient::Create(options_.identity.Channel(options_.address));
    // Full jitter over the upper half: a fleet of laptops does not reconnect in lock step.
    const double jitter = std::uniform_real_distribution<double>(0.5, 1.0)(rng);
    const absl::Duration wait = backoff * jitter;
    Report(ParticipantPhase::kDisconnected, 0,
           absl::StrCat(DescribeStatus(status), "; reconnecting in ",
                        absl::FormatDuration(absl::Milliseconds(absl::ToInt64Milliseconds(wait)))));
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping), wait)) return absl::OkStatus();
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status Participant::RunSession(bool& welcomed) {
  std::unique_ptr<transport::SessionStream> stream = client_->OpenSession();
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::OkStatus();
    stream_ = stream.get();
    idle_paused_.reset();
  }
  Report(ParticipantPhase::kConnecting, 0,
         options_.address.empty() ? options_.identity.coordinator : options_.address);
  v1::ClientMessage hello_message;
  v1::Hello& hello = *hello_message.mutable_hello();
  hello.set_protocol_version(kProtocolVersion);
  hello.set_client_version(kVersion);
  hello.set_base_model_sha256(producer_->BaseModelSha256());
  hello.add_prgs(v1::PRG_ALGORITHM_AES256_CTR);
  hello.add_prgs(v1::PRG_ALGORITHM_CHACHA20);
  hello.set_threads(options_.threads_offered);
  hello.set_memory_limit_mib(options_.memory_limit_mib);
  Send(*stream, hello_message, 0);

  std::shared_ptr<Round> round;
  std::thread round_thread;
  std::thread heartbeat;
  std::mutex heartbeat_mu;
  std::condition_variable heartbeat_cv;
  bool session_over = false;
  auto end_round = [&] {
    if (round != nullptr) round->Cancel();
    if (round_thread.joinable()) round_thread.join();
    round.reset();
  };

  v1::ServerMessage message;
  while (stream->Read(&message)) {
    if (message.has_welcome()) {
      welcomed = true;
      const v1::Welcome& welcome = message.welcome();
      Report(ParticipantPhase::kConnected, 0,
             absl::StrCat("as ", welcome.participant_id(), " to coordinator ",
                          welcome.coordinator_version(), ", experiment '", welcome.experiment(),
                          "'"));
      ReportIdle(/*only_if_changed=*/false);
      const auto interval = std::chrono::milliseconds(
          std::max<uint64_t>(1000, welcome.heartbeat_interval_ms()));
      heartbeat = std::thread([&, interval, stream_ptr = stream.get()] {
        std::unique_lock<std::mutex> lock(heartbeat_mu);
        while (!heartbeat_cv.wait_for(lock, interval, [&] { return session_over; })) {
          v1::ClientMessage beat;
          beat.mutable_heartbeat()->set_sent_unix_ms(
              static_cast<uint64_t>(absl::ToUnixMillis(absl::Now())));
          Send(*stream_ptr, beat, 0);
          // Between rounds, show when a pause begins or ends (power plugged in, a new day).
          if (!in_round_.load()) ReportIdle(/*only_if_changed=*/true);
        }
      });
      continue;
    }
    if (message.has_refused()) {
      spdlog::warn("the coordinator refused a message: {} {}", message.refused().code(),
                   message.refused().message());
      continue;
    }
    if (message.has_invitation()) {
      // A new invitation supersedes any round still in flight (the coordinator moved on).
      end_round();
      round = std::make_shared<Round>(message.invitation());
      round_thread = std::thread(&Participant::RunRound, this, round, stream.get());
      continue;
    }
    if (round != nullptr && RoundOf(message) == round->invitation.round_id()) {
      round->Push(message);
    }
  }
  end_round();
  {
    std::lock_guard<std::mutex> lock(heartbeat_mu);
    session_over = true;
  }
  heartbeat_cv.notify_all();
  if (heartbeat.joinable()) heartbeat.join();
  {
    absl::MutexLock lock(&mu_);
    stream_ = nullptr;
  }
  return client_->Convert(stream->Finish());
}

absl::Status Participant::FetchAdapter(const v1::RoundInvitation& invitation, const fs::path& dir) {
  // Under ffa the coordinator offers the version without its lora_A tensors (half the
  // bytes); the producer rebuilds A from the task's seed.
  const bool lora_b_only = invitation.adapter_lora_b().size_bytes() > 0;
  const v1::AdapterVersion& version =
      lora_b_only ? invitation.adapter_lora_b() : invitation.adapter();
  const char* const file_name = lora_b_only ? update::kLoraBWeightsFile : update::kPeftWeightsFile;
  const fs::path file = dir / file_name;
  std::error_code ec;
  if (fs::exists(file, ec)) {
    absl::StatusOr<std::string> held = crypto::Sha256File(file);
    if (held.ok() && *held == version.sha256()) return absl::OkStatus();
  }
  Report(ParticipantPhase::kDownloading, invitation.round_id(),
         absl::StrCat("v", version.version(), ", ", FormatByteSize(version.size_bytes())));
  TONTINE_RETURN_IF_ERROR(MakeDirs(dir));
  update::LoraSpec spec;
  const v1::AdapterSpec& wire = invitation.task().adapter();
  spec.rank = wire.rank();
  spec.alpha = wire.alpha();
  spec.dropout = wire.dropout();
  spec.target_modules.assign(wire.target_modules().begin(), wire.target_modules().end());
  TONTINE_RETURN_IF_ERROR(
      WriteFileAtomic(dir / update::kPeftConfigFile, update::PeftConfigJson(spec)));
  const fs::path partial = dir / (std::string(file_name) + ".partial");
  // Resume from what an interrupted download left.
  uint64_t have = fs::exists(partial, ec) ? fs::file_size(partial, ec) : 0;
  if (ec || have > version.size_bytes()) have = 0;
  for (int attempt = 0; have < version.size_bytes() || attempt == 0; ++attempt) {
    std::ofstream out(partial, have == 0 ? std::ios::binary | std::ios::trunc
                                         : std::ios::binary | std::ios::app);
    v1::DownloadAdapterRequest request;  // recorded for the transparency log
    request.set_version(version.version());
    request.set_offset_bytes(have);
    request.set_lora_b_only(lora_b_only);
    TONTINE_RETURN_IF_ERROR(log_.Record("DownloadAdapter", "DownloadAdapterRequest",
                                        invitation.round_id(), request));
    absl::Status status = client_->DownloadAdapter(
        request, [&](const v1::AdapterChunk& chunk) -> absl::Status {
          if (chunk.offset_bytes() != have || chunk.adapter().sha256() != version.sha256()) {
            return absl::DataLossError("the adapter download went out of order");
          }
          out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
          have += chunk.data().size();
          return out ? absl::OkStatus()
                     : absl::InternalError(absl::StrCat("cannot write ", partial.string()));
        });
    out.close();
    if (status.ok() || attempt >= 4) {
      TONTINE_RETURN_IF_ERROR(status);
      break;
    }
    spdlog::warn("adapter download interrupted at {} bytes ({}); resuming", have,
                 DescribeStatus(status));
  }
  TONTINE_ASSIGN_OR_RETURN(std::string digest, crypto::Sha256File(partial));
  if (digest != version.sha256()) {
    fs::remove(partial, ec);
    return absl::DataLossError(absl::StrCat("adapter v", version.version(),
                                            " does not match its SHA-256; discarded"));
  }
  fs::rename(partial, file, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot move ", partial.string(), ": ", ec.message()));
  return absl::OkStatus();
}

absl::Status Participant::Upload(const Round& round, const std::vector<uint32_t>& masked) {
  const uint64_t round_id = round.invitation.round_id();
  TONTINE_ASSIGN_OR_RETURN(
      std::string digest,
      crypto::Sha256Digest(absl::string_view(reinterpret_cast<const char*>(masked.data()),
                                             masked.size() * sizeof(uint32_t))));
  uint64_t offset = 0;
  absl::Status last;
  const absl::Time deadline = round.masked_input_deadline();
  for (int attempt = 0; attempt < kUploadAttempts && !round.cancelled(); ++attempt) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the masked-input deadline of round ", round_id, " passed before the upload finished"));
    }
    bool first = true;
    absl::Status logged;
    absl::StatusOr<v1::UploadReceipt> receipt = client_->UploadMaskedUpdate(
        round_id, masked, offset, kChunkWords, digest, [&](const v1::MaskedUpdateChunk& chunk) {
          if (absl::Status st = log_.Record("UploadMaskedUpdate", "MaskedUpdateChunk", round_id,
                                            chunk);
              !st.ok()) {
            logged = st;
          }
          // Mid-upload: before the second chunk, or before the only one.
          if (!first || !chunk.sha256().empty()) MaybeDrop(DropPoint::kMaskedInput, round_id);
          first = false;
        },
        // Waiting at the coordinator's upload gate counts against the deadline too.
        std::max(deadline - absl::Now(), absl::Seconds(1)));
    TONTINE_RETURN_IF_ERROR(logged);
    if (receipt.ok() && receipt->complete()) return absl::OkStatus();
    last = receipt.ok() ? absl::DataLossError("the upload ended incomplete") : receipt.status();
    const std::optional<v1::ErrorDetail> detail = GetErrorDetail(last);
    if (!absl::IsUnavailable(last) && !absl::IsDeadlineExceeded(last) &&
        !(receipt.ok() && !receipt->complete())) {
      return last;  // the coordinator refused the update: retrying sends the same
    }
    const int64_t wait_ms = detail && detail->retry_after_ms() > 0 ? detail->retry_after_ms()
                                                                   : 200 * (attempt + 1);
    absl::SleepFor(absl::Milliseconds(wait_ms));
    v1::GetUploadStatusRequest status_request;
    status_request.set_round_id(round_id);
    TONTINE_RETURN_IF_ERROR(
        log_.Record("GetUploadStatus", "GetUploadStatusRequest", round_id, status_request));
    absl::StatusOr<v1::UploadReceipt> held = client_->GetUploadStatus(round_id);
    offset = held.ok() ? held->received_words() : 0;
  }
  return last;
}

void Participant::RunRound(std::shared_ptr<Round> round, transport::SessionStream* stream) {
  const v1::RoundInvitation& invitation = round->invitation;
  const uint64_t round_id = invitation.round_id();
  in_round_ = true;
  // Whatever way the round ends: its CPU time is charged, and the client is idle again.
  struct EndOfRound {
    Participant& p;
    bool started = false;
    bool report_idle = true;  // not when the session ended or a new invitation came
    ~EndOfRound() {
      if (started && p.options_.governor != nullptr) {
        if (absl::Status st = p.options_.governor->EndRound(); !st.ok()) {
          spdlog::error("cannot record the round's CPU time: {}", st.ToString());
        }
      }
      p.in_round_ = false;
      if (report_idle) p.ReportIdle(/*only_if_changed=*/false);
    }
  } end_of_round{*this};
  Report(ParticipantPhase::kInvited, round_id,
         absl::StrCat("index ", invitation.cohort_index(), " of ",
                      invitation.secagg().cohort_size()));
  auto abort = [&](v1::RoundPhase phase, absl::string_view reason, const absl::Status& why) {
    spdlog::warn("leaving round {}: {}", round_id, DescribeStatus(why));
    Report(ParticipantPhase::kRoundDropped, round_id, DescribeStatus(why));
    v1::ClientMessage message;
    v1::ClientAbort& a = *message.mutable_abort();
    a.set_round_id(round_id);
    a.set_phase(phase);
    a.set_reason(std::string(reason));
    a.set_message(std::string(why.message()));
    Send(*stream, message, round_id);
  };

  v1::ClientMessage response;
  response.mutable_round_response()->set_round_id(round_id);
  if (invitation.base_model_sha256() != producer_->BaseModelSha256()) {
    response.mutable_round_response()->set_accept(false);
    response.mutable_round_response()->set_decline_reason("BASE_MODEL_MISMATCH");
    spdlog::error("round {} uses base model {}; this client holds {}", round_id,
                  HexEncode(invitation.base_model_sha256()),
                  HexEncode(producer_->BaseModelSha256()));
    Send(*stream, response, round_id);
    Report(ParticipantPhase::kDeclined, round_id, "another base model");
    return;
  }
  if (options_.governor != nullptr) {
    if (std::optional<std::string> pause = options_.governor->PauseReason()) {
      response.mutable_round_response()->set_accept(false);
      response.mutable_round_response()->set_decline_reason(*pause);
      Send(*stream, response, round_id);
      Report(ParticipantPhase::kDeclined, round_id, *pause);
      return;
    }
  }
  absl::StatusOr<std::unique_ptr<secagg::SecAggClient>> created = secagg::SecAggClient::Create(
      round_id, invitation.cohort_index(), invitation.secagg(), options_.secagg_threads);
  if (!created.ok()) {
    response.mutable_round_response()->set_accept(false);
    response.mutable_round_response()->set_decline_reason(std::string(created.status().message()));
    Send(*stream, response, round_id);
    Report(ParticipantPhase::kDeclined, round_id, std::string(created.status().message()));
    return;
  }
  secagg::SecAggClient& secagg = **created;
  response.mutable_round_response()->set_accept(true);
  Send(*stream, response, round_id);
  if (options_.governor != nullptr) options_.governor->StartRound();
  end_of_round.started = true;

  MaybeDrop(DropPoint::kAdvertiseKeys, round_id);
  absl::StatusOr<v1::AdvertiseKeys> keys = secagg.AdvertiseKeys();
  if (!keys.ok()) return abort(v1::ROUND_PHASE_ADVERTISE_KEYS, "INTERNAL", keys.status());
  v1::ClientMessage advertise;
  *advertise.mutable_advertise_keys() = *keys;
  Send(*stream, advertise, round_id);

  // Training runs beside the key exchange.
  std::thread trainer([this, round, stream] {
    const v1::RoundInvitation& inv = round->invitation;
    const fs::path dir =
        options_.state_dir / "adapters" / absl::StrCat("v", inv.adapter().version());
    if (absl::Status st = FetchAdapter(inv, dir); !st.ok()) return round->Trained(st);
    Report(ParticipantPhase::kEvaluating, inv.round_id());
    ProduceContext context;
    context.invitation = &inv;
    context.adapter_dir = dir;
    context.should_abort = [this, round] {
      if (round->cancelled()) return true;
      if (options_.governor == nullptr) return false;
      std::optional<std::string> pause = options_.governor->PauseReason();
      if (pause.has_value()) round->Pause(*pause);
      return pause.has_value();
    };
    context.train_until = round->train_until();
    context.on_training_started = [this, round_id = inv.round_id()] {
      Report(ParticipantPhase::kTraining, round_id);
    };
    context.on_step = [&, round_id = inv.round_id()](const ProgressUpdate& step) {
      if (step.step == 1) MaybeDrop(DropPoint::kTraining, round_id);
      if (options_.observer != nullptr) options_.observer->OnTrainingStep(round_id, step);
      if (options_.governor != nullptr) {
        if (absl::Status st = options_.governor->Tick(); !st.ok()) {
          spdlog::error("cannot record CPU time: {}", st.ToString());
        }
      }
      v1::ClientMessage progress;
      progress.mutable_progress()->set_round_id(round_id);
      progress.mutable_progress()->set_steps_done(static_cast<uint32_t>(step.step));
      progress.mutable_progress()->set_steps_total(static_cast<uint32_t>(step.steps));
      Send(*stream, progress, round_id);
    };
    round->Trained(producer_->Produce(context));
  });
  struct JoinOnExit {
    std::thread& t;
    Round& r;
    ~JoinOnExit() {
      r.Cancel();
      t.join();
    }
  } join_trainer{trainer, *round};

  std::optional<LocalUpdate> update;
  bool masked_input_requested = false;
  bool uploaded = false;
  while (true) {
    std::optional<v1::ServerMessage> message = round->Next(/*wake_on_training=*/!update);
    if (!message.has_value()) {
      if (round->cancelled()) {
        end_of_round.report_idle = false;
        return Report(ParticipantPhase::kRoundDropped, round_id,
                      "the session ended or a new round began");
      }
      std::optional<absl::StatusOr<LocalUpdate>> trained = round->TakeUpdate();
      if (!trained.has_value()) continue;
      if (!trained->ok()) {
        if (std::optional<std::string> pause = round->paused()) {
          return abort(v1::ROUND_PHASE_MASKED_INPUT, "PAUSED",
                       absl::CancelledError(absl::StrCat("training stopped: ", *pause)));
        }
        return abort(v1::ROUND_PHASE_MASKED_INPUT, "TRAINING_FAILED", trained->status());
      }
      update = std::move(**trained);
      if (update->stopped_at_deadline) {
        spdlog::warn("round {}: training stopped after {} of {} steps to meet the round's "
                     "deadline; uploading the update so far",
                     round_id, update->steps_done, invitation.task().local_steps());
      }
    } else {
      switch (message->payload_case()) {
        case v1::ServerMessage::kShareKeysRequest: {
          MaybeDrop(DropPoint::kShareKeys, round_id);
          absl::StatusOr<v1::ShareKeys> shares =
              secagg.HandleShareKeysRequest(message->share_keys_request());
          if (!shares.ok()) {
            return abort(v1::ROUND_PHASE_SHARE_KEYS, "SHARE_KEYS_REFUSED", shares.status());
          }
          v1::ClientMessage out;
          *out.mutable_share_keys() = *shares;
          Send(*stream, out, round_id);
          break;
        }
        case v1::ServerMessage::kMaskedInputRequest: {
          if (absl::Status st = secagg.HandleMaskedInputRequest(message->masked_input_request());
              !st.ok()) {
            return abort(v1::ROUND_PHASE_MASKED_INPUT, "MASKED_INPUT_REFUSED", st);
          }
          masked_input_requested = true;
          break;
        }
        case v1::ServerMessage::kUnmaskRequest: {
          MaybeDrop(DropPoint::kUnmask, round_id);
          Report(ParticipantPhase::kUnmasking, round_id);
          absl::StatusOr<v1::UnmaskResponse> shares =
              secagg.HandleUnmaskRequest(message->unmask_request());
          if (!shares.ok()) return abort(v1::ROUND_PHASE_UNMASK, "UNMASK_REFUSED", shares.status());
          v1::ClientMessage out;
          *out.mutable_unmask_response() = *shares;
          Send(*stream, out, round_id);
          break;
        }
        case v1::ServerMessage::kRoundResult: {
          const v1::RoundResult& result = message->round_result();
          if (result.outcome() == v1::ROUND_OUTCOME_COMMITTED) {
            if (uploaded) ++rounds_committed_;
            Report(ParticipantPhase::kRoundDone, round_id,
                   absl::StrCat("adapter v", result.adapter().version(), " committed; ",
                                result.participants(), " participants, ", result.dropped(),
                                " dropped", uploaded ? "" : "; without this client's update"));
          } else {
            Report(ParticipantPhase::kRoundDropped, round_id,
                   absl::StrCat("the round aborted: ", result.reason()));
          }
          return;
        }
        case v1::ServerMessage::kRoundCancelled:
          Report(ParticipantPhase::kRoundDropped, round_id,
                 absl::StrCat("cancelled: ", message->round_cancelled().message()));
          return;
        default:
          break;
      }
    }
    if (update.has_value() && masked_input_requested && !uploaded) {
      Report(ParticipantPhase::kMasking, round_id);
      const v1::TrainingTask& task = invitation.task();
      update::UpdateLayout layout;
      layout.delta_words = invitation.secagg().delta_words();
      layout.metric_buckets = static_cast<uint32_t>(invitation.metric_buckets_size());
      layout.max_weight = update::RoundMaxWeight(task.uniform_weighting());
      update::QuantizationParams quantization{invitation.secagg().quantisation_bits(),
                                              invitation.secagg().clip_l2(),
                                              invitation.secagg().clip_linf()};
      std::vector<update::BucketMetrics> metrics(layout.metric_buckets);
      if (invitation.metric_bucket() >= 0 &&
          static_cast<uint32_t>(invitation.metric_bucket()) < layout.metric_buckets) {
        metrics[static_cast<size_t>(invitation.metric_bucket())] = update->held_out;
      }
      const uint32_t weight = update::ParticipantWeight(task.uniform_weighting(),
                                                        update->training_tokens, task.max_weight());
      update::QuantizeStats clip;
      absl::StatusOr<std::vector<uint32_t>> input =
          update::EncodeUpdate(update->deltas, weight, metrics, layout, quantization, &clip);
      if (!input.ok()) return abort(v1::ROUND_PHASE_MASKED_INPUT, "ENCODE_FAILED", input.status());
      spdlog::info("round {}: update weight {}, L2 {:.4g} -> {:.4g} after clipping, {} of {} "
                   "coordinates at the L-inf bound",
                   round_id, weight, clip.l2_before, clip.l2_after, clip.clipped_coordinates,
                   update->deltas.size());
      if (!options_.dump_inputs_dir.empty()) {
        const std::string bytes(reinterpret_cast<const char*>(input->data()), input->size() * 4);
        (void)WriteFileAtomic(options_.dump_inputs_dir /
                                  absl::StrCat("round-", round_id, "-",
                                               options_.identity.participant_id, ".input"),
                              bytes);
      }
      absl::StatusOr<std::vector<uint32_t>> masked = secagg.MaskInput(*input);
      if (!masked.ok()) return abort(v1::ROUND_PHASE_MASKED_INPUT, "MASK_FAILED", masked.status());
      Report(ParticipantPhase::kUploading, round_id, FormatByteSize(masked->size() * 4));
      if (absl::Status st = Upload(*round, *masked); !st.ok()) {
        return abort(v1::ROUND_PHASE_MASKED_INPUT, "UPLOAD_FAILED", st);
      }
      uploaded = true;
      spdlog::info("round {}: masked update of {} words uploaded", round_id, masked->size());
    }
  }
}

}  // namespace tontine::runner
