#include "server/round/round_runner.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <span>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/encoding.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/config/base_model.h"
#include "common/crypto/random.h"
#include "common/crypto/sha256.h"
#include "common/safetensors/model_dir.h"
#include "common/secagg/params.h"
#include "common/secagg/server.h"
#include "common/update/quantize.h"
#include "common/update/update_vector.h"
#include "proto/wire_status.h"
#include "spdlog/spdlog.h"

namespace tontine::round {
namespace {

namespace fs = std::filesystem;

// Largest masked-update chunk accepted (transfer.proto).
constexpr size_t kMaxChunkBytes = 4u << 20;
// How long a client waits before retrying an upload refused for lack of a free slot.
constexpr int64_t kSlotRetryMs = 250;
// A partial upload that gets no chunk for this long is dropped and its slot freed: its
// client is gone or stalled, and others are waiting (a resumed upload starts over).
constexpr absl::Duration kUploadIdle = absl::Seconds(30);

uint64_t RoundIdOf(const v1::ClientMessage& message) {
  switch (message.payload_case()) {
    case v1::ClientMessage::kRoundResponse: return message.round_response().round_id();
    case v1::ClientMessage::kAdvertiseKeys: return message.advertise_keys().round_id();
    case v1::ClientMessage::kShareKeys: return message.share_keys().round_id();
    case v1::ClientMessage::kUnmaskResponse: return message.unmask_response().round_id();
    case v1::ClientMessage::kAbort: return message.abort().round_id();
    case v1::ClientMessage::kProgress: return message.progress().round_id();
    default: return 0;
  }
}

bool MatchesFilter(const store::Tags& tags,
                   const std::map<std::string, std::vector<std::string>>& filter) {
  for (const auto& [key, values] : filter) {
    auto it = tags.find(key);
    if (it == tags.end() || std::find(values.begin(), values.end(), it->second) == values.end()) {
      return false;
    }
  }
  return true;
}

v1::PrgAlgorithm PrgOf(config::PrgChoice choice) {
  switch (choice) {
    case config::PrgChoice::kAes256Ctr: return v1::PRG_ALGORITHM_AES256_CTR;
    case config::PrgChoice::kChaCha20: return v1::PRG_ALGORITHM_CHACHA20;
    case config::PrgChoice::kAuto: break;
  }
  return crypto::DefaultPrgAlgorithm() == crypto::PrgAlgorithm::kAes256Ctr
             ? v1::PRG_ALGORITHM_AES256_CTR
             : v1::PRG_ALGORITHM_CHACHA20;
}

int64_t Millis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

// Whether the --debug-crash-at hook ("phase" or "phase@round-number", default round 1) asks
// for a crash at `phase` of round `number`.
bool CrashRequested(const std::string& hook, absl::string_view phase, int number) {
  if (hook.empty()) return false;
  const size_t at = hook.find('@');
  const int wanted = at == std::string::npos ? 1 : std::atoi(hook.c_str() + at + 1);
  return hook.substr(0, at) == phase && wanted == number;
}

double MacroPerplexity(const std::vector<update::BucketMetrics>& metrics) {
  double sum = 0;
  int count = 0;
  for (const update::BucketMetrics& m : metrics) {
    if (m.tokens == 0) continue;
    sum += std::exp(m.nll_sum / static_cast<double>(m.tokens));
    ++count;
  }
  return count == 0 ? 0 : sum / count;
}

}  // namespace

// ---- ActiveRound ----

struct Member {
  std::string participant_id;
  std::shared_ptr<service::SessionHandle> session;
  bool gone = false;       // the session ended or the client aborted the round
  bool declined = false;   // answered the invitation with accept = false
  std::string dropped_at;  // the phase it was still awaited in when that phase closed
};

struct Upload {
  // The vector's words, not zeroed first (each is written once, in order, before use).
  std::unique_ptr<uint32_t[]> words;
  uint64_t received = 0;  // words
  absl::Time last_chunk;
};

// Everything about the round in flight. Constant after StartRound except where noted; the
// runner's mu_ guards `phase`, members' flags and `uploads`.
class ActiveRound final : public secagg::ParticipantSender {
 public:
  uint64_t id = 0;
  int number = 0;
  absl::Time started;
  v1::RoundPhase phase = v1::ROUND_PHASE_INVITATION;
  v1::SecAggParameters params;
  update::UpdateLayout layout;
  update::QuantizationParams quantization;
  v1::TrainedMatrices trained = v1::TRAINED_MATRICES_B;
  std::vector<std::string> trained_names;
  std::vector<std::string> buckets;
  uint64_t adapter_version = 0;  // the incoming adapter
  std::vector<Member> members;
  std::map<std::string, uint32_t> index_of;
  std::unique_ptr<secagg::SecAggServer> secagg;
  std::map<uint32_t, Upload> uploads;
  std::atomic<uint64_t> bytes_up{0};
  std::atomic<uint64_t> bytes_down{0};

