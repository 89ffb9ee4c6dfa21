#include "client/trainer/training_producer.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/base/encoding.h"
#include "common/base/status_macros.h"
#include "common/ml/checkpoint.h"
#include "common/ml/evaluate.h"
#include "common/ml/lora.h"
#include "common/ml/model.h"
#include "common/ml/trainer.h"
#include "common/safetensors/model_dir.h"
#include "common/text/corpus.h"
#include "common/text/packing.h"
#include "common/text/tokenizer.h"
#include "spdlog/spdlog.h"

namespace tontine::trainer {

struct TrainingProducer::State {
  explicit State(ml::CausalLm m) : model(std::move(m)) {}
  ml::CausalLm model;
  // The split depends on the round's held-out fraction: kept for the last one seen.
  std::optional<double> fraction;
  text::Corpus corpus;
};

TrainingProducer::TrainingProducer(TrainingProducerOptions options, std::string base_sha256,
                                   std::unique_ptr<State> state)
    : options_(std::move(options)), base_sha256_(std::move(base_sha256)), state_(std::move(state)) {}

TrainingProducer::~TrainingProducer() = default;

absl::StatusOr<std::unique_ptr<TrainingProducer>> TrainingProducer::Create(
    const TrainingProducerOptions& options) {
  TONTINE_ASSIGN_OR_RETURN(std::string digest, safetensors::ModelDigest(options.base_dir));
  TONTINE_ASSIGN_OR_RETURN(ml::CausalLm model, ml::LoadCausalLm(options.base_dir));
  if (model->config().vocab_size != text::ByteTokenizer::kVocabSize) {
    return absl::FailedPreconditionError(absl::StrCat(
        options.base_dir.string(), ": only byte-level base models are supported so far"));
  }
  // Fail now, not at the first round, when the data directory has no text. The split is
  // kept for rounds that use the default held-out fraction (as the wire's float carries it).
  const double kDefaultHeldOut =
      static_cast<float>(config::EvaluationConfig{}.held_out_fraction);
  TONTINE_ASSIGN_OR_RETURN(
      text::Corpus corpus,
      text::LoadCorpus(options.data_dir, {.held_out_fraction = kDefaultHeldOut}));
  if (corpus.train.empty() && corpus.held_out.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.data_dir.string(), " holds no .txt or .jsonl text"));
  }
  spdlog::info("base model {} ({} parameters); data {}", options.base_dir.string(),
               model->config().ParameterCount(), options.data_dir.string());
  auto state = std::make_unique<State>(std::move(model));
  state->fraction = kDefaultHeldOut;
  state->corpus = std::move(corpus);
  return std::unique_ptr<TrainingProducer>(
      new TrainingProducer(options, *HexDecode(digest), std::move(state)));
}

