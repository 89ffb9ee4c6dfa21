#include "common/ml/model_config.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tontine::ml {
namespace {

using Json = nlohmann::json;

absl::Status Bad(absl::string_view source, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", message));
}

// Reads a positive integer `key` into `out`; absent is an error when `required`.
absl::Status ReadInt(const Json& j, const char* key, int64_t* out, bool required,
                     absl::string_view source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return required ? Bad(source, absl::StrCat("missing \"", key, "\"")) : absl::OkStatus();
  }
  // Llama 3 lists several end-of-sequence ids ("eos_token_id": [128001, 128009]); the first
  // is the one generation emits.
  if (it->is_array() && !it->empty() && absl::EndsWith(key, "_token_id")) it = it->begin();
  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
    return Bad(source, absl::StrCat("\"", key, "\" must be a non-negative integer"));
  }
  *out = it->get<int64_t>();
  return absl::OkStatus();
}

absl::Status ReadNumber(const Json& j, const char* key, double* out, absl::string_view source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number() || it->get<double>() <= 0) {
    return Bad(source, absl::StrCat("\"", key, "\" must be a positive number"));
  }
  *out = it->get<double>();
  return absl::OkStatus();
}

absl::Status CheckSupported(const Json& j, ModelConfig& c, absl::string_view source) {
  std::string type = j.value("model_type", std::string("llama"));
  if (type == "qwen2") {
    c.attention_bias = true;
    c.qkv_bias_only = true;
  } else if (type != "llama" && type != "mistral" && type != "smollm") {
    return Bad(source, absl::StrCat("model_type \"", type,
                                    "\" is not a Llama-family model (llama, mistral, qwen2)"));
  }
  c.model_type = type;
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    return Bad(source, "rope_scaling is not supported");
  }
  if (j.value("use_sliding_window", false) ||
      (type == "mistral" && j.contains("sliding_window") && !j["sliding_window"].is_null())) {
    return Bad(source, "sliding-window attention is not supported");
  }
  if (j.value("hidden_act", std::string("silu")) != "silu") {
    return Bad(source, "only hidden_act \"silu\" (SwiGLU) is supported");
  }
  return absl::OkStatus();
}

// ParseModelConfig on a parsed object; may throw Json::exception for a key of the wrong type.
absl::StatusOr<ModelConfig> ParseObject(const Json& j, absl::string_view source) {
  ModelConfig c;
  if (absl::Status st = CheckSupported(j, c, source); !st.ok()) return st;
  struct Key { const char* name; int64_t* out; bool required; };
  for (const Key& k : {Key{"vocab_size", &c.vocab_size, true},
                       Key{"hidden_size", &c.hidden_size, true},
                       Key{"intermediate_size", &c.intermediate_size, true},
                       Key{"num_hidden_layers", &c.num_hidden_layers, true},
                       Key{"num_attention_heads", &c.num_attention_heads, true},
                       Key{"num_key_value_heads", &c.num_key_value_heads, false},
                       Key{"head_dim", &c.head_dim, false},
                       Key{"max_position_embeddings", &c.max_position_embeddings, false},
                       Key{"bos_token_id", &c.bos_token_id, false},
                       Key{"eos_token_id", &c.eos_token_id, false},
                       Key{"pad_token_id", &c.pad_token_id, false}}) {
    if (absl::Status st = ReadInt(j, k.name, k.out, k.required, source); !st.ok()) return st;
  }
  if (absl::Status st = ReadNumber(j, "rms_norm_eps", &c.rms_norm_eps, source); !st.ok()) return st;
  if (absl::Status st = ReadNumber(j, "rope_theta", &c.rope_theta, source); !st.ok()) return st;
  c.tie_word_embeddings = j.value("tie_word_embeddings", false);
  if (c.model_type != "qwen2") c.attention_bias = j.value("attention_bias", false);
  if (c.num_key_value_heads == 0) c.num_key_value_heads = c.num_attention_heads;
  if (c.vocab_size == 0 || c.hidden_size == 0 || c.intermediate_size == 0 ||
      c.num_hidden_layers == 0 || c.num_attention_heads == 0) {
    return Bad(source, "sizes and counts must be positive");
  }
  if (c.head_dim == 0) {
    if (c.hidden_size % c.num_attention_heads != 0) {
      return Bad(source, "hidden_size is not a multiple of num_attention_heads");
    }
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (c.head_dim % 2 != 0) return Bad(source, "head_dim must be even for rotary embeddings");
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return Bad(source, "num_attention_heads is not a multiple of num_key_value_heads");
  }
  return c;
}

}  // namespace