  void Send(uint32_t index, v1::ServerMessage message) override {
    bytes_down += message.ByteSizeLong();
    members[index].session->Send(std::move(message));
  }
};

// ---- set-up ----

RoundRunner::RoundRunner(store::Store* store, service::SessionRegistry* sessions,
                         const Clock* clock, RoundRunnerOptions options)
    : store_(store), sessions_(sessions), clock_(clock), options_(std::move(options)) {}

RoundRunner::~RoundRunner() = default;

absl::StatusOr<std::unique_ptr<RoundRunner>> RoundRunner::Create(store::Store* store,
                                                                 service::SessionRegistry* sessions,
                                                                 const Clock* clock,
                                                                 RoundRunnerOptions options) {
  std::unique_ptr<RoundRunner> runner(new RoundRunner(store, sessions, clock, std::move(options)));
  TONTINE_RETURN_IF_ERROR(runner->Prepare());
  return runner;
}

absl::Status RoundRunner::Prepare() {
  const config::ExperimentConfig& experiment = options_.experiment;
  TONTINE_ASSIGN_OR_RETURN(fs::path base_dir, config::ResolveBaseModel(experiment.model.base_dir));
  TONTINE_ASSIGN_OR_RETURN(std::string config_json,
                           ReadFile(base_dir / safetensors::kModelConfigFile));
  TONTINE_ASSIGN_OR_RETURN(
      model_, ml::ParseModelConfig(config_json, (base_dir / safetensors::kModelConfigFile).string()));
  TONTINE_ASSIGN_OR_RETURN(std::string digest_hex, safetensors::ModelDigest(base_dir));
  if (!experiment.model.sha256.empty() && experiment.model.sha256 != digest_hex) {
    return absl::FailedPreconditionError(absl::StrCat(
        base_dir.string(), " has digest ", digest_hex, " but the experiment pins model.sha256 ",
        experiment.model.sha256));
  }
  base_sha256_ = *HexDecode(digest_hex);
  spdlog::info("base model {} (sha256 {})", base_dir.string(), digest_hex);

  // Resume the running experiment if it is this one; otherwise start it.
  absl::StatusOr<store::ExperimentRecord> latest = store_->LatestExperiment();
  if (!latest.ok() && !absl::IsNotFound(latest.status())) return latest.status();
  const bool resume = latest.ok() && latest->status == "running" &&
                      latest->name == experiment.name &&
                      latest->config_yaml == options_.experiment_yaml;
  if (latest.ok() && latest->status == "running" && !resume) {
    spdlog::info("experiment '{}' (id {}) was running; stopping it to start '{}'", latest->name,
                 latest->id, experiment.name);
    TONTINE_RETURN_IF_ERROR(store_->FinishExperiment(latest->id, "stopped"));
  }
  if (resume) {
    experiment_ = *latest;
  } else {
    experiment_.name = experiment.name;
    experiment_.config_yaml = options_.experiment_yaml;
    experiment_.lora_seed = experiment.lora.seed;
    while (experiment_.lora_seed == 0) {
      TONTINE_ASSIGN_OR_RETURN(std::string bytes, crypto::RandomString(8));
      std::memcpy(&experiment_.lora_seed, bytes.data(), 8);
      experiment_.lora_seed &= (uint64_t{1} << 63) - 1;  // SQLite integers are signed
    }
    experiment_.started = clock_->Now();
    experiment_.status = "running";
    TONTINE_ASSIGN_OR_RETURN(experiment_.id, store_->StartExperiment(experiment_));
  }

  // Adapters: every version on record; this experiment's newest is the global adapter.
  TONTINE_ASSIGN_OR_RETURN(std::vector<store::AdapterRecord> adapters, store_->ListAdapters());
  std::optional<store::AdapterRecord> current;
  int64_t max_version = 0;
  {
    absl::MutexLock lock(&mu_);
    for (const store::AdapterRecord& record : adapters) {
      max_version = std::max(max_version, record.version);
      AddAdapterFileLocked(record);
      if (record.experiment_id == experiment_.id &&
          (!current.has_value() || record.version > current->version)) {
        current = record;
      }
    }
  }
  if (current.has_value()) {
    TONTINE_ASSIGN_OR_RETURN(adapter_, ReadAdapterDir(options_.state_dir / current->path));
  } else {
    TONTINE_ASSIGN_OR_RETURN(adapter_,
                             InitialAdapter(model_, update::LoraSpecOf(experiment.lora, base_dir),
                                            experiment_.lora_seed));
    store::AdapterRecord record;
    record.version = max_version + 1;
    record.experiment_id = experiment_.id;
    record.path = absl::StrCat("adapters/v", record.version);
    TONTINE_ASSIGN_OR_RETURN(WrittenAdapter written,
                             WriteAdapterDir(options_.state_dir / record.path, adapter_));
    record.sha256 = written.sha256;
    record.size_bytes = written.size_bytes;
    record.created = clock_->Now();
    TONTINE_RETURN_IF_ERROR(store_->AddAdapter(record));
    current = record;
    absl::MutexLock lock(&mu_);
    AddAdapterFileLocked(record, &written);
  }
  TONTINE_ASSIGN_OR_RETURN(std::vector<store::RoundRecord> rounds,
                           store_->ListRounds(experiment_.id));
  attempted_ = static_cast<int>(rounds.size());
  committed_ = static_cast<int>(
      std::count_if(rounds.begin(), rounds.end(),
                    [](const store::RoundRecord& r) { return r.outcome == "committed"; }));
  absl::MutexLock lock(&mu_);
  latest_ = adapters_.at(static_cast<uint64_t>(current->version)).version;
  rounds_committed_total_ = committed_;
  spdlog::info("{} experiment '{}' (id {}): {} of {} rounds committed; global adapter v{}",
               resume ? "resuming" : "started", experiment_.name, experiment_.id, committed_,
               experiment.rounds.count, current->version);
  return absl::OkStatus();
}

// ---- the loop ----

void RoundRunner::Stop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  changed_.SignalAll();
}

std::shared_ptr<ActiveRound> RoundRunner::Current() const {
  absl::MutexLock lock(&mu_);
  return active_;
}

absl::Status RoundRunner::Run() {
  const config::ExperimentConfig& experiment = options_.experiment;
  while (committed_ < experiment.rounds.count) {
    if (!WaitForCohort()) return absl::CancelledError("stopped");
    std::vector<std::shared_ptr<service::SessionHandle>> cohort = SampleCohort(Eligible());
    if (static_cast<int>(cohort.size()) < experiment.cohort.min_participants) continue;
    TONTINE_RETURN_IF_ERROR(RunRound(std::move(cohort)));
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return absl::CancelledError("stopped");
    }
  }
  TONTINE_RETURN_IF_ERROR(store_->FinishExperiment(experiment_.id, "finished"));
  spdlog::info("experiment '{}' finished: {} rounds committed", experiment_.name, committed_);
  return absl::OkStatus();
}

std::vector<std::shared_ptr<service::SessionHandle>> RoundRunner::Eligible() {
  std::vector<std::shared_ptr<service::SessionHandle>> eligible;
  for (std::shared_ptr<service::SessionHandle>& session : sessions_->Sessions()) {
    if (session->closed()) continue;
    {
      absl::MutexLock lock(&mu_);
      auto ready = ready_.find(session->participant_id());
      if (ready == ready_.end() || ready->second.lock() != session) continue;
    }
    if (!MatchesFilter(session->tags(), options_.experiment.cohort.filter)) continue;
    eligible.push_back(std::move(session));
  }
  return eligible;
}

