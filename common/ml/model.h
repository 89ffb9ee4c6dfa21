// A Llama-family decoder in LibTorch, with Hugging Face parameter names
// ("model.layers.0.self_attn.q_proj.weight" …) so that checkpoints load by name.
// RMSNorm, rotary embeddings (rope_theta, the rotate-half convention), SwiGLU, grouped-query
// attention with a causal mask, optional q/k/v bias (Qwen2), tied or untied embeddings.
// Computes in fp32.
//
// Lifecycle: construct from a ModelConfig (weights uninitialised) → InitRandom, or LoadWeights /
// LoadCausalLm (checkpoint.h) → optionally InjectLora (lora.h) → Hidden / Logits / NllSum. Not thread-safe.
#ifndef TONTINE_COMMON_ML_MODEL_H_
#define TONTINE_COMMON_ML_MODEL_H_

#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "common/ml/model_config.h"

namespace tontine::ml {

// A linear layer y = x Wᵀ + b, optionally with a LoRA branch + (α/r)·B(A(dropout(x))).
// Parameters: "weight" [out, in], "bias" [out] (optional), "lora_A.weight" [r, in],
// "lora_B.weight" [out, r] — PEFT's names.
class LoraLinearImpl : public torch::nn::Module {
 public:
  LoraLinearImpl(int64_t in_features, int64_t out_features, bool bias);

  torch::Tensor forward(const torch::Tensor& x);

  // Adds the LoRA branch with PEFT's default init (kaiming-uniform A, zero B) unless the
  // caller overwrites A afterwards. REQUIRES: not already enabled, rank > 0.
  void EnableLora(int64_t rank, double alpha, double dropout);
  bool lora_enabled() const { return !lora_A.is_empty(); }

  int64_t in_features;
  int64_t out_features;
  torch::Tensor weight;  // [out, in]
  torch::Tensor bias;    // [out] or undefined
  torch::nn::Linear lora_A{nullptr};  // weight [rank, in]
  torch::nn::Linear lora_B{nullptr};  // weight [out, rank]
  double lora_scale = 0;
  double lora_dropout = 0;
};
TORCH_MODULE(LoraLinear);

// A module holding one parameter named "weight", for HF names such as
// "model.embed_tokens.weight" (parameter names themselves cannot contain dots).
class WeightImpl : public torch::nn::Module {
 public:
  explicit WeightImpl(std::vector<int64_t> shape);
  torch::Tensor weight;
};
TORCH_MODULE(Weight);

class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;  // [dim]
  double eps;
};
TORCH_MODULE(RmsNorm);

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const ModelConfig& config);
  // x: [B, T, hidden]; cos, sin: [T, head_dim]; mask: [T, T] additive (0 / −inf).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask);
  LoraLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  int64_t heads, kv_heads, head_dim;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x);  // down(silu(gate(x)) · up(x))
  LoraLinear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Mlp);

class DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DecoderLayerImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask);
  RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Attention self_attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(DecoderLayer);

class DecoderImpl : public torch::nn::Module {
 public:
  explicit DecoderImpl(const ModelConfig& config);
  Weight embed_tokens{nullptr};  // weight [vocab, hidden]
  torch::nn::ModuleList layers{nullptr};
  RmsNorm norm{nullptr};
};
TORCH_MODULE(Decoder);

// The whole causal LM: "model.*" plus "lm_head.weight" unless embeddings are tied.
class CausalLmImpl : public torch::nn::Module {
 public:
  explicit CausalLmImpl(const ModelConfig& config);

  const ModelConfig& config() const { return config_; }

  // Final hidden states [B, T, hidden] for token ids [B, T] (int64).
  torch::Tensor Hidden(const torch::Tensor& input_ids);
  // Logits [B, T, vocab].
  torch::Tensor Logits(const torch::Tensor& input_ids);
  // The output projection [vocab, hidden] (the embedding matrix when tied).
  torch::Tensor OutputWeight() const;

  // Summed token NLL (nats) over positions where `mask` [B, T] is 1, for targets [B, T].
  // Computed in chunks of positions so that [B, T, vocab] logits never exist at once,
  // with a hand-written backward (see loss.cc).
  torch::Tensor NllSum(const torch::Tensor& input_ids, const torch::Tensor& targets,
                       const torch::Tensor& mask);

  // Every base weight by its Hugging Face name (tied lm_head omitted).
  std::map<std::string, torch::Tensor> BaseWeights();
  // Random init for pretraining: N(0, 0.02) matrices, unit norms (as HF's Llama init).
  void InitRandom(uint64_t seed);

  // Activation checkpointing (default off). When on and autograd is recording, each decoder
  // layer keeps only its input for backward and recomputes its activations there (as
  // PyTorch's reentrant torch.utils.checkpoint): peak memory drops from ~all layers'
  // activations to one layer's, for one more forward pass of the layers per step. Results
  // and gradients are unchanged. Ignored under NoGradGuard.
  void set_activation_checkpointing(bool on) { activation_checkpointing_ = on; }
  bool activation_checkpointing() const { return activation_checkpointing_; }

  // The LoRA-capable projections by their module path ("model.layers.0.self_attn.q_proj").
  std::map<std::string, LoraLinear> Projections();

  Decoder model{nullptr};
  Weight lm_head{nullptr};  // weight [vocab, hidden]; null when tied

 private:
  ModelConfig config_;
  bool activation_checkpointing_ = false;
};
TORCH_MODULE(CausalLm);

// cos and sin tables [T, head_dim] for positions 0 … T−1 (Hugging Face's rotate-half layout).
std::pair<torch::Tensor, torch::Tensor> RotaryTables(int64_t positions, int64_t head_dim,
                                                     double theta);

}  // namespace tontine::ml

#endif  // TONTINE_COMMON_ML_MODEL_H_