int64_t ModelConfig::MatmulParameters() const {
  const int64_t q = num_attention_heads * head_dim, kv = num_key_value_heads * head_dim;
  const int64_t attention = hidden_size * (q + 2 * kv) + q * hidden_size;
  const int64_t mlp = 3 * hidden_size * intermediate_size;
  return num_hidden_layers * (attention + mlp) + hidden_size * vocab_size;
}

int64_t ModelConfig::ParameterCount() const {
  const int64_t norms = (2 * num_hidden_layers + 1) * hidden_size;
  const int64_t embeddings = vocab_size * hidden_size * (tie_word_embeddings ? 1 : 2);
  // q/k/v biases, and o's unless qkv_bias_only (Qwen2).
  const int64_t qkv_biases = (num_attention_heads + 2 * num_key_value_heads) * head_dim;
  const int64_t biases =
      attention_bias ? num_hidden_layers * (qkv_biases + (qkv_bias_only ? 0 : hidden_size)) : 0;
  return MatmulParameters() - hidden_size * vocab_size + embeddings + norms + biases;
}

absl::StatusOr<ModelConfig> ParseModelConfig(absl::string_view json, absl::string_view source) {
  Json j = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Bad(source, "not a JSON object");
  // value() throws type_error for a key of the wrong type (e.g. "hidden_act": null).
  try {
    return ParseObject(j, source);
  } catch (const Json::exception& e) {
    return Bad(source, absl::StrCat("a key has the wrong type: ", e.what()));
  }
}

std::string ModelConfigToJson(const ModelConfig& c) {
  Json j = {
      {"architectures", {c.model_type == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"}},
      {"model_type", c.model_type},
      {"vocab_size", c.vocab_size},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads},
      {"num_key_value_heads", c.num_key_value_heads},
      {"head_dim", c.head_dim},
      {"max_position_embeddings", c.max_position_embeddings},
      {"rms_norm_eps", c.rms_norm_eps},
      {"rope_theta", c.rope_theta},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"hidden_act", "silu"},
      {"torch_dtype", "float32"},
  };
  if (c.model_type != "qwen2") j["attention_bias"] = c.attention_bias;
  if (c.bos_token_id >= 0) j["bos_token_id"] = c.bos_token_id;
  if (c.eos_token_id >= 0) j["eos_token_id"] = c.eos_token_id;
  if (c.pad_token_id >= 0) j["pad_token_id"] = c.pad_token_id;
  return j.dump(2) + "\n";
}

std::vector<LinearShape> LoraTargetShapes(const ModelConfig& config,
                                          const std::vector<std::string>& targets) {
  const int64_t hidden = config.hidden_size, attention = config.num_attention_heads * config.head_dim,
                kv = config.num_key_value_heads * config.head_dim,
                intermediate = config.intermediate_size;
  const std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> projections = {
      {"self_attn.q_proj", {hidden, attention}},    {"self_attn.k_proj", {hidden, kv}},
      {"self_attn.v_proj", {hidden, kv}},           {"self_attn.o_proj", {attention, hidden}},
      {"mlp.gate_proj", {hidden, intermediate}},    {"mlp.up_proj", {hidden, intermediate}},
      {"mlp.down_proj", {intermediate, hidden}}};
  std::vector<LinearShape> shapes;
  for (int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
    for (const auto& [path, in_out] : projections) {
      const std::string own_name = path.substr(path.find('.') + 1);
      if (std::find(targets.begin(), targets.end(), own_name) == targets.end()) continue;
      shapes.push_back({absl::StrCat("model.layers.", layer, ".", path), in_out.first,
                        in_out.second});
    }
  }
  std::sort(shapes.begin(), shapes.end(),
            [](const LinearShape& a, const LinearShape& b) { return a.module < b.module; });
  return shapes;
}

}  // namespace tontine::ml
