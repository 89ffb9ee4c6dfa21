#include "common/ml/model_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/testing/status_matchers.h"

namespace tontine::ml {
namespace {

using Json = nlohmann::json;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::IsOk;
using testing::StatusIs;

constexpr char kSource[] = "/models/smollm2/config.json";

// HuggingFaceTB/SmolLM2-135M's config.json.
constexpr char kSmolLm2[] = R"({
  "architectures": ["LlamaForCausalLM"],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 0,
  "eos_token_id": 0,
  "hidden_act": "silu",
  "hidden_size": 576,
  "initializer_range": 0.041666666666666664,
  "intermediate_size": 1536,
  "is_llama_config": true,
  "max_position_embeddings": 8192,
  "model_type": "llama",
  "num_attention_heads": 9,
  "num_hidden_layers": 30,
  "num_key_value_heads": 3,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_interleaved": false,
  "rope_scaling": null,
  "rope_theta": 100000,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.42.3",
  "use_cache": true,
  "vocab_size": 49152
})";

// Qwen/Qwen2-0.5B's config.json.
constexpr char kQwen2[] = R"({
  "architectures": ["Qwen2ForCausalLM"],
  "attention_dropout": 0.0,
  "bos_token_id": 151643,
  "eos_token_id": 151643,
  "hidden_act": "silu",
  "hidden_size": 896,
  "initializer_range": 0.02,
  "intermediate_size": 4864,
  "max_position_embeddings": 131072,
  "max_window_layers": 24,
  "model_type": "qwen2",
  "num_attention_heads": 14,
  "num_hidden_layers": 24,
  "num_key_value_heads": 2,
  "rms_norm_eps": 1e-06,
  "rope_theta": 1000000.0,
  "sliding_window": 131072,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.40.1",
  "use_cache": true,
  "use_sliding_window": false,
  "vocab_size": 151936
})";

void ExpectSameConfig(const ModelConfig& a, const ModelConfig& b) {
  EXPECT_EQ(a.model_type, b.model_type);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.hidden_size, b.hidden_size);
  EXPECT_EQ(a.intermediate_size, b.intermediate_size);
  EXPECT_EQ(a.num_hidden_layers, b.num_hidden_layers);
  EXPECT_EQ(a.num_attention_heads, b.num_attention_heads);
  EXPECT_EQ(a.num_key_value_heads, b.num_key_value_heads);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.max_position_embeddings, b.max_position_embeddings);
  EXPECT_EQ(a.rms_norm_eps, b.rms_norm_eps);
  EXPECT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_EQ(a.tie_word_embeddings, b.tie_word_embeddings);
  EXPECT_EQ(a.attention_bias, b.attention_bias);
  EXPECT_EQ(a.qkv_bias_only, b.qkv_bias_only);
  EXPECT_EQ(a.bos_token_id, b.bos_token_id);
  EXPECT_EQ(a.eos_token_id, b.eos_token_id);
  EXPECT_EQ(a.pad_token_id, b.pad_token_id);
}

TEST(ParseModelConfigTest, ReadsSmolLm2) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig(kSmolLm2, kSource);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->model_type, "llama");
  EXPECT_EQ(c->vocab_size, 49152);
  EXPECT_EQ(c->hidden_size, 576);
  EXPECT_EQ(c->intermediate_size, 1536);
  EXPECT_EQ(c->num_hidden_layers, 30);
  EXPECT_EQ(c->num_attention_heads, 9);
  EXPECT_EQ(c->num_key_value_heads, 3);
  EXPECT_EQ(c->head_dim, 64);
  EXPECT_EQ(c->max_position_embeddings, 8192);
  EXPECT_EQ(c->rms_norm_eps, 1e-5);
  EXPECT_EQ(c->rope_theta, 100000);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_FALSE(c->attention_bias);
  EXPECT_FALSE(c->qkv_bias_only);
  EXPECT_EQ(c->bos_token_id, 0);
  EXPECT_EQ(c->eos_token_id, 0);
  EXPECT_EQ(c->pad_token_id, -1);
  // The published parameter count of SmolLM2-135M.
  EXPECT_EQ(c->ParameterCount(), 134515008);
}

