#include "common/ml/model.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace tontine::ml {
namespace {

namespace F = torch::nn::functional;

// HF's rotate_half: [x1, x2] → [−x2, x1] over the two halves of the last dimension.
torch::Tensor RotateHalf(const torch::Tensor& x) {
  int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

torch::Tensor ApplyRotary(const torch::Tensor& x, const torch::Tensor& cos,
                          const torch::Tensor& sin) {
  return x * cos + RotateHalf(x) * sin;
}

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// ---- Activation checkpointing ----
//
// A checkpointed decoder layer runs forward without recording autograd and keeps its input;
// backward re-runs the layer with autograd on and differentiates the re-run (as PyTorch's
// reentrant torch.utils.checkpoint). Refinements for the usual LoRA set-up, where the MLP's
// projections are frozen plain linears: the gate and up outputs — the largest products of the
// layer — are kept from forward and fed to the re-run through ReplayFrozenLinear, and
// down_proj is not re-run at all (ReplayGrads). A layer then keeps its input and
// 2·intermediate floats per token, and backward recomputes only the attention block and
// elementwise work. The gradients are bit for bit those of the plain forward.

// y = x Wᵀ (+ b) for a frozen W whose value `y` [.., out] was computed earlier: returns y,
// and backward gives x's gradient grad·W [.., in], the same product torch::linear's backward
// computes. Weight and bias get no gradient (REQUIRES: they do not require grad).
class ReplayFrozenLinear : public torch::autograd::Function<ReplayFrozenLinear> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor x, torch::Tensor y,
                               torch::Tensor weight) {
    ctx->save_for_backward({weight});
    (void)x;
    return y;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    torch::Tensor weight = ctx->get_saved_variables()[0];
    return {torch::matmul(grad_outputs[0], weight), torch::Tensor(), torch::Tensor()};
  }
};

bool IsFrozenPlainLinear(const LoraLinearImpl& linear) {
  return !linear.lora_enabled() && !linear.weight.requires_grad() &&
         (!linear.bias.defined() || !linear.bias.requires_grad());
}

// The MLP's gate and up outputs [B, T, intermediate], kept by a checkpointed forward.
struct MlpCache {
  torch::Tensor gate;
  torch::Tensor up;
};

// down(silu(gate(x)) · up(x)). With `record`, stores the gate and up outputs there; with
// `replay`, takes them from there instead of computing them (frozen plain linears only).
torch::Tensor MlpForward(MlpImpl& mlp, const torch::Tensor& x, MlpCache* record,
                         const MlpCache* replay) {
  torch::Tensor gate, up;
  if (replay != nullptr) {
    gate = ReplayFrozenLinear::apply(x, replay->gate, mlp.gate_proj->weight);
    up = ReplayFrozenLinear::apply(x, replay->up, mlp.up_proj->weight);
  } else {
    gate = mlp.gate_proj(x);
    up = mlp.up_proj(x);
    if (record != nullptr) *record = {gate, up};
  }
  return mlp.down_proj(torch::silu(gate) * up);
}

torch::Tensor LayerForward(DecoderLayerImpl& layer, const torch::Tensor& x,
                           const torch::Tensor& cos, const torch::Tensor& sin,
                           const torch::Tensor& mask, MlpCache* record, const MlpCache* replay) {
  auto h = x + layer.self_attn(layer.input_layernorm(x), cos, sin, mask);
  return h + MlpForward(*layer.mlp, layer.post_attention_layernorm(h), record, replay);
}

// Re-runs `layer` on x with autograd on and returns the gradients of `inputs` for the
// output's gradient `grad_out`. When the MLP's products are replayed and down_proj is a
// frozen plain linear, down_proj itself is not re-run: its output is needed by nothing in
// backward, so the re-run stops at the residual h and down_proj's input m, seeded with what
// out = h + down(m) would pass them (grad_out, and grad_out·W as linear's backward computes).
tensor_list ReplayGrads(DecoderLayerImpl& layer, const torch::Tensor& x, const torch::Tensor& cos,
                        const torch::Tensor& sin, const torch::Tensor& mask,
                        const MlpCache* replay, const torch::Tensor& grad_out,
                        const std::vector<torch::Tensor>& inputs) {
  torch::AutoGradMode grad_mode(true);
  auto h = x + layer.self_attn(layer.input_layernorm(x), cos, sin, mask);
  auto n2 = layer.post_attention_layernorm(h);
  MlpImpl& mlp = *layer.mlp;
  std::vector<torch::Tensor> outputs, seeds;
  if (replay != nullptr && IsFrozenPlainLinear(*mlp.down_proj)) {
    auto gate = ReplayFrozenLinear::apply(n2, replay->gate, mlp.gate_proj->weight);
    auto up = ReplayFrozenLinear::apply(n2, replay->up, mlp.up_proj->weight);
    auto m = torch::silu(gate) * up;
    for (auto [output, seed] : {std::pair{h, grad_out},
                                std::pair{m, torch::matmul(grad_out, mlp.down_proj->weight)}}) {
      if (!output.requires_grad()) continue;
      outputs.push_back(output);
      seeds.push_back(seed);
    }
  } else {
    outputs.push_back(h + MlpForward(mlp, n2, nullptr, replay));
    seeds.push_back(grad_out);
  }
  return torch::autograd::grad(outputs, inputs, seeds, /*retain_graph=*/false,
                               /*create_graph=*/false, /*allow_unused=*/true);
}

