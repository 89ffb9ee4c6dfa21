// A Llama-family model's shape, read from (and written as) a Hugging Face config.json.
// Torch-free: it is plain JSON.
#ifndef TONTINE_COMMON_ML_MODEL_CONFIG_H_
#define TONTINE_COMMON_ML_MODEL_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tontine::ml {

struct ModelConfig {
  // "llama" (also accepted: "mistral" without sliding window, "smollm") or "qwen2" (q/k/v bias).
  std::string model_type = "llama";
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // grouped-query attention; = heads when absent
  int64_t head_dim = 0;             // hidden_size / heads when absent
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // bias on q/k/v (and o for llama's attention_bias)
  bool qkv_bias_only = false;   // qwen2: bias on q/k/v but not o
  int64_t bos_token_id = -1;
  int64_t eos_token_id = -1;
  int64_t pad_token_id = -1;

  // Weights per token of a forward pass, excluding the embedding lookup: for FLOP estimates.
  int64_t MatmulParameters() const;
  int64_t ParameterCount() const;
};

// Parses and validates config.json text. INVALID_ARGUMENT naming `source` and the key for
// missing or malformed keys, inconsistent head counts, and unsupported features
// (rope_scaling, sliding windows, activations other than silu).
absl::StatusOr<ModelConfig> ParseModelConfig(absl::string_view json, absl::string_view source);

// config.json text for `config` (architectures, torch_dtype float32, hidden_act silu …).
std::string ModelConfigToJson(const ModelConfig& config);

// One linear layer LoRA may wrap: its module path and the shape of its weight.
struct LinearShape {
  std::string module;  // e.g. "model.layers.0.self_attn.q_proj"
  int64_t in_features = 0;
  int64_t out_features = 0;
};

// Every projection of `config` whose own name is in `targets` (q_proj, k_proj, v_proj,
// o_proj, gate_proj, up_proj, down_proj), sorted by module path: the modules InjectLora
// wraps, known without building the model (the coordinator has no LibTorch).
std::vector<LinearShape> LoraTargetShapes(const ModelConfig& config,
                                          const std::vector<std::string>& targets);

}  // namespace tontine::ml

#endif  // TONTINE_COMMON_ML_MODEL_CONFIG_H_