TEST(ParseModelConfigTest, ReadsQwen2WithQkvBias) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig(kQwen2, kSource);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->model_type, "qwen2");
  EXPECT_EQ(c->vocab_size, 151936);
  EXPECT_EQ(c->hidden_size, 896);
  EXPECT_EQ(c->intermediate_size, 4864);
  EXPECT_EQ(c->num_hidden_layers, 24);
  EXPECT_EQ(c->num_attention_heads, 14);
  EXPECT_EQ(c->num_key_value_heads, 2);
  EXPECT_EQ(c->head_dim, 64);
  EXPECT_EQ(c->max_position_embeddings, 131072);
  EXPECT_EQ(c->rms_norm_eps, 1e-6);
  EXPECT_EQ(c->rope_theta, 1e6);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_TRUE(c->attention_bias);
  EXPECT_TRUE(c->qkv_bias_only);
  EXPECT_EQ(c->bos_token_id, 151643);
  EXPECT_EQ(c->eos_token_id, 151643);
  // The published parameter count of Qwen2-0.5B (q/k/v biases included).
  EXPECT_EQ(c->ParameterCount(), 494032768);
}

TEST(ParseModelConfigTest, FillsDefaultsForOptionalKeys) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig(
      R"({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 12,
          "num_hidden_layers": 1, "num_attention_heads": 2})",
      kSource);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->model_type, "llama");
  EXPECT_EQ(c->num_key_value_heads, 2);
  EXPECT_EQ(c->head_dim, 4);
  EXPECT_EQ(c->max_position_embeddings, 2048);
  EXPECT_EQ(c->rms_norm_eps, 1e-6);
  EXPECT_EQ(c->rope_theta, 10000);
  EXPECT_FALSE(c->tie_word_embeddings);
  EXPECT_EQ(c->bos_token_id, -1);
}

TEST(ParseModelConfigTest, TakesAnExplicitHeadDim) {
  Json j = Json::parse(kSmolLm2);
  j["head_dim"] = 32;
  absl::StatusOr<ModelConfig> c = ParseModelConfig(j.dump(), kSource);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->head_dim, 32);
}

TEST(ParseModelConfigTest, TakesTheFirstOfSeveralEndOfSequenceIds) {
  // Llama 3 style.
  Json j = Json::parse(kSmolLm2);
  j["eos_token_id"] = {128001, 128009};
  absl::StatusOr<ModelConfig> c = ParseModelConfig(j.dump(), kSource);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->eos_token_id, 128001);
  // Only token ids may be lists.
  j = Json::parse(kSmolLm2);
  j["head_dim"] = {64, 64};
  EXPECT_THAT(ParseModelConfig(j.dump(), kSource),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"head_dim\" must be a non-negative integer")));
}

TEST(ParseModelConfigTest, AcceptsMistralAndSmolLmWithoutSlidingWindow) {
  for (const char* type : {"mistral", "smollm"}) {
    Json j = Json::parse(kSmolLm2);
    j["model_type"] = type;
    j["sliding_window"] = nullptr;
    absl::StatusOr<ModelConfig> c = ParseModelConfig(j.dump(), kSource);
    ASSERT_THAT(c, IsOk()) << type;
    EXPECT_EQ(c->model_type, type);
    EXPECT_FALSE(c->attention_bias);
  }
}

TEST(ParseModelConfigTest, ReadsLlamaAttentionBias) {
  Json j = Json::parse(kSmolLm2);
  j["attention_bias"] = true;
  absl::StatusOr<ModelConfig> c = ParseModelConfig(j.dump(), kSource);
  ASSERT_THAT(c, IsOk());
  EXPECT_TRUE(c->attention_bias);
  EXPECT_FALSE(c->qkv_bias_only);
}

struct Bad {
  std::string key;
  Json value;  // null with `remove` drops the key
  std::string problem;
  bool remove = false;
};