// Keeps the layer (and so its parameters) alive for as long as the graph needs it.
struct LayerHolder : torch::CustomClassHolder {
  explicit LayerHolder(std::shared_ptr<DecoderLayerImpl> l) : layer(std::move(l)) {}
  std::shared_ptr<DecoderLayerImpl> layer;
};

// Inputs: the layer input, the rotary tables and mask, and the layer's parameters that
// require grad (listed so that autograd reaches this node even when x does not require grad,
// e.g. after a frozen embedding, and so that their gradients flow out of it).
class CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor x, torch::Tensor cos,
                               torch::Tensor sin, torch::Tensor mask, at::TensorList params,
                               std::shared_ptr<DecoderLayerImpl> layer) {
    // Dropout in LoRA branches must draw the same masks when the layer is re-run.
    auto generator = at::detail::getDefaultCPUGenerator();
    {
      std::lock_guard<std::mutex> lock(generator.mutex());
      ctx->saved_data["rng"] = generator.get_state();
    }
    const bool keep_mlp = IsFrozenPlainLinear(*layer->mlp->gate_proj) &&
                          IsFrozenPlainLinear(*layer->mlp->up_proj);
    MlpCache cache;
    torch::Tensor out =
        LayerForward(*layer, x, cos, sin, mask, keep_mlp ? &cache : nullptr, nullptr);
    // Saved variables (unlike saved_data) are released as soon as backward has used them.
    ctx->save_for_backward({x, cos, sin, mask, cache.gate, cache.up});
    ctx->saved_data["params"] = static_cast<int64_t>(params.size());
    ctx->saved_data["layer"] = c10::IValue::make_capsule(
        c10::make_intrusive<LayerHolder>(std::move(layer)));
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    auto holder = c10::static_intrusive_pointer_cast<LayerHolder>(
        ctx->saved_data["layer"].toCapsule());
    DecoderLayerImpl& layer = *holder->layer;
    const int64_t num_params = ctx->saved_data["params"].toInt();
    const bool x_needs_grad = ctx->needs_input_grad(0);
    torch::Tensor x = saved[0].detach().requires_grad_(x_needs_grad);
    MlpCache cache{saved[4], saved[5]};
    const bool replay = cache.gate.defined();

    // Re-run with the generator as forward found it, then put it back. (Not holding its
    // mutex while re-running: dropout takes it.)
    auto generator = at::detail::getDefaultCPUGenerator();
    torch::Tensor current_rng;
    {
      std::lock_guard<std::mutex> lock(generator.mutex());
      current_rng = generator.get_state();
      generator.set_state(ctx->saved_data["rng"].toTensor());
    }
    // The parameters that require grad, in the order CheckpointedForward listed them.
    std::vector<torch::Tensor> inputs;
    if (x_needs_grad) inputs.push_back(x);
    for (const auto& p : layer.parameters()) {
      if (p.requires_grad()) inputs.push_back(p);
    }
    TORCH_CHECK(static_cast<int64_t>(inputs.size()) == num_params + (x_needs_grad ? 1 : 0),
                "the layer's trainable parameters changed between forward and backward");
    tensor_list grads = ReplayGrads(layer, x, saved[1], saved[2], saved[3],
                                    replay ? &cache : nullptr, grad_outputs[0], inputs);
    {
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(current_rng);
    }
    tensor_list result = {x_needs_grad ? grads[0] : torch::Tensor(), torch::Tensor(),
                          torch::Tensor(), torch::Tensor()};
    result.insert(result.end(), grads.begin() + (x_needs_grad ? 1 : 0), grads.end());
    result.push_back(torch::Tensor());  // the layer
    return result;
  }
};