bool RoundRunner::WaitForCohort() {
  const int needed = options_.experiment.cohort.min_participants;
  absl::Time deadline = absl::Now() + options_.experiment.deadlines.cohort;
  while (true) {
    const int have = static_cast<int>(Eligible().size());
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    if (have >= needed) return true;
    if (absl::Now() >= deadline) {
      spdlog::warn("waiting for participants: {} of the {} needed are connected", have, needed);
      deadline = absl::Now() + options_.experiment.deadlines.cohort;
    }
    // Sessions starting signal changed_; the timeout also catches sessions that closed.
    changed_.WaitWithTimeout(&mu_, absl::Milliseconds(500));
  }
}

std::vector<std::shared_ptr<service::SessionHandle>> RoundRunner::SampleCohort(
    std::vector<std::shared_ptr<service::SessionHandle>> eligible) {
  const size_t max = static_cast<size_t>(options_.experiment.cohort.max_participants);
  if (options_.experiment.cohort.sampling == config::Sampling::kRoundRobin) {
    absl::MutexLock lock(&mu_);
    auto last = [this](const std::shared_ptr<service::SessionHandle>& s) {
      auto it = last_round_of_.find(s->participant_id());
      return it == last_round_of_.end() ? int64_t{-1} : it->second;
    };
    std::stable_sort(eligible.begin(), eligible.end(), [&](const auto& a, const auto& b) {
      return std::make_pair(last(a), a->participant_id()) <
             std::make_pair(last(b), b->participant_id());
    });
  } else {
    std::shuffle(eligible.begin(), eligible.end(), std::mt19937_64(std::random_device{}()));
  }
  if (eligible.size() > max) eligible.resize(max);
  // Cohort indices in participant-id order: stable logs, nothing learned from the order.
  std::sort(eligible.begin(), eligible.end(),
            [](const auto& a, const auto& b) { return a->participant_id() < b->participant_id(); });
  return eligible;
}