TEST(ParseModelConfigTest, RejectsEachProblemNamingTheSourceAndKey) {
  std::vector<Bad> cases;
  for (const char* key : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads"}) {
    cases.push_back({key, nullptr, absl::StrCat("missing \"", key, "\""), true});
    cases.push_back({key, nullptr, absl::StrCat("missing \"", key, "\"")});
    cases.push_back({key, -1, absl::StrCat("\"", key, "\" must be a non-negative integer")});
    cases.push_back({key, 1.5, absl::StrCat("\"", key, "\" must be a non-negative integer")});
    cases.push_back({key, "576", absl::StrCat("\"", key, "\" must be a non-negative integer")});
    cases.push_back({key, 0, "sizes and counts must be positive"});
  }
  for (const char* key : {"num_key_value_heads", "head_dim", "max_position_embeddings",
                          "bos_token_id", "eos_token_id", "pad_token_id"}) {
    cases.push_back({key, -2, absl::StrCat("\"", key, "\" must be a non-negative integer")});
  }
  for (const char* key : {"rms_norm_eps", "rope_theta"}) {
    cases.push_back({key, 0, absl::StrCat("\"", key, "\" must be a positive number")});
    cases.push_back({key, -1e-5, absl::StrCat("\"", key, "\" must be a positive number")});
    cases.push_back({key, "1e-5", absl::StrCat("\"", key, "\" must be a positive number")});
  }
  cases.push_back({"hidden_size", 577, "hidden_size is not a multiple of num_attention_heads"});
  cases.push_back(
      {"num_key_value_heads", 4, "num_attention_heads is not a multiple of num_key_value_heads"});
  cases.push_back({"head_dim", 63, "head_dim must be even"});
  cases.push_back({"rope_scaling",
                   {{"rope_type", "llama3"}, {"factor", 32.0}},
                   "rope_scaling is not supported"});
  cases.push_back(
      {"rope_scaling", {{"type", "linear"}, {"factor", 2.0}}, "rope_scaling is not supported"});
  cases.push_back({"use_sliding_window", true, "sliding-window attention is not supported"});
  cases.push_back({"hidden_act", "gelu", "only hidden_act \"silu\""});
  cases.push_back({"model_type", "gpt2", "model_type \"gpt2\" is not a Llama-family model"});
  cases.push_back({"model_type", "gemma", "model_type \"gemma\" is not a Llama-family model"});
  for (const Bad& c : cases) {
    Json j = Json::parse(kSmolLm2);
    if (c.remove) {
      j.erase(c.key);
    } else {
      j[c.key] = c.value;
    }
    EXPECT_THAT(ParseModelConfig(j.dump(), kSource),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(std::string(kSource) + ": "), HasSubstr(c.problem))))
        << c.key << " = " << (c.remove ? "(absent)" : c.value.dump());
  }
}

TEST(ParseModelConfigTest, RejectsMistralWithASlidingWindow) {
  Json j = Json::parse(kSmolLm2);
  j["model_type"] = "mistral";
  j["sliding_window"] = 4096;
  EXPECT_THAT(ParseModelConfig(j.dump(), kSource),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(kSource), HasSubstr("sliding-window"))));
}

TEST(ParseModelConfigTest, RejectsTextThatIsNotAJsonObject) {
  for (const char* text : {"", "{", "[1, 2]", "null"}) {
    EXPECT_THAT(ParseModelConfig(text, kSource),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(kSource), HasSubstr("not a JSON object"))))
        << text;
  }
}

// A file from elsewhere must become a Status, never an uncaught nlohmann exception.
TEST(ParseModelConfigTest, RejectsWrongTypesWithAStatus) {
  const std::vector<std::pair<const char*, Json>> cases = {
      {"model_type", 5},           {"hidden_act", nullptr},
      {"hidden_act", 1},           {"tie_word_embeddings", "yes"},
      {"attention_bias", "false"}, {"use_sliding_window", 0},
  };
  for (const auto& [key, value] : cases) {
    Json j = Json::parse(kSmolLm2);
    j[key] = value;
    EXPECT_THAT(ParseModelConfig(j.dump(), kSource),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(kSource)))
        << key << " = " << value.dump();
  }
}

TEST(ModelConfigToJsonTest, RoundTripsLlamaAndQwen2) {
  for (const char* text : {kSmolLm2, kQwen2}) {
    absl::StatusOr<ModelConfig> c = ParseModelConfig(text, kSource);
    ASSERT_THAT(c, IsOk());
    c->pad_token_id = 7;
    absl::StatusOr<ModelConfig> back = ParseModelConfig(ModelConfigToJson(*c), "round trip");
    ASSERT_THAT(back, IsOk());
    ExpectSameConfig(*back, *c);
  }
}

TEST(ModelConfigToJsonTest, WritesWhatTransformersExpects) {
  absl::StatusOr<ModelConfig> qwen = ParseModelConfig(kQwen2, kSource);
  ASSERT_THAT(qwen, IsOk());
  Json j = Json::parse(ModelConfigToJson(*qwen));
  EXPECT_EQ(j["architectures"], Json::array({"Qwen2ForCausalLM"}));
  EXPECT_EQ(j["model_type"], "qwen2");
  EXPECT_EQ(j["hidden_act"], "silu");
  EXPECT_EQ(j["torch_dtype"], "float32");
  EXPECT_FALSE(j.contains("pad_token_id"));

  absl::StatusOr<ModelConfig> smol = ParseModelConfig(kSmolLm2, kSource);
  ASSERT_THAT(smol, IsOk());
  j = Json::parse(ModelConfigToJson(*smol));
  EXPECT_EQ(j["architectures"], Json::array({"LlamaForCausalLM"}));
  EXPECT_EQ(j["attention_bias"], false);
  EXPECT_EQ(j["tie_word_embeddings"], true);
  EXPECT_EQ(j["num_key_value_heads"], 3);
}