torch::Tensor CheckpointedForward(const std::shared_ptr<DecoderLayerImpl>& layer,
                                  const torch::Tensor& x, const torch::Tensor& cos,
                                  const torch::Tensor& sin, const torch::Tensor& mask) {
  std::vector<torch::Tensor> params;
  for (const auto& p : layer->parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  return CheckpointedLayer::apply(x, cos, sin, mask, at::TensorList(params), layer);
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> RotaryTables(int64_t positions, int64_t head_dim,
                                                     double theta) {
  // inv_freq[i] = θ^(−2i/d); angles [T, d/2], duplicated to [T, d] as HF does.
  auto idx = torch::arange(0, head_dim, 2, torch::kFloat64) / static_cast<double>(head_dim);
  auto inv_freq = torch::pow(theta, -idx);
  auto pos = torch::arange(positions, torch::kFloat64);
  auto freqs = torch::outer(pos, inv_freq);
  auto emb = torch::cat({freqs, freqs}, -1);
  return {emb.cos().to(torch::kFloat32), emb.sin().to(torch::kFloat32)};
}

// ---- LoraLinear ----

LoraLinearImpl::LoraLinearImpl(int64_t in, int64_t out, bool with_bias)
    : in_features(in), out_features(out) {
  weight = register_parameter("weight", torch::empty({out, in}));
  if (with_bias) bias = register_parameter("bias", torch::zeros({out}));
}

void LoraLinearImpl::EnableLora(int64_t rank, double alpha, double dropout) {
  lora_A = register_module(
      "lora_A", torch::nn::Linear(torch::nn::LinearOptions(in_features, rank).bias(false)));
  lora_B = register_module(
      "lora_B", torch::nn::Linear(torch::nn::LinearOptions(rank, out_features).bias(false)));
  // PEFT: kaiming_uniform_(A, a=√5) = U(−1/√in, 1/√in); B = 0 so the adapter starts as a no-op.
  torch::NoGradGuard no_grad;
  double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  lora_A->weight.uniform_(-bound, bound);
  lora_B->weight.zero_();
  lora_scale = alpha / static_cast<double>(rank);
  lora_dropout = dropout;
}

torch::Tensor LoraLinearImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::linear(x, weight, bias);
  if (!lora_enabled()) return y;
  torch::Tensor h = lora_dropout > 0 ? torch::dropout(x, lora_dropout, is_training()) : x;
  return y + lora_B(lora_A(h)) * lora_scale;
}

// ---- Weight ----

WeightImpl::WeightImpl(std::vector<int64_t> shape) {
  weight = register_parameter("weight", torch::empty(shape));
}

// ---- RmsNorm ----

RmsNormImpl::RmsNormImpl(int64_t dim, double eps_in) : eps(eps_in) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps) * weight;
}

// ---- Attention ----

AttentionImpl::AttentionImpl(const ModelConfig& c)
    : heads(c.num_attention_heads), kv_heads(c.num_key_value_heads), head_dim(c.head_dim) {
  bool qkv_bias = c.attention_bias;
  bool o_bias = c.attention_bias && !c.qkv_bias_only;
  q_proj = register_module("q_proj", LoraLinear(c.hidden_size, heads * head_dim, qkv_bias));
  k_proj = register_module("k_proj", LoraLinear(c.hidden_size, kv_heads * head_dim, qkv_bias));
  v_proj = register_module("v_proj", LoraLinear(c.hidden_size, kv_heads * head_dim, qkv_bias));
  o_proj = register_module("o_proj", LoraLinear(heads * head_dim, c.hidden_size, o_bias));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                     const torch::Tensor& sin, const torch::Tensor& mask) {
  const int64_t b = x.size(0), t = x.size(1), rep = heads / kv_heads;
  // Query head h reads key/value head h / rep, as HF's repeat_kv. Rather than copying each
  // key/value head rep times, the rep query heads of a group are stacked along the sequence
  // axis: one [rep·T, D]·[D, T] product per key/value head instead of rep [T, D]·[D, T].
  auto q = q_proj(x).view({b, t, kv_heads, rep, head_dim}).permute({0, 2, 3, 1, 4});
  auto k = k_proj(x).view({b, t, kv_heads, head_dim}).transpose(1, 2);  // [B, Hkv, T, D]
  auto v = v_proj(x).view({b, t, kv_heads, head_dim}).transpose(1, 2);
  q = ApplyRotary(q, cos, sin).reshape({b * kv_heads, rep * t, head_dim});
  k = ApplyRotary(k, cos, sin).reshape({b * kv_heads, t, head_dim});
  // In place: neither the product's nor the division's backward needs its output.
  auto scores = torch::matmul(q, k.transpose(1, 2));  // [B·Hkv, rep·T, T]
  scores.div_(std::sqrt(static_cast<double>(head_dim)));
  scores.add_(rep == 1 ? mask : mask.repeat({rep, 1}));
  auto probs = torch::softmax(scores, -1);
  auto out = torch::matmul(probs, v.reshape({b * kv_heads, t, head_dim}))
                 .view({b, kv_heads, rep, t, head_dim})    // [B·Hkv, rep·T, D] → …
                 .permute({0, 3, 1, 2, 4})                 // [B, T, Hkv, rep, D]
                 .reshape({b, t, heads * head_dim});
  return o_proj(out);
}