absl::StatusOr<std::shared_ptr<ActiveRound>> RoundRunner::StartRound(
    std::vector<std::shared_ptr<service::SessionHandle>> cohort) {
  const config::ExperimentConfig& experiment = options_.experiment;
  auto round = std::make_shared<ActiveRound>();
  TONTINE_ASSIGN_OR_RETURN(int64_t id, store_->NextRoundId());
  round->id = static_cast<uint64_t>(id);
  round->number = attempted_ + 1;
  round->started = clock_->Now();
  round->trained = TrainedMatricesFor(experiment.aggregation.rule, committed_ + 1);
  round->trained_names = TrainedTensorNames(adapter_, round->trained);
  const uint32_t n = static_cast<uint32_t>(cohort.size());

  // Metric buckets: the cohort's values of the grouping tag, sorted.
  std::vector<int32_t> bucket_of(n, -1);
  for (const auto& session : cohort) {
    auto it = session->tags().find(experiment.evaluation.group_by_tag);
    if (it != session->tags().end()) round->buckets.push_back(it->second);
  }
  std::sort(round->buckets.begin(), round->buckets.end());
  round->buckets.erase(std::unique(round->buckets.begin(), round->buckets.end()),
                       round->buckets.end());
  for (uint32_t i = 0; i < n; ++i) {
    auto it = cohort[i]->tags().find(experiment.evaluation.group_by_tag);
    if (it == cohort[i]->tags().end()) continue;
    bucket_of[i] = static_cast<int32_t>(
        std::lower_bound(round->buckets.begin(), round->buckets.end(), it->second) -
        round->buckets.begin());
  }

  const bool uniform = experiment.aggregation.weighting == config::Weighting::kUniform;
  round->layout.delta_words = ElementCount(adapter_, round->trained_names);
  round->layout.metric_buckets = static_cast<uint32_t>(round->buckets.size());
  round->layout.max_weight = update::RoundMaxWeight(uniform);
  round->quantization.bits = static_cast<uint32_t>(experiment.secagg.bits);
  round->quantization.clip_l2 = static_cast<float>(experiment.secagg.clip_l2);
  round->quantization.clip_linf = static_cast<float>(experiment.secagg.clip_linf);
  TONTINE_RETURN_IF_ERROR(update::CheckSlotBounds(n, round->layout, round->quantization));

  secagg::SecAggRequirements requirements;
  requirements.cohort_size = n;
  requirements.dropout_rate = experiment.secagg.expected_dropout;
  requirements.corrupt_fraction = experiment.secagg.corrupt_fraction;
  // The finder's (k, t), with what the experiment pins explicitly in their place.
  TONTINE_ASSIGN_OR_RETURN(secagg::SecAggGraphParams graph,
                           secagg::FindSecAggParams(requirements));
  if (experiment.secagg.neighbours) {
    graph.neighbours =
        std::min<uint32_t>(static_cast<uint32_t>(*experiment.secagg.neighbours), n - 1);
  }
  if (experiment.secagg.reconstruction_threshold) {
    graph.reconstruction_threshold =
        static_cast<uint32_t>(*experiment.secagg.reconstruction_threshold);
  }
  graph.full_graph = graph.neighbours == n - 1;
  v1::SecAggParameters& params = round->params;
  params.set_cohort_size(n);
  params.set_neighbours(graph.neighbours);
  params.set_reconstruction_threshold(graph.reconstruction_threshold);
  params.set_quantisation_bits(round->quantization.bits);
  params.set_clip_l2(round->quantization.clip_l2);
  params.set_clip_linf(round->quantization.clip_linf);
  params.set_vector_words(round->layout.vector_words());
  params.set_delta_words(round->layout.delta_words);
  params.set_metric_words(3 * round->layout.metric_buckets);
  params.set_prg(PrgOf(experiment.secagg.prg));
  TONTINE_ASSIGN_OR_RETURN(round->secagg,
                           secagg::SecAggServer::Create(round->id, params, round.get(),
                                                        options_.unmask_threads, requirements));

  for (uint32_t i = 0; i < n; ++i) {
    round->members.push_back({cohort[i]->participant_id(), cohort[i]});
    round->index_of[cohort[i]->participant_id()] = i;
  }

  v1::RoundInvitation invitation;
  invitation.set_round_id(round->id);
  invitation.set_experiment(experiment.name);
  invitation.set_base_model_sha256(base_sha256_);
  {
    absl::MutexLock lock(&mu_);
    *invitation.mutable_adapter() = latest_;
    round->adapter_version = latest_.version();
    if (experiment.aggregation.rule == config::AggregationRule::kFfa) {
      std::optional<service::AdapterFile> b = LoraBFileLocked(latest_.version());
      if (b.has_value()) *invitation.mutable_adapter_lora_b() = b->version;
    }
  }
  v1::TrainingTask& task = *invitation.mutable_task();
  v1::AdapterSpec& spec = *task.mutable_adapter();
  spec.set_rank(static_cast<uint32_t>(adapter_.spec.rank));
  spec.set_alpha(static_cast<float>(adapter_.spec.alpha));
  spec.set_dropout(static_cast<float>(adapter_.spec.dropout));
  for (const std::string& m : adapter_.spec.target_modules) spec.add_target_modules(m);
  task.set_rule(experiment.aggregation.rule == config::AggregationRule::kFfa
                    ? v1::AGGREGATION_RULE_FFA
                : experiment.aggregation.rule == config::AggregationRule::kAlternating
                    ? v1::AGGREGATION_RULE_ALTERNATING
                    : v1::AGGREGATION_RULE_FEDIT);
  task.set_trained(round->trained);
  task.set_lora_a_seed(experiment_.lora_seed);
  const config::LocalTrainingConfig& local = experiment.local_training;
  task.set_local_steps(static_cast<uint32_t>(local.steps));
  task.set_batch_size(static_cast<uint32_t>(local.batch_size));
  task.set_gradient_accumulation(static_cast<uint32_t>(local.gradient_accumulation));
  task.set_sequence_length(static_cast<uint32_t>(local.sequence_length));
  task.set_learning_rate(static_cast<float>(local.learning_rate));
  task.set_optimizer(local.optimizer == config::LocalOptimizer::kSgd ? v1::LOCAL_OPTIMIZER_SGD
                                                                     : v1::LOCAL_OPTIMIZER_ADAMW);
  task.set_schedule(local.schedule == config::Schedule::kCosine
                        ? v1::LEARNING_RATE_SCHEDULE_COSINE
                        : v1::LEARNING_RATE_SCHEDULE_CONSTANT);
  task.set_warmup_steps(static_cast<uint32_t>(local.warmup_steps));
  task.set_weight_decay(static_cast<float>(local.weight_decay));
  task.set_gradient_clip(static_cast<float>(local.gradient_clip));
  task.set_held_out_fraction(static_cast<float>(experiment.evaluation.held_out_fraction));
  task.set_seed(local.seed ^ (round->id * 0x9e3779b97f4a7c15ull));
  task.set_uniform_weighting(uniform);
  task.set_max_weight(experiment.aggregation.max_weight);
  *invitation.mutable_secagg() = params;
  for (const std::string& bucket : round->buckets) invitation.add_metric_buckets(bucket);
  invitation.set_metric_fraction_bits(4);  // update::kNllScale = 2^4
  const config::DeadlinesConfig& deadlines = experiment.deadlines;
  invitation.set_advertise_keys_deadline_ms(Millis(deadlines.advertise_keys));
  invitation.set_share_keys_deadline_ms(Millis(deadlines.share_keys));
  invitation.set_masked_input_deadline_ms(Millis(deadlines.masked_input));
  invitation.set_unmask_deadline_ms(Millis(deadlines.unmask));

  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopped");
    round->phase = v1::ROUND_PHASE_ADVERTISE_KEYS;
    active_ = round;
    for (uint32_t i = 0; i < n; ++i) last_round_of_[cohort[i]->participant_id()] = id;
  }
  for (uint32_t i = 0; i < n; ++i) {
    v1::ServerMessage message;
    *message.mutable_invitation() = invitation;
    message.mutable_invitation()->set_cohort_index(i);
    message.mutable_invitation()->set_metric_bucket(bucket_of[i]);
    round->Send(i, std::move(message));
  }
  spdlog::info("round {} (#{} of experiment '{}'): invited {} participants; k={}, t={}, {} "
               "words ({} trained)",
               round->id, round->number, experiment.name, n, params.neighbours(),
               params.reconstruction_threshold(), params.vector_words(),
               round->trained == v1::TRAINED_MATRICES_A   ? "A"
               : round->trained == v1::TRAINED_MATRICES_B ? "B"
                                                          : "A and B");
  return round;
}

void RoundRunner::WaitPhase(ActiveRound& round, absl::Time deadline) {
  while (true) {
    std::vector<uint32_t> awaited = round.secagg->Awaited();
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    const bool anyone_left = std::any_of(awaited.begin(), awaited.end(), [&](uint32_t i) {
      return !round.members[i].gone && !round.members[i].declined;
    });
    if (!anyone_left || absl::Now() >= deadline) return;
    for (auto it = round.uploads.begin(); it != round.uploads.end();) {
      if (absl::Now() - it->second.last_chunk < kUploadIdle) {
        ++it;
        continue;
      }
      spdlog::warn("round {}: the masked update of {} stalled at word {}; dropped", round.id,
                   round.members[it->first].participant_id, it->second.received);
      it = round.uploads.erase(it);
      --busy_slots_;
    }
    changed_.WaitWithDeadline(&mu_, std::min(deadline, absl::Now() + absl::Milliseconds(500)));
  }
}