// Grouped-query attention with head_dim · heads ≠ hidden, so that no two projection shapes
// coincide: hidden 32, 4 heads of 16 (q out 64), 1 KV head (k/v out 16), intermediate 48.
// Twelve layers, so that sorting by path puts layer 10 before layer 2.
constexpr char kGqa[] = R"({
  "model_type": "llama", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 48,
  "num_hidden_layers": 12, "num_attention_heads": 4, "num_key_value_heads": 1,
  "head_dim": 16, "hidden_act": "silu"
})";

std::vector<std::string> Modules(const std::vector<LinearShape>& shapes) {
  std::vector<std::string> modules;
  for (const LinearShape& s : shapes) modules.push_back(s.module);
  return modules;
}

MATCHER_P3(IsLinear, module, in, out, "") {
  *result_listener << arg.module << " [" << arg.in_features << " → " << arg.out_features << "]";
  return arg.module == module && arg.in_features == in && arg.out_features == out;
}

TEST(LoraTargetShapesTest, GivesEveryProjectionOfAGqaModelItsInAndOutFeatures) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig(kGqa, kSource);
  ASSERT_THAT(c, IsOk());
  const std::vector<LinearShape> shapes =
      LoraTargetShapes(*c, {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                            "down_proj"});
  ASSERT_EQ(shapes.size(), 12u * 7);
  // Layer 0, in module-path order.
  EXPECT_THAT(std::vector<LinearShape>(shapes.begin(), shapes.begin() + 7),
              ElementsAre(IsLinear("model.layers.0.mlp.down_proj", 48, 32),
                          IsLinear("model.layers.0.mlp.gate_proj", 32, 48),
                          IsLinear("model.layers.0.mlp.up_proj", 32, 48),
                          IsLinear("model.layers.0.self_attn.k_proj", 32, 16),
                          IsLinear("model.layers.0.self_attn.o_proj", 64, 32),
                          IsLinear("model.layers.0.self_attn.q_proj", 32, 64),
                          IsLinear("model.layers.0.self_attn.v_proj", 32, 16)));
  // Every layer has the same shapes as layer 0.
  for (size_t i = 7; i < shapes.size(); ++i) {
    EXPECT_EQ(shapes[i].in_features, shapes[i % 7].in_features) << shapes[i].module;
    EXPECT_EQ(shapes[i].out_features, shapes[i % 7].out_features) << shapes[i].module;
  }
}

TEST(LoraTargetShapesTest, SortsByModulePathAsStrings) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig(kGqa, kSource);
  ASSERT_THAT(c, IsOk());
  const std::vector<std::string> modules = Modules(LoraTargetShapes(*c, {"q_proj"}));
  EXPECT_TRUE(std::is_sorted(modules.begin(), modules.end()));
  EXPECT_THAT(modules, ElementsAre("model.layers.0.self_attn.q_proj",
                                   "model.layers.1.self_attn.q_proj",
                                   "model.layers.10.self_attn.q_proj",
                                   "model.layers.11.self_attn.q_proj",
                                   "model.layers.2.self_attn.q_proj",
                                   "model.layers.3.self_attn.q_proj",
                                   "model.layers.4.self_attn.q_proj",
                                   "model.layers.5.self_attn.q_proj",
                                   "model.layers.6.self_attn.q_proj",
                                   "model.layers.7.self_attn.q_proj",
                                   "model.layers.8.self_attn.q_proj",
                                   "model.layers.9.self_attn.q_proj"));
}

TEST(LoraTargetShapesTest, ListsOnlyTheTargets) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig(kGqa, kSource);
  ASSERT_THAT(c, IsOk());
  const std::vector<LinearShape> shapes = LoraTargetShapes(*c, {"v_proj", "gate_proj"});
  ASSERT_EQ(shapes.size(), 24u);
  EXPECT_THAT(std::vector<LinearShape>(shapes.begin(), shapes.begin() + 4),
              ElementsAre(IsLinear("model.layers.0.mlp.gate_proj", 32, 48),
                          IsLinear("model.layers.0.self_attn.v_proj", 32, 16),
                          IsLinear("model.layers.1.mlp.gate_proj", 32, 48),
                          IsLinear("model.layers.1.self_attn.v_proj", 32, 16)));
  for (const LinearShape& s : shapes) {
    EXPECT_TRUE(s.module.ends_with(".mlp.gate_proj") || s.module.ends_with(".self_attn.v_proj"))
        << s.module;
  }
  EXPECT_THAT(LoraTargetShapes(*c, {}), IsEmpty());
  EXPECT_THAT(LoraTargetShapes(*c, {"query_key_value"}), IsEmpty());
}

}  // namespace
}  // namespace tontine::ml