absl::StatusOr<runner::LocalUpdate> TrainingProducer::Produce(const runner::ProduceContext& context) {
  const v1::RoundInvitation& invitation = *context.invitation;
  const v1::TrainingTask& task = invitation.task();
  ml::CausalLm& model = state_->model;
  if (!state_->fraction || *state_->fraction != task.held_out_fraction()) {
    TONTINE_ASSIGN_OR_RETURN(state_->corpus,
                             text::LoadCorpus(options_.data_dir,
                                              {.held_out_fraction = task.held_out_fraction()}));
    state_->fraction = task.held_out_fraction();
  }
  const text::Corpus& corpus = state_->corpus;
  if (corpus.train.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        options_.data_dir.string(), ": every document fell in the held-out split"));
  }
  if (invitation.adapter_lora_b().size_bytes() > 0) {
    TONTINE_RETURN_IF_ERROR(
        ml::LoadPeftAdapterLoraB(context.adapter_dir, model, task.lora_a_seed()).status());
  } else {
    TONTINE_RETURN_IF_ERROR(ml::LoadPeftAdapter(context.adapter_dir, model).status());
  }
  const int length = static_cast<int>(task.sequence_length());
  text::ByteTokenizer tokenizer;

  runner::LocalUpdate update;
  if (!corpus.held_out.empty()) {
    TONTINE_ASSIGN_OR_RETURN(text::PackedSequences held_out,
                             text::Pack(corpus.held_out, tokenizer, length));
    const ml::EvalResult eval = ml::Evaluate(model, held_out);
    update.held_out.nll_sum = eval.total.nll_sum;
    update.held_out.tokens = static_cast<uint64_t>(eval.total.tokens);
    update.held_out.bytes = eval.total.bytes;
  }
  TONTINE_ASSIGN_OR_RETURN(text::PackedSequences train, text::Pack(corpus.train, tokenizer, length));
  for (uint8_t counts : train.loss_mask) update.training_tokens += counts;

  const ml::TrainedMatrices trained = task.trained() == v1::TRAINED_MATRICES_A ? ml::TrainedMatrices::kA
                                      : task.trained() == v1::TRAINED_MATRICES_B
                                          ? ml::TrainedMatrices::kB
                                          : ml::TrainedMatrices::kAB;
  ml::SetTrainable(model, trained);
  // The trained tensors in canonical order (sorted names), and their incoming values.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> tensors;
  for (auto& [name, tensor] : ml::LoraParameters(model)) {
    if (tensor.requires_grad()) tensors.emplace_back(tensor, tensor.detach().clone());
  }
  int64_t words = 0;
  for (const auto& [tensor, before] : tensors) words += tensor.numel();
  if (static_cast<uint64_t>(words) != invitation.secagg().delta_words()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the round expects ", invitation.secagg().delta_words(), " trained adapter elements; this "
        "base model with the round's adapter has ", words));
  }

  ml::TrainOptions options;
  config::LocalTrainingConfig& schedule = options.schedule;
  schedule.steps = static_cast<int>(task.local_steps());
  schedule.batch_size = static_cast<int>(task.batch_size());
  schedule.gradient_accumulation = static_cast<int>(std::max(1u, task.gradient_accumulation()));
  schedule.sequence_length = length;
  schedule.learning_rate = task.learning_rate();
  schedule.optimizer = task.optimizer() == v1::LOCAL_OPTIMIZER_SGD ? config::LocalOptimizer::kSgd
                                                                  : config::LocalOptimizer::kAdamW;
  schedule.schedule = task.schedule() == v1::LEARNING_RATE_SCHEDULE_CONSTANT
                          ? config::Schedule::kConstant
                          : config::Schedule::kCosine;
  schedule.warmup_steps = static_cast<int>(std::min(task.warmup_steps(), task.local_steps()));
  schedule.weight_decay = task.weight_decay();
  schedule.gradient_clip = task.gradient_clip();
  uint64_t seed = task.seed();
  for (char c : options_.participant_id) seed = seed * 1099511628211ull ^ static_cast<uint8_t>(c);
  schedule.seed = seed;
  ml::TrainHooks hooks;
  bool out_of_time = false;
  hooks.should_abort = [&] {
    if (context.should_abort && context.should_abort()) return true;
    out_of_time = absl::Now() >= context.train_until;
    return out_of_time;
  };
  hooks.on_step = [&](const ml::StepReport& r) {
    if (context.on_step) context.on_step({r.step, r.steps, r.loss, r.tokens_per_second, r.eta});
  };
  if (context.on_training_started) context.on_training_started();
  TONTINE_ASSIGN_OR_RETURN(ml::TrainResult result, ml::Train(model, train, options, hooks));
  if (result.aborted && !out_of_time) {
    return absl::CancelledError("the round was cancelled during training");
  }
  if (result.steps_done == 0) {
    return absl::DeadlineExceededError(
        "the round's training time was over before the first local step");
  }
  update.steps_done = result.steps_done;
  update.stopped_at_deadline = out_of_time;
  update.deltas.reserve(static_cast<size_t>(words));
  for (const auto& [tensor, before] : tensors) {
    torch::Tensor delta = (tensor.detach() - before).contiguous().to(torch::kFloat32);
    const float* p = delta.data_ptr<float>();
    update.deltas.insert(update.deltas.end(), p, p + delta.numel());
  }
  spdlog::info("round {}: trained {} steps, loss {:.3f}, {:.0f} tokens/s", invitation.round_id(),
               result.steps_done, result.last_loss, result.tokens_per_second);
  return update;
}

}  // namespace tontine::trainer