absl::Status RoundRunner::RunRound(std::vector<std::shared_ptr<service::SessionHandle>> cohort) {
  absl::StatusOr<std::shared_ptr<ActiveRound>> started = StartRound(std::move(cohort));
  if (absl::IsCancelled(started.status())) return absl::OkStatus();
  if (!started.ok()) {
    // A cohort whose parameters cannot be met (e.g. too small for the SecAgg requirements)
    // is not the state dir's fault: say why and try again with the next cohort.
    spdlog::error("cannot start a round with this cohort: {}", DescribeStatus(started.status()));
    absl::MutexLock lock(&mu_);
    changed_.WaitWithTimeout(&mu_, absl::Seconds(5));
    return absl::OkStatus();
  }
  ActiveRound& round = **started;
  const config::DeadlinesConfig& deadlines = options_.experiment.deadlines;
  const absl::Time invited = absl::Now();
  const absl::Time masked_deadline = invited + deadlines.masked_input;

  // Each step: wait for the phase's messages, note who is still awaited, close the phase.
  struct Step {
    v1::RoundPhase next;
    const char* name;
    std::function<absl::Time()> deadline;
    std::function<absl::Status()> close;
  };
  auto remaining_ms = [](absl::Time deadline) {
    return static_cast<uint64_t>(std::max<int64_t>(0, Millis(deadline - absl::Now())));
  };
  const std::vector<Step> steps = {
      {v1::ROUND_PHASE_SHARE_KEYS, "advertise_keys",
       [&] { return invited + deadlines.advertise_keys; },
       [&] { return round.secagg->CloseAdvertiseKeys(); }},
      {v1::ROUND_PHASE_MASKED_INPUT, "share_keys",
       [&] { return absl::Now() + deadlines.share_keys; },
       [&] { return round.secagg->CloseShareKeys(remaining_ms(masked_deadline)); }},
      {v1::ROUND_PHASE_UNMASK, "masked_input", [&] { return masked_deadline; },
       [&] { return round.secagg->CloseMaskedInput(Millis(deadlines.unmask)); }},
      {v1::ROUND_PHASE_COMMIT, "unmask", [&] { return absl::Now() + deadlines.unmask; },
       [] { return absl::OkStatus(); }},
  };
  for (const Step& step : steps) {
    if (CrashRequested(options_.debug_crash_at, step.name, round.number)) {
      // Crash once the phase is under way (its requests out, answers arriving).
      WaitPhase(round, absl::Now() + absl::Milliseconds(200));
      spdlog::warn("--debug-crash-at {}: killing the coordinator", step.name);
      ::raise(SIGKILL);
    }
    WaitPhase(round, step.deadline());
    std::vector<uint32_t> awaited = round.secagg->Awaited();
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        active_.reset();
        v1::ServerMessage cancelled;
        cancelled.mutable_round_cancelled()->set_round_id(round.id);
        cancelled.mutable_round_cancelled()->set_message("the coordinator is shutting down");
        Broadcast(round, cancelled);
        return absl::OkStatus();
      }
      for (uint32_t i : awaited) {
        if (round.members[i].dropped_at.empty()) round.members[i].dropped_at = step.name;
      }
      // Partial uploads of a closed phase are dropped, and their slots freed.
      busy_slots_ -= static_cast<int>(round.uploads.size());
      round.uploads.clear();
    }
    if (!awaited.empty()) {
      spdlog::info("round {}: {} participant(s) dropped during {}", round.id, awaited.size(),
                   step.name);
    }
    if (absl::Status st = step.close(); !st.ok()) return CommitAborted(round, st.ToString());
    absl::MutexLock lock(&mu_);
    round.phase = step.next;
  }
  absl::StatusOr<secagg::SecAggAggregate> aggregate = round.secagg->Finish();
  if (!aggregate.ok()) return CommitAborted(round, aggregate.status().ToString());
  return CommitCompleted(round, aggregate->sum, aggregate->included);
}

// ---- commit ----

namespace {

std::vector<store::RoundParticipantRecord> CohortRecords(const ActiveRound& round,
                                                         const std::vector<uint32_t>& included) {
  std::vector<store::RoundParticipantRecord> records;
  for (uint32_t i = 0; i < round.members.size(); ++i) {
    const Member& m = round.members[i];
    std::string status;
    if (std::binary_search(included.begin(), included.end(), i)) {
      status = "included";
    } else if (m.declined) {
      status = "declined";
    } else {
      // Not awaited when a phase closed, yet not included: left out of the graph when it
      // lost its neighbours at share_keys.
      status = absl::StrCat("dropped:", m.dropped_at.empty() ? "share_keys" : m.dropped_at);
    }
    records.push_back({m.participant_id, static_cast<int>(i), status});
  }
  return records;
}

}  // namespace

void RoundRunner::Broadcast(ActiveRound& round, const v1::ServerMessage& message) {
  for (uint32_t i = 0; i < round.members.size(); ++i) round.Send(i, message);
}

store::RoundRecord RoundRunner::RecordOf(ActiveRound& round, const std::string& outcome,
                                         const std::vector<uint32_t>& included) {
  store::RoundRecord record;
  record.id = static_cast<int64_t>(round.id);
  record.experiment_id = experiment_.id;
  record.number = round.number;
  record.outcome = outcome;
  record.started = round.started;
  record.finished = clock_->Now();
  record.participants = static_cast<int>(included.size());
  record.dropped = static_cast<int>(round.members.size() - included.size());
  record.bytes_up = static_cast<int64_t>(round.bytes_up.load());
  record.bytes_down = static_cast<int64_t>(round.bytes_down.load());
  absl::MutexLock lock(&mu_);
  record.cohort = CohortRecords(round, included);
  return record;
}

absl::Status RoundRunner::CommitAborted(ActiveRound& round, const std::string& reason) {
  spdlog::warn("round {} aborted: {}", round.id, reason);
  store::RoundRecord record = RecordOf(round, "aborted", {});
  record.reason = reason;
  {
    absl::MutexLock lock(&mu_);
    active_.reset();
  }
  TONTINE_RETURN_IF_ERROR(store_->CommitRound(record, std::nullopt));
  ++attempted_;
  v1::ServerMessage result;
  result.mutable_round_result()->set_round_id(round.id);
  result.mutable_round_result()->set_outcome(v1::ROUND_OUTCOME_ABORTED);
  result.mutable_round_result()->set_reason(reason);
  Broadcast(round, result);
  return absl::OkStatus();
}