// ---- Mlp, DecoderLayer, Decoder ----

MlpImpl::MlpImpl(const ModelConfig& c) {
  gate_proj = register_module("gate_proj", LoraLinear(c.hidden_size, c.intermediate_size, false));
  up_proj = register_module("up_proj", LoraLinear(c.hidden_size, c.intermediate_size, false));
  down_proj = register_module("down_proj", LoraLinear(c.intermediate_size, c.hidden_size, false));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return MlpForward(*this, x, nullptr, nullptr);
}

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c) {
  input_layernorm = register_module("input_layernorm", RmsNorm(c.hidden_size, c.rms_norm_eps));
  self_attn = register_module("self_attn", Attention(c));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RmsNorm(c.hidden_size, c.rms_norm_eps));
  mlp = register_module("mlp", Mlp(c));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                        const torch::Tensor& sin, const torch::Tensor& mask) {
  return LayerForward(*this, x, cos, sin, mask, nullptr, nullptr);
}

DecoderImpl::DecoderImpl(const ModelConfig& c) {
  embed_tokens = register_module("embed_tokens", Weight(std::vector<int64_t>{c.vocab_size, c.hidden_size}));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(DecoderLayer(c));
  norm = register_module("norm", RmsNorm(c.hidden_size, c.rms_norm_eps));
}

// ---- CausalLm ----

CausalLmImpl::CausalLmImpl(const ModelConfig& c) : config_(c) {
  model = register_module("model", Decoder(c));
  if (!c.tie_word_embeddings) {
    lm_head = register_module("lm_head", Weight(std::vector<int64_t>{c.vocab_size, c.hidden_size}));
  }
}

torch::Tensor CausalLmImpl::OutputWeight() const {
  return config_.tie_word_embeddings ? model->embed_tokens->weight : lm_head->weight;
}

torch::Tensor CausalLmImpl::Hidden(const torch::Tensor& input_ids) {
  const int64_t t = input_ids.size(1);
  auto [cos, sin] = RotaryTables(t, config_.head_dim, config_.rope_theta);
  auto mask = torch::full({t, t}, -std::numeric_limits<float>::infinity()).triu(1);
  auto x = torch::embedding(model->embed_tokens->weight, input_ids);
  const bool checkpoint = activation_checkpointing_ && torch::GradMode::is_enabled();
  for (const auto& layer : *model->layers) {
    auto decoder_layer = std::dynamic_pointer_cast<DecoderLayerImpl>(layer);
    x = checkpoint ? CheckpointedForward(decoder_layer, x, cos, sin, mask)
                   : decoder_layer->forward(x, cos, sin, mask);
  }
  return model->norm(x);
}

torch::Tensor CausalLmImpl::Logits(const torch::Tensor& input_ids) {
  return torch::linear(Hidden(input_ids), OutputWeight());
}

std::map<std::string, LoraLinear> CausalLmImpl::Projections() {
  std::map<std::string, LoraLinear> out;
  for (const auto& item : named_modules("", /*include_self=*/false)) {
    if (auto linear = std::dynamic_pointer_cast<LoraLinearImpl>(item.value())) {
      out.emplace(item.key(), LoraLinear(linear));
    }
  }
  return out;
}

std::map<std::string, torch::Tensor> CausalLmImpl::BaseWeights() {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : named_parameters()) {
    if (p.key().find(".lora_") == std::string::npos) out.emplace(p.key(), p.value());
  }
  return out;
}

void CausalLmImpl::InitRandom(uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto generator = at::detail::createCPUGenerator(seed);
  for (auto& [name, param] : BaseWeights()) {
    if (param.dim() == 1) {
      // Norm weights start at 1, biases at 0.
      name.find("norm") != std::string::npos ? param.fill_(1.0) : param.zero_();
    } else {
      param.normal_(0.0, 0.02, generator);
    }
  }
}

}  // namespace tontine::ml
