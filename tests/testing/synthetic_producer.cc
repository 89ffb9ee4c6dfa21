#include "tests/testing/synthetic_producer.h"

#include "absl/strings/str_cat.h"
#include "common/base/encoding.h"
#include "common/base/files.h"
#include "common/base/splitmix.h"
#include "common/base/status_macros.h"
#include "common/ml/model_config.h"
#include "common/safetensors/model_dir.h"
#include "common/safetensors/writer.h"

namespace tontine::testing {

absl::StatusOr<runner::LocalUpdate> SyntheticProducer::Produce(
    const runner::ProduceContext& context) {
  const v1::RoundInvitation& invitation = *context.invitation;
  const int steps = static_cast<int>(std::max(1u, invitation.task().local_steps()));
  runner::LocalUpdate update;
  if (context.on_training_started) context.on_training_started();
  for (int step = 1; step <= steps; ++step) {
    if (context.should_abort && context.should_abort()) {
      return absl::CancelledError("the round was cancelled during training");
    }
    if (absl::Now() >= context.train_until) {
      if (step == 1) {
        return absl::DeadlineExceededError(
            "the round's training time was over before the first local step");
      }
      update.stopped_at_deadline = true;
      break;
    }
    absl::SleepFor(training_ / steps);
    if (context.on_step) {
      context.on_step({.step = step, .steps = steps, .eta = training_ * (steps - step) / steps});
    }
    update.steps_done = step;
  }
  uint64_t seed = SplitMix64(invitation.round_id());
  for (char c : participant_id_) seed = SplitMix64(seed ^ static_cast<uint8_t>(c));
  update.deltas.resize(invitation.secagg().delta_words());
  for (size_t i = 0; i < update.deltas.size(); ++i) {
    const uint64_t r = SplitMix64(seed + i);
    // Uniform in [−0.01, 0.01]: inside the configs' clip_linf, so clipping is not exercised.
    update.deltas[i] = static_cast<float>((static_cast<double>(r >> 11) * 0x1.0p-53 - 0.5) * 0.02);
  }
  update.training_tokens = 1000;
  update.held_out = HeldOut();
  return update;
}

absl::StatusOr<std::string> WriteTinyBaseModel(const std::filesystem::path& dir, int hidden,
                                               int layers) {
  ml::ModelConfig config;
  config.vocab_size = 259;
  config.hidden_size = hidden;
  config.intermediate_size = 2 * hidden;
  config.num_hidden_layers = layers;
  config.num_attention_heads = 2;
  config.num_key_value_heads = 2;
  config.head_dim = hidden / 2;
  config.tie_word_embeddings = true;
  config.bos_token_id = 256;
  config.eos_token_id = 257;
  config.pad_token_id = 258;
  TONTINE_RETURN_IF_ERROR(MakeDirs(dir));
  TONTINE_RETURN_IF_ERROR(
      WriteFileAtomic(dir / safetensors::kModelConfigFile, ml::ModelConfigToJson(config)));
  std::vector<float> embedding(static_cast<size_t>(259 * hidden), 0.01f);
  TONTINE_RETURN_IF_ERROR(safetensors::WriteSafetensors(
      dir / "model.safetensors",
      {{"model.embed_tokens.weight", safetensors::Dtype::kF32, {259, hidden},
        absl::string_view(reinterpret_cast<const char*>(embedding.data()),
                          embedding.size() * sizeof(float))}},
      {{"format", "pt"}}));
  TONTINE_ASSIGN_OR_RETURN(std::string digest, safetensors::ModelDigest(dir));
  return *HexDecode(digest);
}

}  // namespace tontine::testing