absl::Status RoundRunner::CommitCompleted(ActiveRound& round, const std::vector<uint32_t>& sum,
                                          const std::vector<uint32_t>& included) {
  absl::StatusOr<update::AggregateUpdate> decoded =
      update::DecodeAggregate(sum, round.layout, round.quantization);
  if (!decoded.ok()) return CommitAborted(round, decoded.status().ToString());
  GlobalAdapter next = adapter_;
  TONTINE_RETURN_IF_ERROR(ApplyMeanDelta(next, round.trained_names, decoded->mean_delta,
                                         options_.experiment.aggregation));
  int64_t version = 0;
  {
    absl::MutexLock lock(&mu_);
    version = static_cast<int64_t>(adapters_.rbegin()->first) + 1;
  }
  store::AdapterRecord adapter;
  adapter.version = version;
  adapter.experiment_id = experiment_.id;
  adapter.round_id = static_cast<int64_t>(round.id);
  adapter.path = absl::StrCat("adapters/v", version);
  TONTINE_ASSIGN_OR_RETURN(WrittenAdapter written,
                           WriteAdapterDir(options_.state_dir / adapter.path, next));
  adapter.sha256 = written.sha256;
  adapter.size_bytes = written.size_bytes;
  adapter.created = clock_->Now();

  nlohmann::json buckets = nlohmann::json::object();
  for (size_t b = 0; b < round.buckets.size(); ++b) {
    const update::BucketMetrics& m = decoded->metrics[b];
    buckets[round.buckets[b]] = {{"nll_sum", m.nll_sum}, {"tokens", m.tokens}, {"bytes", m.bytes}};
  }
  const double macro = MacroPerplexity(decoded->metrics);
  nlohmann::json metrics = {{"adapter_version", round.adapter_version},
                            {"buckets", buckets},
                            {"macro_perplexity", macro},
                            {"weight_sum", decoded->weight_sum}};

  store::RoundRecord record = RecordOf(round, "committed", included);
  record.metrics_json = metrics.dump();
  record.adapter_version = version;
  if (CrashRequested(options_.debug_crash_at, "commit", round.number)) {
    // The adapter directory is written but the round is not committed.
    spdlog::warn("--debug-crash-at commit: killing the coordinator");
    ::raise(SIGKILL);
  }
  TONTINE_RETURN_IF_ERROR(store_->CommitRound(record, adapter));
  adapter_ = std::move(next);
  ++attempted_;
  ++committed_;
  v1::ServerMessage result;
  v1::RoundResult& r = *result.mutable_round_result();
  r.set_round_id(round.id);
  r.set_outcome(v1::ROUND_OUTCOME_COMMITTED);
  r.set_participants(record.participants);
  r.set_dropped(record.dropped);
  for (size_t b = 0; b < round.buckets.size(); ++b) {
    v1::BucketMetrics* m = r.add_metrics();
    m->set_bucket(round.buckets[b]);
    m->set_nll_sum(decoded->metrics[b].nll_sum);
    m->set_tokens(decoded->metrics[b].tokens);
    m->set_bytes(decoded->metrics[b].bytes);
  }
  {
    absl::MutexLock lock(&mu_);
    AddAdapterFileLocked(adapter, &written);
    latest_ = adapters_.at(static_cast<uint64_t>(version)).version;
    *r.mutable_adapter() = latest_;
    ++rounds_committed_total_;
    active_.reset();
  }
  Broadcast(round, result);
  spdlog::info("round {} committed: {} participants, {} dropped, adapter v{}; incoming adapter "
               "v{} macro perplexity {:.3f}",
               round.id, record.participants, record.dropped, version, round.adapter_version,
               macro);

  if (!options_.debug_dump_dir.empty()) {
    std::string bytes(reinterpret_cast<const char*>(sum.data()), sum.size() * sizeof(uint32_t));
    TONTINE_RETURN_IF_ERROR(WriteFileAtomic(
        options_.debug_dump_dir / absl::StrCat("round-", round.id, ".sum"), bytes));
    std::vector<std::string> ids;
    for (uint32_t i : included) ids.push_back(round.members[i].participant_id);
    TONTINE_RETURN_IF_ERROR(
        WriteFileAtomic(options_.debug_dump_dir / absl::StrCat("round-", round.id, ".included"),
                        absl::StrJoin(ids, "\n") + "\n"));
  }
  const double target = options_.experiment.rounds.target_perplexity;
  if (target > 0 && macro > 0 && macro <= target) {
    spdlog::info("macro perplexity {:.3f} reached the target {:.3f}", macro, target);
    committed_ = options_.experiment.rounds.count;
  }
  return absl::OkStatus();
}

// ---- what arrives from gRPC threads ----

void RoundRunner::Refuse(const std::shared_ptr<service::SessionHandle>& session,
                         const absl::Status& status) {
  spdlog::warn("refused a message from {}: {}", session->participant_id(),
               DescribeStatus(status));
  v1::ServerMessage message;
  *message.mutable_refused() = ToRpcStatus(status);
  session->Send(std::move(message));
}

void RoundRunner::OnSessionStarted(const std::shared_ptr<service::SessionHandle>& session,
                                   const v1::Hello& hello) {
  // A client holding no base model yet may connect (`tontine-client check`), but only one
  // holding this experiment's is ever invited; one holding another is told so and closed.
  if (!hello.base_model_sha256().empty() && hello.base_model_sha256() != base_sha256_) {
    absl::Status mismatch = WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "this experiment's base model has sha256 ", HexEncode(base_sha256_),
            "; the client offered ", HexEncode(hello.base_model_sha256()),
            ": install that base model")),
        "BASE_MODEL_MISMATCH");
    spdlog::warn("session of {} refused: {}", session->participant_id(), DescribeStatus(mismatch));
    session->Close(mismatch);
    return;
  }
  absl::MutexLock lock(&mu_);
  if (!hello.base_model_sha256().empty()) ready_[session->participant_id()] = session;
  changed_.SignalAll();
}

void RoundRunner::OnClientMessage(const std::shared_ptr<service::SessionHandle>& session,
                                  const v1::ClientMessage& message) {
  if (message.has_hello()) {
    Refuse(session, WithReason(absl::FailedPreconditionError("Hello was already received"),
                               "HELLO_REPEATED"));
    return;
  }
  const uint64_t round_id = RoundIdOf(message);
  std::shared_ptr<ActiveRound> round = Current();
  if (round == nullptr || round_id != round->id) {
    Refuse(session, WithReason(absl::FailedPreconditionError(absl::StrCat(
                                   "round ", round_id, " is not in progress",
                                   round == nullptr ? "" : absl::StrCat(" (round ", round->id,
                                                                         " is)"))),
                               "STALE_ROUND", round_id));
    return;
  }
  auto it = round->index_of.find(session->participant_id());
  if (it == round->index_of.end()) {
    Refuse(session, WithReason(absl::PermissionDeniedError(absl::StrCat(
                                   "you are not a participant of round ", round_id)),
                               "NOT_IN_ROUND", round_id));
    return;
  }
  const uint32_t index = it->second;
  absl::Status status;
  switch (message.payload_case()) {
    case v1::ClientMessage::kRoundResponse: {
      if (!message.round_response().accept()) {
        spdlog::info("round {}: {} declined: {}", round_id, session->participant_id(),
                     message.round_response().decline_reason());
        absl::MutexLock lock(&mu_);
        round->members[index].declined = true;
      }
      break;
    }
    case v1::ClientMessage::kAdvertiseKeys:
      status = round->secagg->HandleAdvertiseKeys(index, message.advertise_keys());
      break;
    case v1::ClientMessage::kShareKeys:
      status = round->secagg->HandleShareKeys(index, message.share_keys());
      break;
    case v1::ClientMessage::kUnmaskResponse:
      status = round->secagg->HandleUnmaskResponse(index, message.unmask_response());
      break;
    case v1::ClientMessage::kAbort: {
      spdlog::info("round {}: {} left at {}: {} {}", round_id, session->participant_id(),
                   v1::RoundPhase_Name(message.abort().phase()), message.abort().reason(),
                   message.abort().message());
      absl::MutexLock lock(&mu_);
      round->members[index].gone = true;
      break;
    }
    case v1::ClientMessage::kProgress:
      spdlog::debug("round {}: {} trained {}/{} steps", round_id, session->participant_id(),
                    message.progress().steps_done(), message.progress().steps_total());
      return;
    default:
      status = absl::InvalidArgumentError("empty or unknown client message");
      break;
  }
  round->bytes_up += message.ByteSizeLong();
  if (!status.ok()) {
    Refuse(session, WithReason(status, "REFUSED", round_id));
    return;
  }
  absl::MutexLock lock(&mu_);
  changed_.SignalAll();
}

void RoundRunner::OnSessionEnded(const std::shared_ptr<service::SessionHandle>& session) {
  absl::MutexLock lock(&mu_);
  if (active_ != nullptr) {
    auto it = active_->index_of.find(session->participant_id());
    // Only the session the round invited counts: a newer session of the same participant
    // (after a reconnect) is not in this round.
    if (it != active_->index_of.end() && active_->members[it->second].session == session) {
      active_->members[it->second].gone = true;
    }
  }
  changed_.SignalAll();
}

absl::StatusOr<service::AdapterFile> RoundRunner::FindAdapter(uint64_t version,
                                                               bool lora_b_only) {
  absl::MutexLock lock(&mu_);
  auto it = adapters_.find(version);
  if (it == adapters_.end()) {
    return WithReason(absl::NotFoundError(absl::StrCat("there is no adapter version ", version)),
                      "UNKNOWN_ADAPTER");
  }
  if (!lora_b_only) return it->second;
  std::optional<service::AdapterFile> b = LoraBFileLocked(version);
  if (!b.has_value()) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "adapter version ", version, " has no lora_B-only copy; download it "
                          "whole")),
                      "NO_LORA_B_COPY");
  }
  return *b;
}

void RoundRunner::AddAdapterFileLocked(const store::AdapterRecord& record,
                                       const WrittenAdapter* written) {
  service::AdapterFile& file = adapters_[static_cast<uint64_t>(record.version)];
  file.version.set_version(static_cast<uint64_t>(record.version));
  file.version.set_sha256(record.sha256);
  file.version.set_size_bytes(static_cast<uint64_t>(record.size_bytes));
  file.path = options_.state_dir / record.path / update::kPeftWeightsFile;
  lora_b_adapters_.erase(file.version.version());
  if (written != nullptr) {
    service::AdapterFile b;
    b.version.set_version(file.version.version());
    b.version.set_sha256(written->lora_b_sha256);
    b.version.set_size_bytes(static_cast<uint64_t>(written->lora_b_size_bytes));
    b.path = options_.state_dir / record.path / update::kLoraBWeightsFile;
    lora_b_adapters_[file.version.version()] = std::move(b);
  }
}

std::optional<service::AdapterFile> RoundRunner::LoraBFileLocked(uint64_t version) {
  auto cached = lora_b_adapters_.find(version);
  if (cached != lora_b_adapters_.end()) return cached->second;
  std::optional<service::AdapterFile> found;
  auto it = adapters_.find(version);
  if (it != adapters_.end()) {
    const std::filesystem::path path = it->second.path.parent_path() / update::kLoraBWeightsFile;
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path, ec);
    absl::StatusOr<std::string> digest =
        ec ? absl::NotFoundError(path.string()) : crypto::Sha256File(path);
    if (digest.ok()) {
      found.emplace();
      found->path = path;
      found->version.set_version(version);
      found->version.set_sha256(*digest);
      found->version.set_size_bytes(size);
    }
  }
  lora_b_adapters_[version] = found;
  return found;
}

void RoundRunner::CountDownload(uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  if (active_ != nullptr) active_->bytes_down += bytes;
}

absl::StatusOr<v1::UploadReceipt> RoundRunner::ReceiveChunk(const std::string& participant_id,
                                                            const v1::MaskedUpdateChunk& chunk) {
  std::shared_ptr<ActiveRound> round;
  uint32_t index = 0;
  Upload* upload = nullptr;
  std::unique_ptr<uint32_t[]> words_done;
  {
    absl::MutexLock lock(&mu_);
    round = active_;
    if (round == nullptr || round->id != chunk.round_id()) {
      return WithReason(absl::FailedPreconditionError(absl::StrCat(
                            "round ", chunk.round_id(), " is not taking masked updates")),
                        "STALE_ROUND", chunk.round_id());
    }
    auto it = round->index_of.find(participant_id);
    if (it == round->index_of.end()) {
      return WithReason(absl::PermissionDeniedError(absl::StrCat(
                            "you are not a participant of round ", chunk.round_id())),
                        "NOT_IN_ROUND", chunk.round_id());
    }
    index = it->second;
    if (round->phase != v1::ROUND_PHASE_MASKED_INPUT) {
      return WithReason(absl::FailedPreconditionError(absl::StrCat(
                            "round ", round->id, " is in phase ", v1::RoundPhase_Name(round->phase),
                            ", not taking masked updates")),
                        "WRONG_PHASE", round->id, round->phase);
    }
    const uint64_t words = round->params.vector_words();
    if (chunk.vector_words() != words) {
      return WithReason(absl::InvalidArgumentError(absl::StrCat(
                            "the masked update has ", chunk.vector_words(),
                            " words; round ", round->id, " expects ", words)),
                        "WRONG_LENGTH", round->id, round->phase);
    }
    if (chunk.data().size() % 4 != 0 || chunk.data().size() > kMaxChunkBytes) {
      return WithReason(absl::InvalidArgumentError(absl::StrCat(
                            "a chunk must hold whole 4-byte words, at most ", kMaxChunkBytes,
                            " bytes; this one has ", chunk.data().size())),
                        "BAD_CHUNK", round->id, round->phase);
    }
    auto [slot, created] = round->uploads.try_emplace(index);
    upload = &slot->second;
    if (created) {
      if (busy_slots_ >= options_.aggregation_slots) {
        round->uploads.erase(slot);
        v1::ErrorDetail detail;
        detail.set_reason("AGGREGATION_BUSY");
        detail.set_retry_after_ms(kSlotRetryMs);
        return WithErrorDetail(
            absl::UnavailableError("every aggregation slot is busy; retry shortly"), detail);
      }
      ++busy_slots_;
      upload->words = std::make_unique_for_overwrite<uint32_t[]>(words);
    }
    const uint64_t n = chunk.data().size() / 4;
    if (chunk.offset_words() != upload->received || upload->received + n > words) {
      return WithReason(absl::InvalidArgumentError(absl::StrCat(
                            "chunk at word ", chunk.offset_words(), " with ", n,
                            " words; the upload continues at word ", upload->received, " of ",
                            words)),
                        "BAD_OFFSET", round->id, round->phase);
    }
    std::memcpy(upload->words.get() + upload->received, chunk.data().data(), chunk.data().size());
    upload->received += n;
    upload->last_chunk = absl::Now();
    round->bytes_up += chunk.ByteSizeLong();
    v1::UploadReceipt receipt;
    receipt.set_round_id(round->id);
    receipt.set_received_words(upload->received);
    if (upload->received < words) return receipt;
    // Complete: verified and summed outside the lock. The slot stays counted until then.
    words_done = std::move(upload->words);
    round->uploads.erase(index);
  }
  const std::span<const uint32_t> vector(words_done.get(), round->params.vector_words());
  absl::Status status;
  absl::StatusOr<std::string> digest = crypto::Sha256Digest(
      absl::string_view(reinterpret_cast<const char*>(vector.data()), vector.size_bytes()));
  if (!digest.ok()) {
    status = digest.status();
  } else if (*digest != chunk.sha256()) {
    status = WithReason(absl::DataLossError("the masked update's SHA-256 does not match its bytes"),
                        "SHA256_MISMATCH", round->id, v1::ROUND_PHASE_MASKED_INPUT);
  } else {
    status = round->secagg->HandleMaskedInput(index, vector);
  }
  words_done.reset();
  absl::MutexLock lock(&mu_);
  --busy_slots_;
  changed_.SignalAll();
  if (!status.ok()) {
    spdlog::warn("round {}: masked update of {} refused: {}", round->id, participant_id,
                 DescribeStatus(status));
    return status;
  }
  v1::UploadReceipt receipt;
  receipt.set_round_id(round->id);
  receipt.set_received_words(round->params.vector_words());
  receipt.set_complete(true);
  return receipt;
}

absl::StatusOr<v1::UploadReceipt> RoundRunner::UploadStatus(const std::string& participant_id,
                                                            uint64_t round_id) {
  absl::MutexLock lock(&mu_);
  if (active_ == nullptr || active_->id != round_id) {
    return WithReason(absl::FailedPreconditionError(
                          absl::StrCat("round ", round_id, " is not taking masked updates")),
                      "STALE_ROUND", round_id);
  }
  auto it = active_->index_of.find(participant_id);
  if (it == active_->index_of.end()) {
    return WithReason(absl::PermissionDeniedError(
                          absl::StrCat("you are not a participant of round ", round_id)),
                      "NOT_IN_ROUND", round_id);
  }
  v1::UploadReceipt receipt;
  receipt.set_round_id(round_id);
  auto upload = active_->uploads.find(it->second);
  if (upload != active_->uploads.end()) receipt.set_received_words(upload->second.received);
  return receipt;
}

std::optional<RoundProgress> RoundRunner::Progress() const {
  std::shared_ptr<ActiveRound> round = Current();
  if (round == nullptr) return std::nullopt;
  const std::vector<uint32_t> awaited = round->secagg->Awaited();
  absl::MutexLock lock(&mu_);
  RoundProgress progress;
  progress.round_id = round->id;
  progress.number = round->number;
  progress.phase = round->phase;
  progress.started = round->started;
  progress.cohort = static_cast<int>(round->members.size());
  for (const Member& member : round->members) {
    if (member.gone || member.declined || !member.dropped_at.empty()) ++progress.dropped;
  }
  for (uint32_t i : awaited) {
    const Member& member = round->members[i];
    if (!member.gone && !member.declined && member.dropped_at.empty()) ++progress.awaited;
  }
  progress.done = progress.cohort - progress.dropped - progress.awaited;
  return progress;
}

void RoundRunner::FillStatus(v1::CoordinatorStatus& status) {
  absl::MutexLock lock(&mu_);
  status.set_experiment(experiment_.name);
  if (active_ != nullptr) {
    status.set_current_round(active_->id);
    status.set_phase(active_->phase);
  }
  status.set_rounds_committed(static_cast<uint64_t>(rounds_committed_total_));
  *status.mutable_latest_adapter() = latest_;
  status.set_base_model_sha256(base_sha256_);
}

}  // namespace tontine::round
